"""The audit trail: an append-only, hash-chained Redis Stream of every decision.

What is recorded: every write (who posted what to which channel, and what
became of each object), every read over the API and TAXII (who received which
events), and every live delivery decision (for each event, which stakeholders
received it and which were withheld it, and why) — so the hub can say exactly
who received a TLP:RED item.

How this works. Records are queued in memory by :meth:`AuditLog.record`
(never blocking a request) and a writer task appends them in batches. Each
batch is chained onto the current head (see :mod:`hub.auditchain`) and
appended by a Lua script only if the head is still the one the batch was
chained onto; if another hub process appended first, the batch is chained
again. Several processes thus share one chain, and nothing is appended
unlinked. Records wait in memory while Redis is unreachable.

An entry's fields are ``r``, the record, ``p``, the previous entry's hash,
and ``h``, its own. The record is its canonical JSON (what is hashed), or,
from :data:`COMPRESS_FROM` bytes on, that JSON compressed with zstd (a frame
opens with zstd's magic number, never with ``{``): a write's record lists
every object, some 125 bytes each, which zstd takes to about a quarter.

The keys (:mod:`hub.store.layout`): the stream ``<ns>:audit`` and its head
``{<ns>:audit}:head``. The head's name is the stream's in a hash tag, so that
a Redis Cluster keeps both on one shard and the script may touch both. Where no head is recorded (a
trail written before the head had that name), it is the newest entry's hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final, cast

import zstandard

from hub.auditchain import Verdict, Verifier, chain, encode
from hub.errors import StoreUnavailable
from hub.policy import Actor, Principal
from hub.store import scripts
from hub.store.client import Client, guard
from hub.store.layout import Keys
from hub.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BATCH = 500
MAX_PENDING = 1_000_000
COMPRESS_FROM: Final = 512
"""Records shorter than this are kept as they are: a read's or a delivery's record gains little."""
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_compressor = zstandard.ZstdCompressor(level=3, write_checksum=False)
_decompressor = zstandard.ZstdDecompressor()


def stored_form(record: bytes) -> bytes:
    """What the ``r`` field of ``record``'s entry holds: the record, compressed when long enough to gain."""
    if len(record) < COMPRESS_FROM:
        return record
    packed = _compressor.compress(record)
    return packed if len(packed) < len(record) else record


def record_of(stored: bytes) -> bytes:
    """The record an entry's ``r`` field holds (:func:`stored_form`), as it was hashed."""
    return _decompressor.decompress(stored) if stored.startswith(_ZSTD_MAGIC) else stored


def acted_by(person: Actor | None) -> dict[str, str]:
    """The ``person`` field of a record of what a person did for their stakeholder; none for tokens."""
    return {"person": person.id} if person is not None else {}


class AuditLog:
    """The audit trail of one namespace; :meth:`start` runs its writer, :meth:`stop` flushes it."""

    def __init__(self, client: Client, namespace: str = "chub", *, flush_interval: float = 0.05) -> None:
        self.redis = client
        keys = Keys(namespace)
        self.stream_key = keys.audit
        self.head_key = keys.audit_head
        self.flush_interval = flush_interval
        self._pending: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._append = client.register_script(scripts.AUDIT_APPEND_IF_HEAD)
        self._flushing = asyncio.Lock()  # one flush at a time per process: a batch is appended once
        self.dropped = 0

    # recording -------------------------------------------------------------------------
    def record(self, action: str, actor: str, **fields: Any) -> None:
        """Queue one record; it reaches Redis within ``flush_interval``."""
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            if self.dropped in (1, 1000) or self.dropped % 100_000 == 0:
                log.error("audit backlog full (Redis unreachable?): %d records dropped", self.dropped)
            return
        self._pending.append(encode({"t": int(time.time() * 1000), "action": action, "actor": actor, **fields}))
        if len(self._pending) >= BATCH:
            self.wake()

    def record_for(self, principal: Principal, action: str, **fields: Any) -> None:
        """Queue a record of what ``principal`` did: its stakeholder as the actor, and the person, if one acted."""
        self.record(action, principal.id, **fields, **acted_by(principal.person))

    def wake(self) -> None:
        """Have the writer append what is queued now rather than at the end of its ``flush_interval``."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    @property
    def writer(self) -> asyncio.Task[None]:
        """The writer task, once :meth:`start` has run: for the process to watch (see hub.tasks)."""
        if self._task is None:
            raise RuntimeError("the audit writer has not been started")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        with contextlib.suppress(StoreUnavailable):
            await self.flush()

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 a cancel that lands as wait_for times out
            # can be swallowed, and stop() would then wait for this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except StoreUnavailable:
                await asyncio.sleep(0.5)

    async def flush(self) -> int:
        """Append everything queued; returns how many records were written."""
        async with self._flushing:
            return await self._flush()

    async def _flush(self) -> int:
        written = 0
        while self._pending:
            batch = [self._pending[i] for i in range(min(BATCH, len(self._pending)))]
            while True:
                head = await self.head()
                linked = chain(head, batch)
                args: list[Any] = [head]
                for body, previous, digest in linked:
                    args += [stored_form(body), previous, digest]
                async with guard():
                    if await self._append(keys=[self.stream_key, self.head_key], args=args):
                        break
                # Another process appended first: chain the batch onto the new head.
            for _ in batch:
                self._pending.popleft()
            written += len(batch)
        return written

    # reading ---------------------------------------------------------------------------
    async def head(self) -> str:
        """The hash of the newest entry ("" for an empty trail), as the append script reads it."""
        async with guard():
            value = cast(bytes | None, await self.redis.get(self.head_key))
            if value is None:
                newest = cast(
                    list[tuple[bytes, dict[bytes, bytes]]],
                    await self.redis.xrevrange(self.stream_key, "+", "-", count=1),
                )
                value = newest[0][1][b"h"] if newest else None
        return value.decode() if value else ""

    async def entries(self, after: str = "0-0", count: int = 1000) -> list[tuple[str, bytes, str, str]]:
        """``(entry_id, record, previous_hash, hash)`` after ``after``, oldest first."""
        async with guard():
            raw = cast(
                list[tuple[bytes, dict[bytes, bytes]]],
                await self.redis.xrange(self.stream_key, f"({after}", "+", count=count),
            )
        return [(eid.decode(), record_of(f[b"r"]), f[b"p"].decode(), f[b"h"].decode()) for eid, f in raw]

    async def walk(self, page: int = 5000) -> AsyncIterator[tuple[str, bytes, str, str]]:
        after = "0-0"
        while True:
            batch = await self.entries(after, page)
            for entry in batch:
                yield entry
            if len(batch) < page:
                return
            after = batch[-1][0]

    async def verify(self) -> Verdict:
        """Check the whole chain from its first entry to its recorded head."""
        head = await self.head()
        verifier = Verifier()
        async for entry in self.walk():
            # Stop at the head read first: entries appended since are checked next time.
            if not verifier.feed(*entry) or entry[3] == head:
                break
        return verifier.finish(head or None)


def write_record(results: Sequence[tuple[str, str | None, str | None, str, str | None]]) -> list[dict[str, Any]]:
    """Per-object outcomes of a write, as recorded: ``(stix_id, version, event_id, outcome, reason)``."""
    return [
        {"id": sid, "version": version, "event": event_id, "outcome": outcome, **({"reason": reason} if reason else {})}
        for sid, version, event_id, outcome, reason in results
    ]
