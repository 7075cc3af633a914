"""Connectors running on their own: retries with backoff against a failing partner, lease, status."""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from hub.config import ConnectorConfig
from hub.federation.runner import Backoff, ConnectorRunner, build_worker
from hub.store.connectors import ConnectorState, connector_report, read_statuses
from hub.tasks import cancel_and_wait
from hub.tlp import TLP
from tests.conftest import Hub
from tests.federation.conftest import PASSWORD_ENV, Local, spec
from tests.federation.flaky import FlakyPartner
from tests.federation.test_taxii_push import TOKEN_ENV, partner_objects, post_local
from tests.stixgen import indicator
from tests.taxii.helpers import append, bulk_items, collection_path
from tests.timing import LONG_WAIT, seconds

FAST = Backoff(initial=0.05, maximum=0.2)
# How long the connectors wait for a partner, and a stall that outlasts it: the partner did the work, the
# connector gave up on it.
TIMEOUT = seconds(0.3)
STALL = 2 * TIMEOUT


def test_backoff_doubles_up_to_its_maximum_with_jitter() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0)
    for attempt, ceiling in enumerate([1, 2, 4, 8, 8, 8]):
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1


def test_the_report_says_stale_for_a_runner_that_stopped_beating_and_not_started_for_none() -> None:
    specs = [spec("a", "taxii-pull", "http://x/", "partners"), spec("b", "taxii-push", "http://y/", "committee")]
    statuses = {"a": {"state": "running", "updated": 1000.0, "moved": 3, "last_success": 990.0}}
    rows = connector_report(specs, statuses, now=1000.0 + 600)
    assert [(r["name"], r["state"], r["moved"]) for r in rows] == [("a", "stale", 3), ("b", "not started", 0)]
    assert rows[0]["last_success"] == "1970-01-01T00:16:30Z"


def runner(local: Local, connector: ConnectorConfig, env: dict[str, str], **options: Any) -> ConnectorRunner:
    make = functools.partial(build_worker, connector, local.config, environ=env, store=local.store)
    return ConnectorRunner(connector, local.store.connectors, make, backoff=FAST, **options)


async def until(condition: Any, timeout: float = LONG_WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_a_partner_failing_with_500s_and_timeouts_is_retried_and_nothing_is_lost_or_doubled(
    hub: Hub, local: Local
) -> None:
    """Push and pull through a partner that answers 500, then stalls past the timeout after doing the work."""
    upstream = str(hub.client.make_url(""))
    push_partner = FlakyPartner(upstream, errors=3, stalls=2, stall=STALL)
    pull_partner = FlakyPartner(upstream, errors=3, stalls=2, stall=STALL)
    shared = [indicator(TLP.GREEN) for _ in range(5)]
    await post_local(local, "committee", *shared[:3], indicator(TLP.RED))
    pulled = bulk_items(12, TLP.CLEAR)
    await append(hub, "public", "cidge", pulled)
    env = {TOKEN_ENV: hub.tokens["partner-cert"], PASSWORD_ENV: hub.tokens["partner-cert"]}
    async with push_partner.running() as push_url, pull_partner.running() as pull_url:
        push = runner(local, spec(
            "to-flaky", "taxii-push", push_url + collection_path("partners"), "committee",
            token_env=TOKEN_ENV, timeout=TIMEOUT, interval=0.1, page_size=2,
        ), env)  # fmt: skip
        pull = runner(local, spec(
            "from-flaky", "taxii-pull", pull_url + collection_path("public"), "sector.energy",
            username="partner-cert", password_env=PASSWORD_ENV, stakeholder="cert-mx", timeout=TIMEOUT, interval=0.1,
            page_size=5,
        ), env)  # fmt: skip
        tasks = [asyncio.create_task(push.run()), asyncio.create_task(pull.run())]
        try:
            await until(lambda: _at_least(hub, 3))
            await post_local(local, "committee", *shared[3:])  # while running: woken by the live notification
            await until(lambda: _moved(local, "to-flaky", 5))
            await until(lambda: _moved(local, "from-flaky", 12))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert push_partner.failed == 5 and pull_partner.failed == 5
    forwarded = [o["id"] for o in await partner_objects(hub) if o["id"] in {s["id"] for s in shared}]
    assert forwarded == [s["id"] for s in shared]  # each once, in order, the RED one never
    assert await local.stix_ids("sector.energy") == [i.id for i in pulled]  # each once, in order
    statuses = await read_statuses(local.store.redis, local.namespace)
    for name in ("to-flaky", "from-flaky"):
        status = statuses[name]
        assert status["state"] == "stopped" and status["retries"] >= 5, status
        assert status["last_error"] == "the partner did not answer in time"  # the 500s came first
    assert statuses["to-flaky"]["moved"] >= 5 and statuses["to-flaky"]["withheld"] == 1
    assert statuses["from-flaky"]["moved"] == 12 and statuses["from-flaky"]["duplicates"] == 0


async def _at_least(hub: Hub, count: int) -> bool:
    return len(await partner_objects(hub)) >= count


async def _moved(local: Local, name: str, count: int) -> bool:
    return int((await read_statuses(local.store.redis, local.namespace)).get(name, {}).get("moved", 0)) >= count


async def test_one_process_runs_a_connector_and_another_takes_over_when_it_dies(hub: Hub, local: Local) -> None:
    env = {TOKEN_ENV: hub.tokens["partner-cert"]}
    connector = spec("to-partner", "taxii-push", str(hub.client.make_url(collection_path("partners"))),
                     "committee", token_env=TOKEN_ENV, interval=0.1)  # fmt: skip
    first, second = runner(local, connector, env, lease_ttl=0.6), runner(local, connector, env, lease_ttl=0.6)
    running = asyncio.create_task(first.run())
    await until(lambda: _state(local, "to-partner", "running"))
    waiting = asyncio.create_task(second.run())
    await until(lambda: _state(local, "to-partner", "standby"))
    await post_local(local, "committee", indicator(TLP.GREEN))
    await until(lambda: _at_least(hub, 1))
    first.state.release = _never  # type: ignore[method-assign]  # dies: its lease is left to expire
    await cancel_and_wait(running)  # as the hub stops its runners
    await until(lambda: _state(local, "to-partner", "running"))
    await post_local(local, "committee", indicator(TLP.GREEN))
    await until(lambda: _at_least(hub, 2))
    await cancel_and_wait(waiting)
    assert len(await partner_objects(hub)) == 2


async def _never() -> None:
    return None


async def _state(local: Local, name: str, state: str) -> bool:
    return (await read_statuses(local.store.redis, local.namespace)).get(name, {}).get("state") == state


async def test_a_checkpoint_is_moved_only_by_the_lease_holder(local: Local) -> None:
    holder = await local.state("x")
    other = ConnectorState(local.store.redis, local.namespace, "x")
    assert not await other.acquire(30)
    await holder.save_checkpoint({"event": "1-0"})
    try:
        await other.save_checkpoint({"event": "2-0"})
        raise AssertionError("a process without the lease moved the checkpoint")
    except Exception as exc:
        assert type(exc).__name__ == "LeaseLost"
    assert await other.load_checkpoint() == {"event": "1-0"}
    assert os.environ.get(TOKEN_ENV) is None  # the tests pass secrets explicitly, never through the real environment
