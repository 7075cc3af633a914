"""A loopback TCP proxy that a test can cut and restore: a network outage between a client and the hub.

The browser talks to the proxy's port as if it were the hub; each accepted connection is
relayed byte for byte to the hub by two pump tasks. :meth:`TcpProxy.cut` is the outage: it
stops listening (new connections are refused) and aborts every open connection on both sides,
so the client and the hub each see their connection drop. :meth:`TcpProxy.restore` listens
again on the same port, so the page's origin — and the token it keeps for that origin — stay
the same. Nothing of the hub or the page is touched: they only see the network come and go.
"""

from __future__ import annotations

import asyncio
import contextlib

from hub.tasks import cancel_and_wait

CHUNK = 64 * 1024


class TcpProxy:
    """Relays ``127.0.0.1:<port>`` to ``target_host:target_port`` until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0  # chosen by the system on the first start, then kept
        self.accepted = 0  # connections relayed so far, across cuts
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (again): on a free port the first time, on the same port after a cut."""
        assert self._server is None, "already listening"
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def restore(self) -> None:
        """The network is back: accept connections again, on the port the client knows."""
        await self.start()

    async def cut(self) -> None:
        """Refuse new connections and drop every open one, on both sides, at once."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await cancel_and_wait(*self._pumps)
        if server is not None:
            await server.wait_closed()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        try:
            hub_reader, hub_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            self._writers.discard(client_writer)
            return
        self._writers.add(hub_writer)
        self.accepted += 1
        pumps = [
            asyncio.create_task(self._pump(client_reader, hub_writer)),
            asyncio.create_task(self._pump(hub_reader, client_writer)),
        ]
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps)
        finally:
            for writer in (client_writer, hub_writer):
                self._writers.discard(writer)
                writer.transport.abort()
            self._pumps.difference_update(pumps)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until its end; then half-close the other side, as TCP would."""
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
