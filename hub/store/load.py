"""What each hub process tells the others of its load: how far behind its live streams are.

One hash (``<ns>:load``) holds, per process, its pressure (see :mod:`hub.admission`) and until when that
figure holds, on Redis's clock. A process shares its own and reads the others' in one script call
(:data:`hub.store.scripts.SHARE_LOAD`), a few times a second; the figure of a process that stopped
sharing (stopped, or died) lapses and is forgotten.
"""

from __future__ import annotations

from hub.store import scripts
from hub.store.client import Client, guard
from hub.store.layout import Keys


class LoadBoard:
    """The hub processes' pressures (see :attr:`hub.store.Store.load`)."""

    def __init__(self, client: Client, keys: Keys) -> None:
        self.key = keys.load
        self._share = client.register_script(scripts.SHARE_LOAD)

    async def share(self, process: str, pressure: float, holds_ms: int) -> list[float]:
        """Say ``process``'s ``pressure``, good for ``holds_ms``; the other processes' that still hold."""
        async with guard():
            others = await self._share(keys=[self.key], args=[process, f"{pressure:.3f}", holds_ms])
        return [float(value) for value in others]
