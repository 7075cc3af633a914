"""TAXII 2.1 server over the hub's channels: every channel is a collection of one API root.

``filters``, ``pagination``, ``media``, ``catalog``, ``resources`` and
``status`` hold the protocol's logic and do no I/O; ``storage`` holds the
Redis queries, ``query`` assembles a page through the visibility policy, and
``routes`` holds the thin aiohttp handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Serve TAXII 2.1 under ``/taxii2/`` on ``app`` (whose config is already set)."""
    # Imported here so that importing the pure modules of this package
    # (filters, pagination, …) does not bring in aiohttp and the store.
    from hub.taxii import routes

    routes.add_routes(app)
