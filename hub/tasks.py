"""Stopping background tasks."""

from __future__ import annotations

import asyncio
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
