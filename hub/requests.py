"""What every handler does with a request: who is asking, which channel, which parameters, what body.

The API, TAXII, admin, crisis, federation and stream handlers all start here,
so that a bad token, an unknown channel or an out-of-range parameter gets the
same error whichever route it reaches.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from hub import keys
from hub.auth import bearer_token, principal_for_token, require_access, session_for_request, uses_session
from hub.config import Channel
from hub.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from hub.policy import Principal
from hub.stix import load_json_object

JSON_BODY = frozenset({"application/json"})


def json_response(data: Any, status: int = 200) -> web.Response:
    """``data`` as a JSON response."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def authenticate(request: web.Request, kind: str = "api") -> Principal:
    """Who asks — the bearer token's stakeholder, or the signed-in person (see :mod:`hub.auth`) — if it may
    use the ``kind`` of interface (api, taxii, …)."""
    if uses_session(request):
        _session, principal = await session_for_request(request, request.app[keys.PEOPLE])
    else:
        principal = await principal_for_token(bearer_token(request), request.app[keys.TOKENS], request.app[keys.PEOPLE])
    require_access(principal, kind)
    return principal


def known_channel(request: web.Request) -> Channel:
    """The configured channel the route's ``{channel}`` names, or NotFound."""
    name = request.match_info["channel"]
    channel = request.app[keys.CONFIG].channel(name)
    if channel is None:
        raise NotFound(f"no channel named {name!r}")
    return channel


async def read_body(request: web.Request, media_types: frozenset[str]) -> bytes:
    """The request body, after checking its media type and size."""
    if request.content_type not in media_types:
        raise UnsupportedMediaType(
            f"send the body as {' or '.join(sorted(media_types))}, not {request.content_type or 'no content type'}"
        )
    limit = request.app[keys.CONFIG].hub.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
    return await request.read()


async def read_json_object(request: web.Request, not_an_object: str) -> dict[str, Any]:
    """The request's JSON object body (``application/json``); BadRequest(``not_an_object``) for other JSON."""
    return load_json_object(await read_body(request, JSON_BODY), not_an_object)


def int_param(request: web.Request, name: str, default: int, maximum: int, minimum: int = 1) -> int:
    """The whole-number query parameter ``name``, between ``minimum`` and ``maximum`` (``default`` if absent)."""
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {text[:20]!r}") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value
