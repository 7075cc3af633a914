"""Running connectors: a lease, a loop with backoff, and a status everyone can read.

How this works. A :class:`ConnectorRunner` runs one connector until it is
stopped. It first takes the connector's lease in Redis (see
:mod:`hub.store.connectors`), so that of several hub processes (or a hub and a
``crisis-hub connector run``) exactly one works on a connector at a time; the
others wait in ``standby`` and take over if the holder dies. While it holds
the lease it repeats one *step* (pull: a poll; push: forward what is pending)
then idles for the connector's ``interval`` (push wakes early on the channel's
live notification). A failed step — 5xx, timeout, refused connection, Redis or
the hub unavailable — is retried after a delay that doubles up to a maximum,
with jitter, so that many connectors failing together do not retry together.
Every change of state is written to the connector's status in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.client import HubClient
from hub.config import Config, ConnectorConfig
from hub.errors import Overloaded
from hub.federation.endpoints import HubSink, HubSource, Sink, Source, StoreSink, StoreSource
from hub.federation.partner import PartnerConnection, describe
from hub.federation.pull import TaxiiPull
from hub.federation.push import TaxiiPush
from hub.metrics import Metrics
from hub.policy import Principal
from hub.store import Store
from hub.store.audit import AuditLog
from hub.store.connectors import Connectors, ConnectorState, ConnectorStatus, LeaseLost
from hub.tasks import cancel_and_wait

log = logging.getLogger(__name__)

LEASE_TTL = 30.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between retries: doubling from ``initial`` up to ``maximum``, each drawn in its upper half."""

    initial: float = 1.0
    maximum: float = 300.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * 2.0 ** min(attempt, 30))
        return ceiling / 2 + random.random() * ceiling / 2


class Worker(Protocol):
    """A connector's work: one step, and what to do between steps."""

    async def step(self) -> None: ...

    async def idle(self, timeout: float) -> None: ...

    async def close(self) -> None: ...


class PullWorker:
    def __init__(self, pull: TaxiiPull) -> None:
        self.pull = pull

    async def step(self) -> None:
        report = await self.pull.poll()
        if report.accepted or report.rejected:
            log.info(
                "connector %s: %d new objects, %d duplicates, %d refused (%d pages)",
                self.pull.state.name, report.accepted, report.duplicates, len(report.rejected), report.pages,
            )  # fmt: skip

    async def idle(self, timeout: float) -> None:
        await asyncio.sleep(timeout)

    async def close(self) -> None:
        await asyncio.to_thread(self.pull.partner.close)


class PushWorker:
    def __init__(self, push: TaxiiPush) -> None:
        self.push = push

    async def step(self) -> None:
        sent = await self.push.forward()
        if sent:
            log.info("connector %s: %d objects accepted by the partner", self.push.state.name, sent)

    async def idle(self, timeout: float) -> None:
        await self.push.wait(timeout)

    async def close(self) -> None:
        await self.push.source.close()
        await asyncio.to_thread(self.push.partner.close)


def build_worker(
    spec: ConnectorConfig,
    config: Config,
    state: ConnectorState,
    status: ConnectorStatus,
    environ: Mapping[str, str],
    *,
    store: Store | None = None,
    client: HubClient | None = None,
    audit: AuditLog | None = None,
    metrics: Metrics | None = None,
    admit: Callable[[Principal, str, str], Awaitable[None]] | None = None,
) -> Worker:
    """The connector's worker, on the hub's ``store`` (inside the hub) or its HTTP API through ``client``.

    ``admit``, inside the hub: holds a pull while the live streams are behind (:meth:`hub.gate.IngestGate.admit`).

    Raises ConfigError if a credential's environment variable is not set.
    """
    partner = PartnerConnection(spec, environ)
    channel = config.channels[spec.channel]
    if spec.kind == "taxii-pull":
        assume = spec.assume_tlp if spec.assume_tlp is not None else channel.default_tlp
        sink: Sink
        if store is not None:
            principal = config.principals[spec.stakeholder or ""]
            sink = StoreSink(
                store, config.principals, principal, channel, assume, audit=audit, metrics=metrics, admit=admit
            )
        else:
            assert client is not None
            sink = HubSink(client, channel, assume)
        return PullWorker(TaxiiPull(partner, sink, state, status))
    source: Source
    if store is not None:
        reader = config.principals[spec.stakeholder] if spec.stakeholder is not None else None
        source = StoreSource(store, spec.channel, reader)
    else:
        source = HubSource(_need(client), spec.channel)
    return PushWorker(TaxiiPush(partner, source, state, status, audit))


def _need(client: HubClient | None) -> HubClient:
    if client is None:
        raise ValueError("a connector outside the hub needs a HubClient")
    return client


