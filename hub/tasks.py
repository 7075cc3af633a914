"""Stopping background tasks.

A cancellation can be lost on the way: on Python 3.11, ``asyncio.wait_for``
returns the awaited result instead of raising when the cancel lands just as
the operation completes (CPython gh-86296, fixed in 3.12), and redis-py sends
every command through ``wait_for`` once a socket timeout is set — in a probe,
about three cancels in four that landed mid-command were lost. A task that
loses its cancel carries on as if nothing happened: the audit writer did, and
the hub's shutdown waited for it forever. Two defences, one per side:

* :func:`honouring_cancel` around every Redis call (``hub.store._guard``,
  :func:`honours_cancel` on the connectors' state) re-raises the cancel the
  call lost, so a stopped loop stops at once;
* :func:`cancel_and_wait` repeats the cancel until the task has ended,
  whatever else may lose one.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

RECANCEL_AFTER = 1.0  # seconds a cancelled task has to end before it is cancelled again


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


def honours_cancel(call: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """:func:`honouring_cancel` around every call of a coroutine function."""

    @functools.wraps(call)
    async def honouring(*args: P.args, **kwargs: P.kwargs) -> R:
        async with honouring_cancel():
            return await call(*args, **kwargs)

    return honouring
