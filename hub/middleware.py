"""The one place where errors become HTTP responses, and headers every response carries.

Domain code raises :class:`hub.errors.HubError` subclasses; this middleware
turns them into the JSON error body ``{"title", "description", "http_status"}``
(the TAXII 2.1 error message shape, used on every route, served as
``application/taxii+json`` under ``/taxii2/``). Anything unexpected is logged
with its traceback and answered with a generic 500 that echoes nothing.

Requests aiohttp cannot even parse (a request line or a header over the
limit, too many headers, a malformed line) never reach a middleware: aiohttp's
connection handler answers them itself, in text/plain, after logging a
traceback. :func:`serve_protocol_errors_as_json` gives an application a
connection handler that answers them with the same JSON error body (414, 431
or 400) and one log line instead.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from hub import forwarded, keys
from hub.errors import HubError, Overloaded, TooManyRequests, Unauthorized
from hub.taxii.media import TAXII_MEDIA_TYPE, TAXII_TYPE, is_taxii_path

log = logging.getLogger(__name__)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = web.RequestKey("request_id", str)
access_log = logging.getLogger("hub.access")
_REQUEST_ID = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def error_response(
    request: web.BaseRequest, status: int, title: str, description: str, *, taxii: bool | None = None
) -> web.Response:
    """The JSON error body for ``status``, shaped as TAXII 2.1 error messages are.

    ``taxii``: whether to answer as a TAXII route does; by default, whether the path is TAXII's
    (:func:`hub.taxii.media.is_taxii_path`).
    """
    body = orjson.dumps({"title": title, "description": description, "http_status": str(status)})
    if taxii is None:
        taxii = is_taxii_path(request.path)
    response = web.Response(status=status, body=body, content_type=TAXII_TYPE if taxii else "application/json")
    if taxii:
        response.headers["Content-Type"] = TAXII_MEDIA_TYPE
    if status == 401:
        response.headers["WWW-Authenticate"] = (
            'Basic realm="crisis-hub", Bearer realm="crisis-hub"' if taxii else 'Bearer realm="crisis-hub"'
        )
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as exc:
        # An overloaded hub says so once a minute (hub.gate), not once per refused request.
        if exc.status_hint >= 500 and not isinstance(exc, Unauthorized | Overloaded):
            log.warning("%s %s: %s", request.method, request.path, exc.description)
        response = error_response(request, exc.status_hint, exc.title, exc.description)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(request, 413, "Payload too large", exc.text or "the body is over the size limit")
    except RequestPayloadError as exc:
        # The body broke off or was malformed (bad chunked encoding, a short Content-Length): the client's fault.
        log.info("%s %s: unreadable body: %s", request.method, request.path, " ".join(str(exc).split()))
        return error_response(request, 400, "Bad request", "the request body could not be read")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        description = {
            404: f"no such resource: {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
        }.get(exc.status, exc.reason)
        response = error_response(request, exc.status, exc.reason, description)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(
            request, 500, "Internal error", "the hub failed to handle this request; it has been logged"
        )


def client_address(request: web.Request) -> str:
    """The client's address: the socket peer, or the client a trusted proxy forwards for (see :mod:`hub.forwarded`).

    What the throttle counts failures by, and the ``peer`` of logs and streams.
    """
    trusted = request.app[keys.TRUSTED_PROXIES]
    return forwarded.client_address(request.remote or "", request.headers.getall("X-Forwarded-For", ()), trusted)


def check_throttle(request: web.Request) -> None:
    """TooManyRequests if the request's client has failed authentication too often lately."""
    wait = request.app[keys.THROTTLE].retry_after(client_address(request), time.monotonic())
    if wait is not None:
        raise TooManyRequests(f"too many failed authentications from your address; retry in {math.ceil(wait)}s", wait)


def note_auth_failure(request: web.Request) -> None:
    request.app[keys.THROTTLE].failed(client_address(request), time.monotonic())