class ConnectorRunner:
    """Runs one connector: lease, steps, idling, backoff, status."""

    def __init__(
        self,
        spec: ConnectorConfig,
        connectors: Connectors,
        make_worker: _WorkerFactory,
        *,
        backoff: Backoff | None = None,
        lease_ttl: float = LEASE_TTL,
    ) -> None:
        self.spec = spec
        self.state = connectors.state(spec.name)
        self.status = ConnectorStatus(spec.name, spec.kind, spec.channel, spec.url, owner=self.state.owner)
        self.worker = make_worker(self.state, self.status)
        self.backoff = backoff or Backoff(initial=min(1.0, spec.interval), maximum=max(60.0, spec.interval))
        self.lease_ttl = lease_ttl
        self._lost = asyncio.Event()

    async def publish(self, state: str | None = None) -> None:
        """Write the status to Redis; a Redis outage only delays it."""
        if state is not None:
            self.status.state = state
        if self.spec.kind == "taxii-pull" and self.status.last_success is not None:
            self.status.lag_seconds = round(time.time() - self.status.last_success, 3)
        try:
            await self.state.publish(self.status)
        except Exception as exc:  # noqa: BLE001 - status is best effort; the work goes on
            log.debug("connector %s: status not written: %s", self.spec.name, exc)

    async def run_once(self) -> None:
        """One step while holding the lease, errors raised (``connector run --once``)."""
        if not await self.state.acquire(self.lease_ttl):
            busy = LeaseLost(f"connector {self.spec.name} is run by another process now (a hub or a connector run)")
            self._failed(busy)
            raise busy
        try:
            await self.publish("running")
            await self.worker.step()
            await self.publish("stopped")
        except Exception as exc:
            self._failed(exc)
            await self.publish("stopped")
            raise
        finally:
            await self.state.release()
            await self.worker.close()

    async def run(self) -> None:
        """Run until cancelled: wait for the lease, then step and idle, backing off on errors."""
        try:
            while True:
                while not await self._acquire():
                    await self.publish("standby")
                    await asyncio.sleep(self.lease_ttl / 3)
                renewing = asyncio.create_task(self._renew(), name=f"connector-lease-{self.spec.name}")
                try:
                    await self._work()
                finally:
                    await cancel_and_wait(renewing)
                log.warning("connector %s: lease lost; another process runs it now", self.spec.name)
        finally:
            # Bounded: a cleanup stuck on Redis or a partner must not keep the hub from shutting down.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.state.release()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.publish("stopped")
                    await self.worker.close()

    async def _acquire(self) -> bool:
        try:
            got = await self.state.acquire(self.lease_ttl)
        except Exception as exc:  # noqa: BLE001 - Redis down: wait like a standby
            self._failed(exc)
            return False
        if got:
            self._lost.clear()
            log.info("connector %s (%s, channel %s) running", self.spec.name, self.spec.kind, self.spec.channel)
        return got

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                if not await self.state.renew(self.lease_ttl):
                    self._lost.set()
                    return
            except Exception as exc:  # noqa: BLE001 - try again; the checkpoint write is fenced anyway
                log.debug("connector %s: lease renewal failed: %s", self.spec.name, exc)
            await self.publish()  # a heartbeat: a status that stops changing belongs to a dead process

    async def _work(self) -> None:
        attempt = 0
        while not self._lost.is_set():
            try:
                await self.worker.step()
            except LeaseLost:
                return
            except Overloaded as exc:  # the hub's live streams are behind: come back when it says, no backoff
                self._failed(exc)
                await self.publish("backing-off")
                await self._pause(asyncio.sleep(exc.retry_after or 1.0))
                continue
            except Exception as exc:  # noqa: BLE001 - every failure is retried; the status says which
                self._failed(exc)
                delay = self.backoff.delay(attempt)
                attempt += 1
                log.warning("connector %s: %s; retrying in %.1fs", self.spec.name, self.status.last_error, delay)
                await self.publish("backing-off")
                await self._pause(asyncio.sleep(delay))
                continue
            attempt = 0
            await self.publish("running")
            await self._pause(self.worker.idle(self.spec.interval))

    async def _pause(self, waiting: Coroutine[Any, Any, None]) -> None:
        """Wait for ``waiting``, or until the lease is lost."""
        tasks = {asyncio.ensure_future(waiting), asyncio.ensure_future(self._lost.wait())}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            await cancel_and_wait(*tasks)

    def _failed(self, exc: BaseException) -> None:
        self.status.last_error = describe(exc)
        self.status.last_error_at = time.time()
        self.status.retries += 1


class _WorkerFactory(Protocol):
    def __call__(self, state: ConnectorState, status: ConnectorStatus) -> Worker: ...


class ConnectorRuntime:
    """Every configured connector of a hub process, each in its own task."""

    def __init__(self, runners: list[ConnectorRunner]) -> None:
        self.runners = runners
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for runner in self.runners:
            self._tasks.append(asyncio.create_task(runner.run(), name=f"connector-{runner.spec.name}"))

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
