"""TAXII status resources: what became of each TAXII ``POST``, kept a few days for its poster to ask.

A status lives under the hub's namespace (``<ns>:taxii:status:<id>``) with a
time to live, so that any hub process can answer for a status another one
created, and old ones go by themselves.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from hub.store.client import Client, guard
from hub.store.layout import Keys

STATUS_TTL_SECONDS: Final = 3 * 24 * 3600


class TaxiiStatuses:
    """The TAXII status resources of one hub (see :attr:`hub.store.Store.statuses`)."""

    def __init__(self, client: Client, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    async def save(self, status_id: str, owner: str, resource: dict[str, Any]) -> None:
        """Keep a status resource for a few days, with the stakeholder that may read it."""
        record = orjson.dumps({"owner": owner, "resource": resource})
        async with guard():
            await self.redis.set(self.keys.taxii_status(status_id), record, ex=STATUS_TTL_SECONDS)

    async def load(self, status_id: str) -> tuple[str, dict[str, Any]] | None:
        """``(owner, resource)`` of a kept status resource, or None if unknown or expired."""
        async with guard():
            raw = await self.redis.get(self.keys.taxii_status(status_id))
        if raw is None:
            return None
        record = orjson.loads(raw)
        return record["owner"], record["resource"]
