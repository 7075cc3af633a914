"""Background tasks: a failing pass is survived and counted, a task that ends on its own is reported dead."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hub.errors import StoreUnavailable
from hub.tasks import BackgroundTasks, PassGuard
from tests.timing import WAIT


async def test_a_guarded_pass_that_raises_is_counted_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    counted: list[str] = []
    guard = PassGuard("sweep", counted.append)
    outcomes: list[BaseException | None] = [ValueError("bad item"), ValueError("bad item"), KeyError("status"), None]

    async def one_pass() -> str:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return "done"

    results = [await guard.run(one_pass) for _ in range(4)]
    assert results == [None, None, None, "done"]
    assert counted == ["sweep"] * 3 and guard.failures == 3
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert [type(r.exc_info[1]) for r in tracebacks if r.exc_info] == [ValueError, KeyError], "repeats: one line"
    assert sum("the same failure again" in r.getMessage() for r in caplog.records) == 1


async def test_an_expected_error_is_a_warning_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    counted: list[str] = []

    async def redis_down() -> None:
        raise StoreUnavailable("the event store (Redis) is unreachable; retry shortly")

    await PassGuard("sweep", counted.append).run(redis_down)
    assert counted == [] and [r.levelno for r in caplog.records] == [logging.WARNING]


async def test_a_guarded_pass_is_still_cancelled() -> None:
    async def forever() -> None:
        await asyncio.sleep(60)

    task = asyncio.create_task(PassGuard("sweep").run(forever))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.wait({task}, timeout=WAIT)
    assert task.cancelled()


@pytest.mark.parametrize("ending", ["raises", "returns", "is cancelled from elsewhere"])
async def test_a_task_that_ends_by_itself_is_dead_counted_and_logged(
    ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    counted: list[str] = []
    tasks = BackgroundTasks(counted.append)

    async def run() -> None:
        await asyncio.sleep(0.01)
        if ending == "raises":
            raise RuntimeError("boom")
        if ending == "returns":
            return
        await asyncio.sleep(60)

    task = tasks.start("sweep", run())
    tasks.start("other", asyncio.sleep(60))
    assert tasks.states() == {"other": "running", "sweep": "running"}
    if ending == "is cancelled from elsewhere":
        task.cancel()
    await asyncio.wait({task}, timeout=WAIT)
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert tasks.states() == {"other": "running", "sweep": "dead"}
    assert counted == ["sweep"]
    [record] = [r for r in caplog.records if "sweep" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert (record.exc_info is not None) == (ending == "raises")
    await tasks.stop("other")
    await tasks.stop("sweep")
    assert tasks.states() == {} and counted == ["sweep"]


async def test_a_task_stopped_on_purpose_is_not_dead() -> None:
    counted: list[str] = []
    tasks = BackgroundTasks(counted.append)
    task = tasks.start("sweep", asyncio.sleep(60))
    await tasks.stop("sweep")
    assert task.cancelled() and tasks.states() == {} and counted == []
    first = tasks.start("twice", asyncio.sleep(60))
    with pytest.raises(ValueError, match="already running"):
        tasks.start("twice", asyncio.sleep(60))
    assert tasks.task("twice") is first
    await tasks.stop("twice")
