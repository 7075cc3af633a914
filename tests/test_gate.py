"""The ingest gate: producers go ahead, wait, or are refused, as the measured backlog says."""

from __future__ import annotations

import asyncio

import pytest

from hub import gate as gate_module
from hub.admission import Backlog, Limits
from hub.errors import Overloaded
from hub.gate import IngestGate
from hub.policy import Principal
from tests.timing import WAIT

CIDGE = Principal("cidge", "CIDGE", None, ("producer",), {}, frozenset({"committee"}))
BEHIND = Backlog(streams=3, fill=0.9)
CAUGHT_UP = Backlog(streams=3)


class Measures:
    """What the gate measures next: the test sets it."""

    def __init__(self) -> None:
        self.now = CAUGHT_UP

    def __call__(self, now: float) -> Backlog:
        return self.now


def make(hold: float = 2.0) -> tuple[IngestGate, Measures, list[int]]:
    measures, refusals = Measures(), []
    gate = IngestGate(Limits(hold=hold), measures, on_refuse=lambda who, channel, via: refusals.append(1))
    return gate, measures, refusals


async def test_producers_go_ahead_at_once_while_the_streams_keep_up() -> None:
    gate, _, refusals = make()
    gate.tick(0.0)
    async with asyncio.timeout(WAIT):
        await gate.admit(CIDGE, "committee", "api")
    assert gate.pressure == 0.0 and refusals == []


async def test_a_producer_waits_while_the_streams_are_behind_and_goes_once_they_catch_up() -> None:
    gate, measures, refusals = make()
    measures.now = BEHIND
    gate.tick(0.0)
    waiting = asyncio.create_task(gate.admit(CIDGE, "committee", "api"))
    await asyncio.sleep(0.05)
    assert not waiting.done() and gate.held == 1
    measures.now = CAUGHT_UP
    gate.tick(0.1)
    async with asyncio.timeout(WAIT):
        await waiting
    assert gate.held == 0 and refusals == []


async def test_a_producer_held_past_the_hold_is_refused_with_a_retry_after() -> None:
    gate, measures, refusals = make(hold=0.1)
    measures.now = BEHIND
    gate.tick(0.0)
    with pytest.raises(Overloaded) as refused:
        async with asyncio.timeout(WAIT):
            await gate.admit(CIDGE, "committee", "api")
    assert refused.value.retry_after == 1.0 and refused.value.status_hint == 503
    assert gate.held == 0 and refusals == [1]


async def test_with_no_hold_a_producer_is_refused_at_once() -> None:
    gate, measures, refusals = make(hold=0.0)
    measures.now = BEHIND
    gate.tick(0.0)
    with pytest.raises(Overloaded):
        await gate.admit(CIDGE, "committee", "api")
    assert refusals == [1]


async def test_past_max_held_producers_are_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_module, "MAX_HELD", 2)
    gate, measures, refusals = make()
    measures.now = BEHIND
    gate.tick(0.0)
    held = [asyncio.create_task(gate.admit(CIDGE, "committee", "api")) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(Overloaded):
        await gate.admit(CIDGE, "committee", "api")
    assert refusals == [1] and gate.held == 2
    measures.now = CAUGHT_UP
    gate.tick(0.1)
    async with asyncio.timeout(WAIT):
        await asyncio.gather(*held)


async def test_another_process_behind_holds_this_one_s_producers() -> None:
    gate, _, _ = make(hold=0.0)
    gate.tick(0.0)
    gate.heard([0.3, 1.5])
    assert gate.pressure == 1.5
    with pytest.raises(Overloaded):
        await gate.admit(CIDGE, "committee", "api")
    gate.heard([])
    await gate.admit(CIDGE, "committee", "api")
