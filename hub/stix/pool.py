"""Validation on more cores than one: submissions checked in worker processes.

How this works. Validating a submission (decoding its JSON, the STIX pattern
grammar, the checks of :func:`hub.stix.validate`) is most of a hub process's
CPU per object, and in a thread it shares the process's one core (the GIL).
With ``hub.validation_workers`` above 0, a :class:`Validator` hands each
submitted body to a pool of that many worker processes, which decode it
(a bundle for the objects API, an envelope for TAXII) and run
:func:`hub.stix.validate` — the same function, exactly as strict — and send
back each verdict. An accepted object comes back as its stored bytes
without its decoded form (sending a decoded object across costs about as much
as decoding it): the hub process decodes those bytes again, a few
microseconds with orjson. With 0 workers, validation runs in a thread, as in
a hub without the pool.

A worker that dies (killed, out of memory) breaks the pool: the submission at
hand is validated in a thread instead, and a new pool replaces the broken one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import orjson

from hub.stix import Rejection, StixItem, Submission, decode, parse_submission, validate
from hub.tlp import TLP

log = logging.getLogger(__name__)

# What a worker sends back of an accepted object: all of StixItem but the decoded object.
_Verdict = tuple[int, str, str, str, TLP, bytes]


def _warm_up() -> None:
    """Load the validation libraries and their caches in a new worker, before any submission waits for it."""
    parse_submission(
        b'{"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",'
        b' "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",'
        b' "pattern": "[ipv4-addr:value = \'198.51.100.1\']", "pattern_type": "stix",'
        b' "valid_from": "2026-01-01T00:00:00Z"}',
        TLP.CLEAR,
    )


Decoder = Callable[[bytes], Sequence[Any]]
"""What makes a body the candidate objects: :func:`hub.stix.decode` (a bundle or an object), or a TAXII envelope's."""


def _judge(decoder: Decoder, body: bytes, default_tlp: TLP) -> Submission:
    return validate(decoder(body), default_tlp)


def _judge_in_worker(decoder: Decoder, body: bytes, default_tlp: TLP) -> tuple[list[_Verdict], tuple[Rejection, ...]]:
    """In a worker: :func:`_judge`, its items without their decoded objects."""
    submission = _judge(decoder, body, default_tlp)
    return [(i.index, i.id, i.type, i.version, i.tlp, i.raw) for i in submission.items], submission.rejected


class Validator:
    """Where a hub process validates submitted bodies: ``workers`` processes, or a thread (0)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers (each loads the validation libraries in the background); none for 0."""
        if self.workers > 0:
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: a clean process to fork workers from, never a copy of this one's threads and sockets.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["hub.stix"])
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_warm_up)
        for _ in range(self.workers):
            pool.submit(_warm_up)  # the workers start now, not at the first submission
        return pool

    async def parse(self, body: bytes, default_tlp: TLP) -> Submission:
        """:func:`hub.stix.parse_submission` off the event loop: in a worker, or a thread without workers."""
        return await self.judge(decode, body, default_tlp)

    async def judge(
        self, decoder: Decoder, body: bytes, default_tlp: TLP, decoded: Sequence[Any] | None = None
    ) -> Submission:
        """Validate what ``decoder`` makes of ``body``, off the event loop: in a worker, or a thread without workers.

        ``decoded``: what ``decoder(body)`` gave already, if the caller has it (a thread then uses it).
        ``decoder`` must be a module's function, for a worker to find it.
        """
        pool = self._pool
        if pool is None:
            if decoded is not None:
                return await asyncio.to_thread(validate, decoded, default_tlp)
            return await asyncio.to_thread(_judge, decoder, body, default_tlp)
        try:
            verdicts, rejected = await asyncio.get_running_loop().run_in_executor(
                pool, _judge_in_worker, decoder, body, default_tlp
            )
        except BrokenProcessPool:
            log.error("a validation worker died; starting new ones, validating this submission in a thread")
            if self._pool is pool:
                self._pool = self._new_pool()
                asyncio.get_running_loop().run_in_executor(None, pool.shutdown, False)
            return await asyncio.to_thread(_judge, decoder, body, default_tlp)
        items = tuple(
            StixItem(index, sid, typ, version, tlp, raw, _decoded(raw))
            for index, sid, typ, version, tlp, raw in verdicts
        )
        return Submission(items=items, rejected=rejected)

    def pids(self) -> list[int]:
        """The worker processes' ids, for an operator to find them (none without workers, or before they start)."""
        pool = self._pool
        # The executor keeps its processes in a private mapping; it offers no public view of them.
        return sorted(pool._processes or {}) if pool is not None else []

    async def close(self) -> None:
        """Stop the workers (a submission under way is finished first)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


def _decoded(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = orjson.loads(raw)
    return obj
