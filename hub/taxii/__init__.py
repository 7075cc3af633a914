"""TAXII 2.1 server over the hub's channels: every channel is a collection of one API root.

``filters``, ``pagination``, ``media``, ``catalog``, ``resources`` and
``status`` hold the protocol's logic and do no I/O; the store
(:class:`hub.store.Store`, its ``statuses``) answers the Redis queries,
``query`` assembles a page through the visibility policy, and ``routes``
holds the thin aiohttp handlers.
"""
