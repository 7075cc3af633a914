"""Stopping background tasks, even those that lose their cancellation (see hub.tasks)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import uuid

import pytest

from hub.store import connect
from hub.store.audit import AuditLog
from hub.store.connectors import ConnectorState
from hub.tasks import cancel_and_wait, signals_held
from tests.timing import WAIT


async def test_a_task_that_loses_its_first_cancel_is_still_stopped() -> None:
    async def loses_one_cancel() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            pass  # lost, as asyncio.wait_for loses it on Python 3.11 when the awaited call completes at once
        await asyncio.sleep(60)

    task = asyncio.create_task(loses_one_cancel())
    await asyncio.sleep(0)
    async with asyncio.timeout(WAIT):
        await cancel_and_wait(task)
    assert task.cancelled()


async def test_cancel_and_wait_does_not_swallow_its_callers_cancel() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                pass

    task = asyncio.create_task(stubborn())
    stopping = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0.05)
    stopping.cancel()
    await asyncio.wait({stopping}, timeout=WAIT)
    assert stopping.cancelled()
    release.set()
    await task


async def test_the_audit_writer_stops_while_records_keep_coming(redis_url: str) -> None:
    # The hang seen in the test hub's shutdown: stop() cancelled the writer mid-command, redis-py
    # returned normally instead of raising, and stop() waited for the writer forever. Before the fix
    # about a third of these stops hung (all fifteen passing by chance: under 0.2 %).
    for _ in range(15):
        client = connect(redis_url)
        audit = AuditLog(client, f"test-{uuid.uuid4().hex[:12]}")
        await audit.start()
        done = asyncio.Event()

        async def produce(audit: AuditLog = audit, done: asyncio.Event = done) -> None:
            while not done.is_set():
                for _ in range(random.randint(0, 600)):
                    audit.record("read", "cert", events=["1-0"])
                await asyncio.sleep(random.random() * 0.01)

        producer = asyncio.create_task(produce())
        try:
            await asyncio.sleep(random.random() * 0.1)
            async with asyncio.timeout(WAIT):
                await audit.stop()
        finally:
            done.set()
            await producer
            await client.delete(audit.stream_key, audit.head_key)
            await client.aclose()


async def test_the_connectors_state_never_loses_a_cancel(redis_url: str) -> None:
    # A command cancelled while it runs must end cancelled, not return as if nothing happened: a
    # runner's loop that lost its cancel would carry on. Before the connectors' state honoured lost
    # cancels, three in four of these were lost.
    client = connect(redis_url)
    state = ConnectorState(client, f"test-{uuid.uuid4().hex[:12]}", "to-partner")
    lost = 0
    try:
        await state.renew(10)  # connected: what follows is the command itself
        for _ in range(200):
            task = asyncio.ensure_future(state.renew(10))  # a task; honours_cancel types renew as an Awaitable
            for _ in range(random.randint(0, 3)):
                await asyncio.sleep(0)
            if task.cancel():  # it was still running
                await asyncio.wait({task})
                lost += not task.cancelled()
            else:
                await task
    finally:
        await client.delete(state.lease_key)
        await client.aclose()
    assert lost == 0, f"{lost} cancels lost"


def test_a_signal_inside_a_held_block_reaches_its_handler_at_the_end_of_the_block() -> None:
    """SIGINT lands while the block runs (as a server is spawned): the block finishes, then Ctrl-C's handler runs."""
    seen: list[str] = []
    arrived: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        with signals_held(signal.SIGINT, signal.SIGTERM, then=arrived.append) as held:
            os.kill(os.getpid(), signal.SIGINT)
            seen.append("block finished")
            assert held == [signal.SIGINT]
    assert seen == ["block finished"] and arrived == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
