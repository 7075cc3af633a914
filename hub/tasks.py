"""Stopping background tasks.

A cancellation can be lost on the way: on Python 3.11, ``asyncio.wait_for``
returns the awaited result instead of raising when the cancel lands just as
the operation completes (CPython gh-86296, fixed in 3.12), and redis-py sends
every command through ``wait_for`` once a socket timeout is set — in a probe,
about three cancels in four that landed mid-command were lost. A task that
loses its cancel carries on as if nothing happened: the audit writer did, and
the hub's shutdown waited for it forever. Two defences, one per side:

* :func:`honouring_cancel` around every Redis call (inside
  ``hub.store.guard``) re-raises the cancel the call lost, so a stopped loop
  stops at once;
* :func:`cancel_and_wait` repeats the cancel until the task has ended,
  whatever else may lose one.

Keeping background tasks alive, and saying when one is not. A periodic task
runs each pass through a :class:`PassGuard`: an unexpected exception is
logged with its traceback, counted, and the task carries on with its next
pass — one malformed stored item must not end escalation for good. A task
that ends all the same is *dead*: :class:`BackgroundTasks`, the registry of
a process's named tasks, logs and counts it, and ``/api/v1/health`` reports it.

Stopping a command between two of its steps, not in the middle of one:
:func:`signals_held` holds SIGINT or SIGTERM for a block and delivers them at
its end.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal, ParamSpec, TypeVar

from hub.errors import HubError

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

RECANCEL_AFTER = 1.0  # seconds a cancelled task has to end before it is cancelled again


@contextmanager
def signals_held(*signals: signal.Signals, then: Callable[[int], None] | None = None) -> Iterator[list[int]]:
    """Hold ``signals`` until the block ends, then deliver them to the handlers they had.

    Yields the signals held so far; ``then(signum)``, if given, runs as each arrives (from the signal
    handler: it must only schedule work). Only the main thread receives signals in Python; elsewhere
    the block runs as it is.
    """
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, _frame: object) -> None:
        held.append(signum)
        if then is not None:
            then(signum)

    previous = {sig: signal.signal(sig, hold) for sig in signals}
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in held:
            signal.raise_signal(signum)


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until they have finished.

    Unlike ``with suppress(CancelledError): await task``, this never
    swallows a cancellation of the caller itself: a shutdown that is given up
    on (a timeout around it) still ends. The cancel is repeated every
    ``RECANCEL_AFTER`` seconds until each task has ended (see the module's
    docstring); a task's own cleanup gets that long before it is interrupted.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_AFTER)


@asynccontextmanager
async def honouring_cancel() -> AsyncIterator[None]:
    """Raise CancelledError on leaving if the task was cancelled inside and the cancel got lost (see above)."""
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    yield
    if task is not None and task.cancelling() > before:
        raise asyncio.CancelledError


TaskState = Literal["running", "dead"]


def _ignore(task: str) -> None:
    pass


class PassGuard:
    """Runs the passes of one periodic task so that no failing pass ends the task.

    A :class:`~hub.errors.HubError` (Redis unreachable, an object refused) is
    an expected condition: a warning. Any other exception is a bug or bad
    data: logged with its traceback — once while the same failure repeats
    pass after pass, then one line each time — and counted through
    ``on_failure``. ``CancelledError`` is not an ``Exception``: a stop still
    stops.
    """

    def __init__(self, task: str, on_failure: Callable[[str], None] = _ignore) -> None:
        self.task = task
        self.failures = 0
        self._on_failure = on_failure
        self._last: tuple[type[BaseException], str] | None = None

    async def run(self, one_pass: Callable[[], Awaitable[R]]) -> R | None:
        """``await one_pass()``; its result, or ``None`` if it failed."""
        try:
            result = await one_pass()
        except HubError as exc:
            log.warning("%s: pass skipped: %s", self.task, exc.description)
            return None
        except Exception as exc:  # whatever one pass hits, the task lives on
            self.failures += 1
            self._on_failure(self.task)
            failure = (type(exc), str(exc))
            if failure != self._last:
                log.exception("%s: a pass failed unexpectedly; carrying on", self.task)
            else:
                log.error("%s: the same failure again (%d failed passes): %r", self.task, self.failures, exc)
            self._last = failure
            return None
        self._last = None
        return result


class BackgroundTasks:
    """The named long-running tasks of one hub process, and whether each still runs.

    A registered task is meant to run until :meth:`stop` (or :meth:`forget`)
    takes it off the registry; one that ends before, by an exception, a
    return or a cancel from elsewhere, is *dead*: it is logged with what
    ended it, counted through ``on_failure`` under its name, and reported by
    :meth:`states` until the process stops.
    """

    def __init__(self, on_failure: Callable[[str], None] = _ignore) -> None:
        self._on_failure = on_failure
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as the task ``name`` and watch it."""
        if self._running(name):
            coro.close()
            raise ValueError(f"a background task named {name!r} is already running")
        task = asyncio.create_task(coro, name=name)
        self.watch(name, task)
        return task

    def watch(self, name: str, task: asyncio.Task[Any]) -> None:
        """Watch a task started elsewhere under ``name``."""
        if self._running(name):
            raise ValueError(f"a background task named {name!r} is already running")
        self._tasks[name] = task
        task.add_done_callback(functools.partial(self._ended, name))

    def guard(self, name: str) -> PassGuard:
        """A :class:`PassGuard` for the passes of task ``name``, counting its failures as this registry does."""
        return PassGuard(name, self._on_failure)

    def forget(self, name: str) -> asyncio.Task[Any] | None:
        """Stop watching ``name`` (its end is now expected); the task, if there was one."""
        return self._tasks.pop(name, None)

    async def stop(self, name: str) -> None:
        """Forget ``name``, then cancel it and wait until it has ended."""
        task = self.forget(name)
        if task is not None:
            await cancel_and_wait(task)

    def task(self, name: str) -> asyncio.Task[Any] | None:
        return self._tasks.get(name)

    def states(self) -> dict[str, TaskState]:
        """``{name: "running" | "dead"}`` for every watched task, by name."""
        return {name: "dead" if task.done() else "running" for name, task in sorted(self._tasks.items())}

    def _running(self, name: str) -> bool:
        return name in self._tasks and not self._tasks[name].done()

    def _ended(self, name: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(name) is not task:
            return  # stopped on purpose (forgotten first), or replaced
        self._on_failure(name)
        if task.cancelled():
            log.error("background task %s was cancelled while it should run; reported dead", name)
        elif (exc := task.exception()) is not None:
            log.error("background task %s died; reported dead", name, exc_info=exc)
        else:
            log.error("background task %s returned while it should run; reported dead", name)
