"""The institution client: push STIX to a hub and read its channels over HTTP.

Institutions and connectors import :class:`HubClient`; the ``crisis-hub push``
command is built on it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
import orjson

DEFAULT_URL = "http://127.0.0.1:8080"
BATCH = 500
TAXII = "application/taxii+json;version=2.1"
PATIENCE = 300.0
"""Seconds, in all, a post of objects keeps being sent again while the hub answers "later" (503, 429)."""
LATER = frozenset({429, 503})
"""Answers that mean: nothing was taken, send the same again after ``Retry-After``."""


class HubClientError(Exception):
    """The hub answered with an error (``status``), or could not be reached (``status`` 0)."""

    def __init__(self, status: int, title: str, description: str) -> None:
        # Status 0 is no HTTP answer at all: the description alone says what happened.
        super().__init__(f"{status} {title}: {description}" if status else description)
        self.status = status
        self.title = title
        self.description = description


def unreachable(url: str, exc: BaseException) -> HubClientError:
    """The one sentence every command says when no HTTP answer came from the hub at ``url``."""
    return HubClientError(0, "Unreachable", f"cannot reach the hub at {url}: {connection_problem(exc)}")


def connection_problem(exc: BaseException) -> str:
    """What went wrong with a connection, in a few words a user can act on (no library internals)."""
    cause: BaseException = exc
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused (is the hub running, and is --url right?)"
    if isinstance(cause, socket.gaierror):
        return "unknown host name (is --url right?)"
    if isinstance(cause, ssl.SSLError | aiohttp.ClientSSLError):
        return f"the TLS handshake failed ({getattr(cause, 'reason', None) or cause})"
    if isinstance(cause, TimeoutError):
        return "no answer in time"
    if isinstance(cause, aiohttp.ServerDisconnectedError | ConnectionResetError):
        return "the connection was closed before an answer"
    if isinstance(cause, aiohttp.InvalidURL):
        return "not an http:// or https:// URL"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror[0].lower() + cause.strerror[1:]
    return str(cause) or type(cause).__name__


@dataclass
class PushSummary:
    """What the hub said of every object pushed, added up over batches."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.accepted) + len(self.duplicates) + len(self.rejected)

    def add(self, answer: dict[str, Any], offset: int = 0) -> None:
        self.accepted += answer.get("accepted", [])
        self.duplicates += answer.get("duplicates", [])
        self.rejected += [{**r, "index": r["index"] + offset} for r in answer.get("rejected", [])]


