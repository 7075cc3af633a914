"""The one place where errors become HTTP responses, and headers every response carries.

Domain code raises :class:`hub.errors.HubError` subclasses; this middleware
turns them into the JSON error body ``{"title", "description", "http_status"}``
(the TAXII 2.1 error message shape, used on every route, served as
``application/taxii+json`` under ``/taxii2/``). Anything unexpected is logged
with its traceback and answered with a generic 500 that echoes nothing.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from hub import forwarded
from hub.errors import HubError, TooManyRequests, Unauthorized
from hub.metrics import Metrics
from hub.taxii.media import TAXII_MEDIA_TYPE, TAXII_TYPE
from hub.throttle import FailureThrottle

log = logging.getLogger(__name__)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
THROTTLE = web.AppKey("auth_throttle", FailureThrottle)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[forwarded.Network, ...])
METRICS = web.AppKey("metrics", Metrics)
REQUEST_ID = web.RequestKey("request_id", str)
access_log = logging.getLogger("hub.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def error_response(request: web.Request, status: int, title: str, description: str) -> web.Response:
    """The JSON error body for ``status``, shaped as TAXII 2.1 error messages are."""
    body = orjson.dumps({"title": title, "description": description, "http_status": str(status)})
    taxii = request.path.startswith("/taxii2")
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
        if exc.status_hint >= 500 and not isinstance(exc, Unauthorized):
            log.warning("%s %s: %s", request.method, request.path, exc.description)
        response = error_response(request, exc.status_hint, exc.title, exc.description)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(request, 413, "Payload too large", exc.text or "the body is over the size limit")
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
    trusted = request.app[TRUSTED_PROXIES]
    return forwarded.client_address(request.remote or "", request.headers.getall("X-Forwarded-For", ()), trusted)


def check_throttle(request: web.Request) -> None:
    """TooManyRequests if the request's client has failed authentication too often lately."""
    wait = request.app[THROTTLE].retry_after(client_address(request), time.monotonic())
    if wait is not None:
        raise TooManyRequests(f"too many failed authentications from your address; retry in {math.ceil(wait)}s", wait)


def note_auth_failure(request: web.Request) -> None:
    request.app[THROTTLE].failed(client_address(request), time.monotonic())


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
        metrics = request.app[METRICS]
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
    if request.path.startswith(("/api/", "/taxii2")):
        response.headers.setdefault("Cache-Control", "no-store")
