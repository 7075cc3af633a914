"""The live stream: WebSocket delivery of events with gap-free resume.

``protocol`` parses and builds messages (pure); ``fanout`` is the one Redis
subscription per hub process and the dispatcher; ``connection`` is one
client's subscriptions, bounded queue and writer task; ``handler`` is the
aiohttp endpoint.
"""