@web.middleware
async def throttle_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse sources that keep failing authentication; count each failure."""
    if "Authorization" in request.headers:
        check_throttle(request)
    try:
        return await handler(request)
    except Unauthorized:
        note_auth_failure(request)
        raise


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request id on every request and response, one log line and metrics per request."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            response.headers["X-Request-Id"] = request_id
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        metrics = request.app[keys.METRICS]
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.request_seconds.labels(route).observe(elapsed)
        access_log.info(
            "%s %s %d %.1fms",
            request.method,
            request.path,
            status,
            elapsed * 1000,
            extra={"request_id": request_id, "method": request.method, "path": request.path, "status": status,
                   "duration_ms": round(elapsed * 1000, 1), "peer": client_address(request)},
        )  # fmt: skip


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: security headers on every response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/") or is_taxii_path(request.path):
        response.headers.setdefault("Cache-Control", "no-store")


# --- requests aiohttp cannot parse --------------------------------------------------------

# aiohttp reports an over-long request line and an over-long header alike (LineTooLong, with the
# limit it hit); distinct limits tell them apart. Both are aiohttp's defaults, give or take two bytes.
MAX_REQUEST_LINE = 8192
MAX_HEADER_FIELD = 8190
MAX_HEADERS = 128
HANDLER_ARGS: dict[str, Any] = {
    "max_line_size": MAX_REQUEST_LINE,
    "max_field_size": MAX_HEADER_FIELD,
    "max_headers": MAX_HEADERS,
}


def protocol_error(exc: BaseException | None, status: int) -> tuple[int, str, str, bool]:
    """``(status, title, description, on a TAXII route)`` for a request aiohttp could not parse.

    The description never quotes the request: an over-long header may be the
    ``Authorization`` one, and aiohttp's own message carries its first 100 bytes.
    """
    if isinstance(exc, http_exceptions.LineTooLong):
        line, limit = exc.args[0], exc.args[1]
        start = bytes(line[:16]) if isinstance(line, (bytes, bytearray)) else str(line)[:16].encode()
        if limit == MAX_REQUEST_LINE:
            target = start.decode("latin-1").split(" ")  # the C parser gives the target; Python's, the line
            taxii = any(is_taxii_path(part) for part in target[:2])
            return 414, "URI too long", f"the request line is over {MAX_REQUEST_LINE} bytes", taxii
        return 431, "Request header fields too large", f"a header is over {MAX_HEADER_FIELD} bytes", False
    if isinstance(exc, http_exceptions.BadHttpMessage) and exc.message == "Too many headers received":
        return 431, "Request header fields too large", f"more than {MAX_HEADERS} headers", False
    if isinstance(exc, http_exceptions.HttpProcessingError) and 400 <= exc.code < 500:
        return exc.code, "Bad request", "the request is not well-formed HTTP/1.1", False
    if status == 504:
        return 504, "Gateway timeout", "the hub took too long to answer", False
    if 400 <= status < 500:
        return status, "Bad request", "the request is not well-formed HTTP/1.1", False
    return 500, "Internal error", "the hub failed to handle this request; it has been logged", False


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering what it cannot parse with the hub's JSON error.

    aiohttp calls ``handle_error`` for requests it could not parse (no route,
    no middleware ran) and for exceptions that escape every middleware.
    """

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        status, title, description, taxii = protocol_error(exc, status)
        peer = request.remote or "?"
        if status >= 500:
            # Not the client's doing: a bug, and its traceback is what finds it.
            log.error("unhandled error on a request from %s", peer, exc_info=exc)
        elif isinstance(exc, http_exceptions.BadHttpMethod) and self._request_count == 1:
            log.debug("not HTTP from %s: %s", peer, exc.message)  # port scanners, TLS on the plain port
        else:
            log.info("%d %s from %s: %s", status, title, peer, description)
        if request.writer.output_size > 0:
            # aiohttp's own contract: part of a response went out, another cannot follow.
            raise ConnectionError("a response was already being sent")
        response = error_response(request, status, title, description, taxii=taxii)
        # No route matched, so on_response_prepare does not run for this response.
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # After answering a request, aiohttp reads what is left of its body; a malformed body raises
        # there again. The client was told (400, see error_middleware): no traceback for its fault.
        if isinstance(kw.get("exc_info"), RequestPayloadError):
            log.debug("discarding the rest of a malformed body: %s", kw["exc_info"])
            return
        super().log_exception(*args, **kw)


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


def serve_protocol_errors_as_json(app: web.Application) -> None:
    """Make every server ``app`` runs on (``web.run_app``, ``AppRunner``, aiohttp's ``TestServer``) use
    :class:`JsonErrorRequestHandler` for its connections.

    aiohttp builds its connection handlers in ``web.Server``, which the
    application makes for whichever runner starts it; no public option picks
    the handler class, so the application's server factory is wrapped here.
    The tests of ``tests/test_request_limits.py`` fail if a new aiohttp stops honouring this.
    """
    make_server = app._make_handler

    def make_json_error_server(**kwargs: Any) -> web.Server:
        server = make_server(**kwargs)
        server.__class__ = _JsonErrorServer
        return server

    app._make_handler = make_json_error_server  # type: ignore[method-assign]