class HubClient:
    """An HTTP client of one hub, authenticated by a bearer token.

    Posts of objects (:meth:`post`, :meth:`push_objects`, :meth:`taxii_add`) are sent again, after the
    ``Retry-After`` the hub gives, while it answers 503 or 429 (its live streams are behind, its store
    is unavailable for a moment) for up to ``patience`` seconds in all: the hub stores an object once,
    so a post sent twice is answered with duplicates, never stored twice. ``on_wait(seconds, why)`` is
    called before each such wait.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str = "",
        *,
        timeout: float = 120.0,
        patience: float = PATIENCE,
        on_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.patience = patience
        self.on_wait = on_wait
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HubClient:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._session = aiohttp.ClientSession(headers=headers, timeout=self._timeout)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use HubClient as 'async with HubClient(...) as client'")
        return self._session

    async def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, body, _ = await self._exchange(method, path, **kwargs)
        return status, _decoded(status, body)

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> tuple[int, bytes, float | None]:
        """One request: the answer's status, body and ``Retry-After`` seconds (None: not said)."""
        try:
            async with self.session.request(method, self.url + path, **kwargs) as response:
                return response.status, await response.read(), retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(self.url, exc) from exc

    async def _send_objects(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        """POST objects, sent again after ``Retry-After`` while the hub answers "later" (see the class)."""
        deadline = time.monotonic() + self.patience
        while True:
            status, answer, wait = await self._exchange("POST", path, data=body, headers=headers)
            if status not in LATER or wait is None or time.monotonic() + wait > deadline:
                return status, _decoded(status, answer)
            wait = max(wait, 1.0)  # "Retry-After: 0" from a proxy must not make a tight loop
            if self.on_wait is not None:
                self.on_wait(wait, _description(answer))
            await asyncio.sleep(wait)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        status, data = await self._request(method, path, **kwargs)
        if status >= 400:
            raise _error(status, data)
        return data

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Any JSON API call: ``await client.call("POST", "/api/v1/crises", {...})``."""
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": orjson.dumps(body), "headers": {"Content-Type": "application/json"}}
        return await self._call(method, path, **kwargs)

    async def text(self, path: str) -> str:
        """A GET whose answer is text (a Markdown sitrep, say)."""
        status, body, _ = await self._exchange("GET", path)
        if status >= 400:
            try:
                raise _error(status, orjson.loads(body))
            except orjson.JSONDecodeError:
                raise HubClientError(status, "Error", "the hub gave no explanation") from None
        return body.decode()

    async def me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/api/v1/me")
        return result

    async def post(self, channel: str, body: bytes) -> dict[str, Any]:
        """POST one bundle (or object) as bytes; returns the hub's per-object answer."""
        status, data = await self._send_objects(
            f"/api/v1/channels/{channel}/objects", body, {"Content-Type": "application/stix+json;version=2.1"}
        )
        # A 400 whose body lists per-object outcomes is an answer (nothing was accepted), not a failure.
        if status >= 400 and not (status == 400 and isinstance(data, dict) and "rejected" in data):
            raise _error(status, data)
        result: dict[str, Any] = data
        return result

    async def push_objects(
        self,
        channel: str,
        objects: Sequence[Any],
        *,
        batch: int = BATCH,
        progress: Callable[[int], None] | None = None,
        summary: PushSummary | None = None,
    ) -> PushSummary:
        """Push ``objects`` in bundles of ``batch``; ``progress`` is called with each batch's size.

        Answers are added to ``summary`` when given, so a caller stopped half-way knows what was stored.
        """
        summary = summary if summary is not None else PushSummary()
        for start in range(0, len(objects), batch):
            chunk = objects[start : start + batch]
            body = orjson.dumps({"type": "bundle", "id": _bundle_id(), "objects": chunk})
            summary.add(await self.post(channel, body), offset=start)
            if progress is not None:
                progress(len(chunk))
        return summary

    async def taxii_add(self, collection: str, objects: Sequence[Any]) -> dict[str, Any]:
        """Add ``objects`` to a TAXII 2.1 collection of the hub (as a partner does, who may use TAXII only).

        Returns the TAXII status resource: its ``failures`` say which objects were refused and why.
        """
        status, data = await self._send_objects(
            f"/taxii2/api/collections/{collection}/objects/",
            orjson.dumps({"objects": list(objects)}),
            {"Accept": TAXII, "Content-Type": TAXII},
        )
        if status != 202:
            raise _error(status, data)
        result: dict[str, Any] = data
        return result

    async def events(self, channel: str, after: str = "0", limit: int = 100) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "GET", f"/api/v1/channels/{channel}/events", params={"after": after, "limit": str(limit)}
        )
        return result


def retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header (RFC 9110: a number of seconds; a date is not used here)."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def _decoded(status: int, body: bytes) -> Any:
    """An answer's JSON (None for an empty body); HubClientError if it is something else."""
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        raise HubClientError(status, "Bad answer", "the hub answered with something that is not JSON") from None


def _description(answer: bytes) -> str:
    """The ``description`` of an error answer, or "" when it has none."""
    try:
        data = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return ""
    return str(data.get("description", "")) if isinstance(data, dict) else ""


def _error(status: int, data: Any) -> HubClientError:
    if isinstance(data, dict):
        return HubClientError(status, str(data.get("title", "Error")), str(data.get("description", "")))
    return HubClientError(status, "Error", "the hub gave no explanation")


def _bundle_id() -> str:
    return f"bundle--{uuid.uuid4()}"
