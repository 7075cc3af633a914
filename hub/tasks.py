"""Stopping background tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until they have finished.

    Unlike ``with suppress(CancelledError): await task``, this never
    swallows a cancellation of the caller itself: a shutdown that is given up
    on (a timeout around it) still ends.
    """
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)


@asynccontextmanager
async def honouring_cancel() -> AsyncIterator[None]:
    """Raise CancelledError on leaving if the task was cancelled inside and the cancel got lost.

    redis-py sends every command under ``asyncio.wait_for``, which on Python
    3.11 can swallow a cancel that lands as the send completes: the command
    then returns normally, and a background loop being stopped would carry
    on forever.
    """
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    yield
    if task is not None and task.cancelling() > before:
        raise asyncio.CancelledError
