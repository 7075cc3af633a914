"""The notifications' outbox: what is to be sent, sent or given up, and where the notifier has read to.

Every hub process may hold the store; the notifier that holds the lease
(``notify_lease``) is the one that queues and sends. A notification is queued
once (:data:`hub.store.scripts.OUTBOX_ADD`: its id comes from what it is and
for whom), is sent when due, and moves to ``sent`` or, after failures, back to
the due set later or to ``failed``. The newest :data:`KEEP` records are kept for
administrators to see; older ones are dropped.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

import orjson

from hub.store import scripts
from hub.store.client import Client, guard
from hub.store.layout import Keys
from hub.store.lease import Lease

KEEP: Final = 5000
Status = Literal["pending", "sent", "failed"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notification for one recipient: its message as rendered when queued, and its state."""

    id: str
    key: str
    via: str
    address: str
    person: str
    kinds: tuple[str, ...]
    crisis: str
    severity: int
    subject: str
    text: str
    link: str
    full: bool
    created: float
    not_before: float = 0.0
    status: Status = "pending"
    attempts: int = 0
    error: str = ""
    sent: float | None = None
    digest: tuple[str, ...] = field(default_factory=tuple)
    """The ids of the notifications this one was sent with, as one digest (itself included)."""
    channel: str = ""
    tlp: int = 0
    """Where what it tells of is stored, and its TLP (a ``hub.tlp.TLP``): who may see its subject."""

    @staticmethod
    def id_of(key: str, via: str, address: str) -> str:
        return hashlib.sha256(f"{key}\0{via}\0{address}".encode()).hexdigest()[:32]

    def record(self) -> bytes:
        return orjson.dumps(asdict(self))


def _ids(reply: Any) -> list[str]:
    """The members of a sorted-set reply, as text."""
    return [m.decode() if isinstance(m, bytes) else str(m) for m in reply]


def _outgoing(raw: bytes | str) -> Outgoing:
    data: dict[str, Any] = orjson.loads(raw)
    data["kinds"] = tuple(data.get("kinds", ()))
    data["digest"] = tuple(data.get("digest", ()))
    return Outgoing(**data)


class Outbox:
    def __init__(self, client: Client, namespace: str = "chub") -> None:
        self.redis = client
        keys = Keys(namespace)
        self.items, self.due_key, self.log = keys.notify("items"), keys.notify("due"), keys.notify("log")
        self.cursors = keys.notify("cursors")
        self._last = keys.notify
        self.lease = Lease(client, keys.notify_lease)
        self._add = client.register_script(scripts.OUTBOX_ADD)

    async def add(self, item: Outgoing) -> bool:
        """Queue ``item`` unless it was queued before (then False)."""
        due = max(item.not_before, item.created)
        async with guard():
            added = await self._add(keys=[self.items, self.due_key, self.log],
                                    args=[item.id, item.record(), due, item.created])  # fmt: skip
        return bool(added)

    async def due(self, now: float, limit: int = 200) -> list[Outgoing]:
        """The pending notifications due by ``now``, the oldest first."""
        async with guard():
            ids = _ids(await self.redis.zrangebyscore(self.due_key, "-inf", now, start=0, num=limit))
            if not ids:
                return []
            raws = await self.redis.hmget(self.items, ids)
        found = [_outgoing(raw) for raw in raws if raw is not None]
        stale = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
        stale += [item.id for item in found if item.status != "pending"]
        if stale:  # a record that was settled (or dropped) while still listed as due
            async with guard():
                await self.redis.zrem(self.due_key, *stale)
        return [item for item in found if item.status == "pending"]

    async def save(self, item: Outgoing, retry_at: float | None = None) -> None:
        """Keep ``item``'s new state: still due at ``retry_at``, or settled (sent or failed)."""
        async with guard():
            await self.redis.hset(self.items, item.id, item.record())
            if item.status == "pending" and retry_at is not None:
                await self.redis.zadd(self.due_key, {item.id: retry_at})
            else:
                await self.redis.zrem(self.due_key, item.id)

    async def hold(self, ids: list[str], until: float) -> None:
        """Keep these pending notifications until ``until`` (a recipient's digest window)."""
        async with guard():
            await self.redis.zadd(self.due_key, dict.fromkeys(ids, until), xx=True)

    async def recent(self, limit: int = 100) -> list[Outgoing]:
        """The newest notifications first, whatever their state."""
        async with guard():
            ids = _ids(await self.redis.zrevrange(self.log, 0, limit - 1))
            raws = await self.redis.hmget(self.items, ids) if ids else []
        return [_outgoing(raw) for raw in raws if raw is not None]

    async def pending(self) -> int:
        async with guard():
            return int(await self.redis.zcard(self.due_key))

    async def prune(self) -> int:
        """Drop all but the newest :data:`KEEP` settled records; how many were dropped."""
        async with guard():
            old = _ids(await self.redis.zrange(self.log, 0, -KEEP - 1))
            if not old:
                return 0
            due = set(_ids(await self.redis.zrange(self.due_key, 0, -1)))
            gone = [i for i in old if i not in due]
            if gone:
                await self.redis.hdel(self.items, *gone)
                await self.redis.zrem(self.log, *gone)
        return len(gone)

    # where the notifier has read to, and each recipient's digest window --------------------------

    async def cursor(self, channel: str) -> str | None:
        async with guard():
            raw = await self.redis.hget(self.cursors, channel)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def set_cursor(self, channel: str, event_id: str) -> None:
        async with guard():
            await self.redis.hset(self.cursors, channel, event_id)

    async def last_sent(self, recipient: str) -> float:
        async with guard():
            raw = await self.redis.get(self._last(f"last:{recipient}"))
        return float(raw) if raw is not None else 0.0

    async def note_sent(self, recipient: str, when: float, window: float) -> None:
        async with guard():
            await self.redis.set(self._last(f"last:{recipient}"), repr(when), ex=max(1, int(window) + 1))


def settled(item: Outgoing, status: Status, error: str = "", digest: tuple[str, ...] = ()) -> Outgoing:
    """``item`` sent or failed now."""
    sent = time.time() if status == "sent" else None
    return replace(item, status=status, error=error, sent=sent, digest=digest, attempts=item.attempts + 1)
