"""What a connector keeps in Redis: its checkpoint, its lease and its status.

How this works. Under the hub's namespace ``<ns>``:

* ``<ns>:connector:<name>`` — the checkpoint, a JSON document whose meaning
  belongs to the connector (pull: the last ``date_added`` and the objects
  taken at exactly that time; push: the last forwarded event id);
* ``{<ns>:connector:<name>}:lease`` — who runs the connector now (the
  checkpoint's name in a hash tag: a Redis Cluster keeps both on one shard,
  where the script below may read one and write the other). Several hub
  processes on one Redis all try to run every configured connector; the
  lease (``SET NX PX``, renewed while running) lets exactly one do it, and
  another takes over within the lease's lifetime if that one dies;
* ``<ns>:connectors`` — a hash of each connector's status (JSON), written by
  whoever runs it, read by ``GET /api/v1/admin/connectors`` and
  ``crisis-hub connector list`` from any process.

A checkpoint is written only by the lease holder, checked inside Redis by one
script: a process that lost its lease (paused too long, say) can no longer
move a checkpoint that the new holder is already moving.

Like every Redis call of the store, each goes through :func:`hub.store.client.guard`:
an outage is :class:`hub.errors.StoreUnavailable`, a lost cancel is raised again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from hub.config import ConnectorConfig
from hub.store import scripts
from hub.store.client import Client, guard
from hub.store.layout import Keys
from hub.store.lease import Lease, owner_id


class LeaseLost(Exception):
    """Another process runs this connector now; this one must stop."""


@dataclass
class ConnectorStatus:
    """A connector's status as shown to administrators. Times are Unix seconds."""

    name: str
    kind: str
    channel: str
    partner: str
    state: str = "starting"
    """``starting``, ``running``, ``backing-off``, ``standby`` (another process runs it) or ``stopped``."""
    owner: str = ""
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    moved: int = 0
    """Objects stored (pull) or accepted by the partner (push) by this run."""
    duplicates: int = 0
    rejected: int = 0
    withheld: int = 0
    """Push: events the policy kept from leaving (TLP above the partner's ceiling, RED, AMBER+STRICT)."""
    lag_seconds: float | None = None
    """Pull: seconds since the last poll that reached the end of the feed. Push: age of the oldest event
    not yet forwarded (0 when caught up)."""
    checkpoint: str = ""
    retries: int = 0
    updated: float = field(default_factory=time.time)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))


class ConnectorState:
    """One connector's checkpoint, lease and status in Redis."""

    def __init__(self, client: Client, namespace: str, name: str, owner: str | None = None) -> None:
        self.redis = client
        self.name = name
        keys = Keys(namespace)
        self.checkpoint_key = keys.checkpoint(name)
        self.lease = Lease(client, keys.lease(name), owner or owner_id())
        self.owner = self.lease.owner
        self.lease_key = self.lease.key
        self.status_key = keys.connector_statuses
        self._save = client.register_script(scripts.SAVE_IF_HOLDER)

    async def acquire(self, ttl: float) -> bool:
        """Take the lease if nobody holds it (or renew it if this owner does)."""
        return await self.lease.acquire(ttl)

    async def renew(self, ttl: float) -> bool:
        return await self.lease.renew(ttl)

    async def release(self) -> None:
        await self.lease.release()

    async def load_checkpoint(self) -> dict[str, Any] | None:
        async with guard():
            raw = cast(bytes | None, await self.redis.get(self.checkpoint_key))
        return cast(dict[str, Any], orjson.loads(raw)) if raw else None

    async def save_checkpoint(self, value: dict[str, Any]) -> None:
        """Store the checkpoint, unless another process holds the lease now (:class:`LeaseLost`)."""
        async with guard():
            saved = await self._save(keys=[self.lease_key, self.checkpoint_key], args=[self.owner, orjson.dumps(value)])
        if not saved:
            raise LeaseLost(f"connector {self.name} is run by another process now")

    async def publish(self, status: ConnectorStatus) -> None:
        status.updated = time.time()
        async with guard():
            await self.redis.hset(self.status_key, self.name, status.to_json())


class Connectors:
    """The connectors of one hub in Redis: each one's :class:`ConnectorState`, and every status at once."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.redis = client
        self.namespace = namespace

    def state(self, name: str, owner: str | None = None) -> ConnectorState:
        """The checkpoint, lease and status of connector ``name``, as run by ``owner`` (None: this process)."""
        return ConnectorState(self.redis, self.namespace, name, owner)

    async def statuses(self) -> dict[str, dict[str, Any]]:
        """Every connector status recorded in Redis, by name."""
        return await read_statuses(self.redis, self.namespace)


async def read_statuses(client: Client, namespace: str) -> dict[str, dict[str, Any]]:
    """Every connector status recorded in Redis, by name."""
    async with guard():
        raw = cast(dict[bytes, bytes], await client.hgetall(Keys(namespace).connector_statuses))
    return {name.decode(): orjson.loads(value) for name, value in raw.items()}


STALE_AFTER = 90.0  # seconds without a heartbeat (runners write one every 10 s) before a status is called stale
_LIVE_STATES = frozenset({"starting", "running", "backing-off", "standby"})


def _iso(ts: Any) -> str | None:
    if not isinstance(ts, int | float):
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def connector_report(
    specs: Sequence[ConnectorConfig], statuses: Mapping[str, Mapping[str, Any]], now: float
) -> list[dict[str, Any]]:
    """Each configured connector with its last recorded status, for people. Pure.

    A connector whose runner stopped writing its heartbeat (the process died)
    shows as ``stale``; one never run as ``not started``.
    """
    rows = []
    for spec in specs:
        status = statuses.get(spec.name, {})
        state = str(status.get("state", "not started"))
        updated = status.get("updated")
        if state in _LIVE_STATES and isinstance(updated, int | float) and now - updated > STALE_AFTER:
            state = "stale"
        lag = status.get("lag_seconds")
        last_success = status.get("last_success")
        if spec.kind == "taxii-pull" and isinstance(last_success, int | float):
            lag = round(max(0.0, now - last_success), 1)  # how old the newest complete view of the feed is
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "channel": spec.channel,
                "partner": spec.url,
                "state": state,
                "owner": status.get("owner"),
                "last_success": _iso(status.get("last_success")),
                "last_error": status.get("last_error"),
                "last_error_at": _iso(status.get("last_error_at")),
                "moved": status.get("moved", 0),
                "duplicates": status.get("duplicates", 0),
                "rejected": status.get("rejected", 0),
                "withheld": status.get("withheld", 0),
                "lag_seconds": lag,
                "checkpoint": status.get("checkpoint") or None,
                "retries": status.get("retries", 0),
                "updated": _iso(updated),
            }
        )
    return rows
