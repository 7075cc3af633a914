"""Real servers for the notification tests: an SMTP server (aiosmtpd) and an HTTP receiver for webhooks.

Both listen on 127.0.0.1 only. The SMTP server can be down (not listening),
slow (holding each message longer than the hub's timeout) or rejecting
(answering 550), to test the hub's retries; it can require STARTTLS and
authentication with a certificate made for the test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.cli.test_cli import free_port
from tests.timing import WAIT


@dataclass
class Mailbox:
    """What the SMTP server received, and how it behaves."""

    messages: list[EmailMessage] = field(default_factory=list)
    reject: bool = False
    hold: threading.Event | None = None
    """When set up, each message waits for it before the server answers (a slow server the test controls)."""
    waiting: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd
        if self.hold is not None:
            with self.lock:
                self.waiting += 1
            while not self.hold.is_set():
                await asyncio.sleep(0.02)
        if self.reject:
            return "550 5.7.1 Relaying denied for this test"
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 OK"

    async def until_waiting(self, timeout: float = WAIT) -> None:
        """Wait until a message is held by the server, waiting for ``hold``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.waiting:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("no message reached the server")

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    async def until(self, count: int, timeout: float = WAIT) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; all of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            await asyncio.sleep(0.05)
        with self.lock:
            raise AssertionError(f"{len(self.messages)} message(s) arrived, not {count}: "
                                 f"{[m['Subject'] for m in self.messages]}")  # fmt: skip


class SmtpServer:
    """aiosmtpd in its own thread, on a fixed port: it can stop and start again there (a server down, then back)."""

    def __init__(self, mailbox: Mailbox, *, tls: tuple[Path, Path] | None = None, password: str | None = None) -> None:
        self.mailbox = mailbox
        self.port = free_port()
        self.tls = tls
        self.password = password
        self.controller: Controller | None = None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        good = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == self.password
        return AuthResult(success=good)

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            options.update(tls_context=context, require_starttls=True)
        if self.password is not None:
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (certificate, key)."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class WebhookReceiver:
    """An HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self.runner = web.AppRunner(app)

    async def _receive(self, request: web.Request) -> web.Response:
        self.bodies.append(orjson.loads(await request.read()))
        return web.Response(status=200, text="ok")

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def until(self, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.bodies) >= count:
                return list(self.bodies)
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(self.bodies)} webhook call(s), not {count}")
