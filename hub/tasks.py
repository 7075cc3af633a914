"""Stopping background tasks."""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_AFTER = 1.0  # seconds a cancelled task has to end before it is cancelled again


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until they have finished.

    Unlike ``with suppress(CancelledError): await task``, this never
    swallows a cancellation of the caller itself: a shutdown that is given up
    on (a timeout around it) still ends.

    A cancellation can be lost on the way: on Python 3.11, ``asyncio.wait_for``
    returns the awaited result instead of raising when the cancel lands just
    as the operation completes (CPython gh-86296, fixed in 3.12), and
    redis-py sends every command through ``wait_for`` once a socket timeout
    is set. A task that loses its cancel carries on as if nothing happened —
    the audit writer did, and the hub's shutdown waited for it forever. So
    the cancel is repeated every ``RECANCEL_AFTER`` seconds until each task
    has ended; a task's own cleanup gets that long before it is interrupted.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_AFTER)
