"""JSON Schemas of the hub's own formats, shipped as package data (``hub.schemas``)."""
