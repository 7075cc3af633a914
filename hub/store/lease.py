"""A lease in Redis: which one of several hub processes does a job now.

Several hub processes on one Redis all try to run the same job (a
connector, the plans' runner); ``SET NX PX`` lets exactly one hold the
lease, the holder renews it while it works, and another takes over within
the lease's lifetime if the holder dies. Renewing and releasing check the
holder inside Redis (:mod:`hub.store.scripts`): a process that lost its
lease can neither extend nor drop the new holder's.
"""

from __future__ import annotations

import os
import socket
import uuid

from hub.store import scripts
from hub.store.client import Client, guard


def owner_id() -> str:
    """Who holds a lease: host, process and a random part (two holders in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Lease:
    """One lease, held under ``key`` by ``owner``."""

    def __init__(self, client: Client, key: str, owner: str | None = None) -> None:
        self.redis = client
        self.key = key
        self.owner = owner or owner_id()
        self._renew = client.register_script(scripts.RENEW_IF_HOLDER)
        self._release = client.register_script(scripts.RELEASE_IF_HOLDER)

    async def acquire(self, ttl: float) -> bool:
        """Take the lease if nobody holds it (or renew it if this owner does)."""
        if await self.renew(ttl):
            return True
        async with guard():
            return bool(await self.redis.set(self.key, self.owner, nx=True, px=int(ttl * 1000)))

    async def renew(self, ttl: float) -> bool:
        async with guard():
            return bool(await self._renew(keys=[self.key], args=[self.owner, int(ttl * 1000)]))

    async def release(self) -> None:
        async with guard():
            await self._release(keys=[self.key], args=[self.owner])
