"""Requests aiohttp cannot parse get the hub's JSON error, a 4xx, and one log line without a traceback.

Raw bytes on a real socket, against the test hub and against ``crisis-hub serve``: an over-long request
line (414), an over-long header or too many of them (431), a malformed header or body (400).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.conftest import Hub
from tests.timing import LONG_WAIT, STARTUP, WAIT, seconds

SECRET = "s3cr3t-" + "k" * 40


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> dict[str, str]:
        doc = orjson.loads(self.body)
        assert isinstance(doc, dict) and set(doc) == {"title", "description", "http_status"}, doc
        assert doc["http_status"] == str(self.status)
        return doc


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return Answer(int(status_line.split()[1]), headers, body)


async def send(host: str, port: int | None, raw: bytes) -> Answer:
    """Send ``raw`` and read the answer until the hub closes the connection."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(WAIT):
            return parse(await reader.read(-1))
    finally:
        writer.close()


def request(target: str = "/api/v1/health", *headers: str, method: str = "GET", body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: hub", *headers, "", ""]
    return "\r\n".join(lines).encode() + body


LONG = "a" * 9000
AUTH = "X-Replaced-By: a committee member's Authorization header"
CHUNKED = (AUTH, "Content-Type: application/json", "Transfer-Encoding: chunked")

CASES = {
    "request line over 8 KB": (request(f"/api/v1/health?q={LONG}"), 414, "application/json"),
    "request line over 8 KB on TAXII": (request(f"/taxii2/?q={LONG}"), 414, "application/taxii+json;version=2.1"),
    "header over 8 KB": (request("/api/v1/health", f"X-Padding: {LONG}"), 431, "application/json"),
    "Authorization header over 8 KB": (
        request("/api/v1/me", f"Authorization: Bearer {SECRET}{LONG}"),
        431,
        "application/json",
    ),
    "too many headers": (request("/api/v1/health", *(f"X-H{i}: 1" for i in range(200))), 431, "application/json"),
    "header without a colon": (request("/api/v1/health", "Not a header"), 400, "application/json"),
    "malformed chunked body": (
        request("/api/v1/channels/committee/objects", *CHUNKED, method="POST", body=b"zz\r\n{}\r\n0\r\n\r\n"),
        400,
        "application/json",
    ),
    "body that is not the gzip it claims to be": (
        request(
            "/api/v1/channels/committee/objects",
            AUTH,
            "Content-Type: application/json",
            "Content-Encoding: gzip",
            "Content-Length: 15",
            method="POST",
            body=b"this is no gzip",
        ),
        400,
        "application/json",
    ),
}


@pytest.mark.parametrize(("raw", "status", "content_type"), list(CASES.values()), ids=list(CASES))
async def test_unparseable_request_gets_a_json_error_and_one_log_line(
    hub: Hub, caplog: pytest.LogCaptureFixture, raw: bytes, status: int, content_type: str
) -> None:
    """The status, the JSON error body, security headers; logged once, no traceback, no echo of the request."""
    caplog.set_level(logging.DEBUG)
    server = hub.client.server
    answer = await send(server.host, server.port, raw.replace(AUTH.encode(), hub_auth_header(hub).encode()))

    assert answer.status == status, answer
    assert answer.headers["content-type"] == content_type
    assert answer.headers["x-content-type-options"] == "nosniff"
    error = answer.error()
    assert SECRET not in error["description"] and "aaaa" not in error["description"]

    hub_records = [r for r in caplog.records if r.name.startswith("hub.") and r.name != "hub.access"]
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()], caplog.text
    assert [r.levelno for r in hub_records if r.levelno >= logging.INFO] == [logging.INFO], caplog.text
    assert SECRET not in caplog.text


def hub_auth_header(hub: Hub) -> str:
    ((name, value),) = hub.auth("cidge").items()
    return f"{name}: {value}"


async def test_the_hub_still_answers_on_a_new_connection_after_a_bad_request(hub: Hub) -> None:
    """A bad request closes its own connection only."""
    server = hub.client.server
    assert (await send(server.host, server.port, request(f"/?q={LONG}"))).status == 414
    response = await hub.client.get("/api/v1/health")
    assert response.status == 200


# --- crisis-hub serve -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(redis_url: str, namespace: str, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """``crisis-hub serve`` on the test Redis."""
    port = free_port()
    env = {**os.environ, "CRISIS_HUB_NAMESPACE": namespace}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port), "--redis-url", redis_url,
         "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=seconds(1)):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("hub did not start") from None
                time.sleep(0.1)
        yield port, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=LONG_WAIT)


async def test_serve_answers_an_over_long_request_line_and_header_in_json_without_a_traceback(
    served: tuple[int, subprocess.Popen[str]],
) -> None:
    """The command-line server has the same connection handler as the test one."""
    port, process = served
    line = await send("127.0.0.1", port, request(f"/api/v1/health?q={LONG}"))
    header = await send("127.0.0.1", port, request("/api/v1/health", f"X-Padding: {LONG}"))
    assert (line.status, line.error()["title"]) == (414, "URI too long")
    assert (header.status, header.error()["title"]) == (431, "Request header fields too large")

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=LONG_WAIT)
    assert "Traceback" not in output and "aaaa" not in output, output
    assert "414 URI too long" in output and "431 Request header fields too large" in output, output
