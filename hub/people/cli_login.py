"""Signing the command line in as a person: ``crisis-hub login``, approved in the situation room.

The shape of OAuth's device authorization grant (RFC 8628), with one
difference: the command makes its token itself and sends the hub only the
token's id and digest, so the secret never leaves the person's machine, even
on its way back.

1. ``POST /api/v1/cli-login`` ``{"token_id", "digest", "label"}`` (no
   authentication) — the hub keeps the request for ten minutes and answers
   a user code (``BCDF-GHJK``) and the situation room's link to approve it.
2. The person opens the link, signed in: ``GET /api/v1/cli-login/{code}``
   shows what asks (its label, address and time), and
   ``POST /api/v1/cli-login/{code}`` ``{"approve": true}`` makes the token
   theirs — their stakeholder's, with their rights, for ``cli_token_days`` —
   or ``{"approve": false}`` refuses it. A code is used once.
3. Meanwhile the command polls ``GET /api/v1/cli-login`` with its token:
   202 while waiting, 200 once approved (who it acts for), 403 refused, 410
   expired.

``DELETE /api/v1/cli-login`` with a personal token revokes it (``crisis-hub
logout``). A personal token stops working at once when its person is
disabled, as their sessions do.
"""

from __future__ import annotations

import time
from typing import Any, Final

from aiohttp import web

from hub import keys
from hub.auth import bearer_token, checked_record, token_record, uses_session
from hub.errors import BadRequest, Conflict, Forbidden, Gone, NotFound, Unauthorized
from hub.events import iso_millis
from hub.middleware import check_throttle, client_address, note_auth_failure
from hub.people.service import People
from hub.policy import Actor, Principal, may_approve_login, may_end_token
from hub.requests import authenticate, json_response, read_json_object
from hub.store import TokenRecord
from hub.store.tokens import LoginRequest
from hub.tokens import DIGEST, TOKEN_ID, new_user_code, secret_matches, split_token, user_code

REQUEST_SECONDS: Final = 600
"""How long a command line's request waits for its person."""
POLL_SECONDS: Final = 2
LABEL_CHARACTERS: Final = 100


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/cli-login", request_login)
    app.router.add_get("/api/v1/cli-login", poll)
    app.router.add_delete("/api/v1/cli-login", end_token)
    app.router.add_get("/api/v1/cli-login/{code}", show_request)
    app.router.add_post("/api/v1/cli-login/{code}", settle_request)


def _request_json(request: LoginRequest) -> dict[str, Any]:
    return {
        "user_code": request.user_code,
        "label": request.label,
        "address": request.address,
        "requested": iso_millis(int(request.requested * 1000)),
        "expires": iso_millis(int((request.requested + REQUEST_SECONDS) * 1000)),
    }


async def request_login(request: web.Request) -> web.Response:
    """A command line asks to be signed in: keep its request, answer the code its person approves."""
    check_throttle(request)
    body = await read_json_object(request, 'the body must be a JSON object: {"token_id", "digest", "label"}')
    token_id, digest, label = body.get("token_id"), body.get("digest"), body.get("label", "")
    if not isinstance(token_id, str) or not TOKEN_ID.match(token_id):
        raise BadRequest("token_id must be 12 lower-case hexadecimal digits")
    if not isinstance(digest, str) or not DIGEST.match(digest):
        raise BadRequest("digest must be the token secret's SHA-256, 64 lower-case hexadecimal digits")
    if not isinstance(label, str) or len(label) > LABEL_CHARACTERS or not label.isprintable():
        raise BadRequest(f"label must be printable text of at most {LABEL_CHARACTERS} characters")
    tokens = request.app[keys.TOKENS]
    if await tokens.get(token_id) is not None:
        raise Conflict("a token with this id exists already: make another")
    waiting = LoginRequest(new_user_code(), token_id, digest, label, client_address(request), time.time())
    if not await tokens.request_login(waiting, REQUEST_SECONDS):
        raise Conflict("this token id or user code is taken already: make another")
    approve = request.url.with_path("/").with_query(approve=waiting.user_code)
    return json_response(
        {
            "user_code": waiting.user_code,
            "verification_uri": str(request.url.with_path("/").with_query(None)),
            "verification_uri_complete": str(approve),
            "expires_in": REQUEST_SECONDS,
            "interval": POLL_SECONDS,
        },
        status=201,
    )


async def poll(request: web.Request) -> web.Response:
    """The command's question, with the token it made: approved yet?"""
    token = bearer_token(request)
    parts = split_token(token)
    if parts is None:
        raise Unauthorized("the token is malformed")
    tokens = request.app[keys.TOKENS]
    people: People = request.app[keys.PEOPLE]
    found = await tokens.get(parts[0])
    if found is not None:
        record = checked_record(found, parts[1])
        person = await people.get(record.person) if record.person else None
        if person is None:
            raise Forbidden("this token does not act for a person")
        return json_response(
            {
                "status": "approved",
                "person": person.public(people.stakeholder_name(person)),
                "label": people.label(person),
                "expires": iso_millis(int((record.expires or 0) * 1000)),
            }
        )
    waiting = await tokens.login_state(parts[0])
    if waiting is None:
        raise Gone("this sign-in request has expired or was never made; run crisis-hub login again")
    if not secret_matches(parts[1], waiting.digest):
        raise Unauthorized("unknown token")  # counted by the throttle, as every refused credential
    if waiting.refused:
        raise Forbidden("the sign-in was refused in the situation room")
    return json_response({"status": "pending", "user_code": waiting.user_code}, status=202)


async def _approver(request: web.Request) -> tuple[Principal, Actor]:
    """The signed-in person who may approve a command line, or Forbidden."""
    principal = await authenticate(request)
    decision = may_approve_login(principal, uses_session(request))
    if not decision or principal.person is None:
        raise Forbidden(decision.reason)
    return principal, principal.person


def _code(request: web.Request) -> str:
    code = user_code(request.match_info["code"])
    if code is None:
        raise NotFound("no such sign-in request: check the code (eight letters, such as BCDF-GHJK)")
    return code


async def show_request(request: web.Request) -> web.Response:
    """What asks to act as the signed-in person, for them to judge before approving."""
    await _approver(request)
    waiting = await request.app[keys.TOKENS].login_request(_code(request))
    if waiting is None:
        note_auth_failure(request)  # a wrong code counts as a wrong password would: codes are not to be guessed
        raise NotFound("no command line waits with this code: it may have expired (ten minutes) or been answered")
    return json_response(_request_json(waiting))


async def settle_request(request: web.Request) -> web.Response:
    """The signed-in person approves the request (a personal token is made theirs) or refuses it."""
    principal, person = await _approver(request)
    body = await read_json_object(request, 'the body must be a JSON object: {"approve": true} or {"approve": false}')
    approve = body.get("approve")
    if not isinstance(approve, bool):
        raise BadRequest("approve must be true or false")
    tokens = request.app[keys.TOKENS]
    waiting = await tokens.take_login_request(_code(request))
    if waiting is None:
        note_auth_failure(request)  # a wrong code counts as a wrong password would: codes are not to be guessed
        raise NotFound("no command line waits with this code: it may have expired (ten minutes) or been answered")
    audit = request.app[keys.AUDIT]
    if not approve:
        await tokens.settle_login(waiting, refused=True)
        audit.record_for(principal, "cli-login-refuse", token=waiting.token_id, address=client_address(request))
        return json_response({**_request_json(waiting), "approved": False})
    now = time.time()
    days = request.app[keys.CONFIG].sign_in.cli_token_days
    label = f"crisis-hub login: {waiting.label}" if waiting.label else "crisis-hub login"
    expires = now + days * 86400
    record = TokenRecord(waiting.token_id, principal.id, waiting.digest, now, None, label, person.id, expires)
    if not await tokens.add_new(record):
        await tokens.settle_login(waiting, refused=True)
        raise Conflict("a token with this id exists already; run crisis-hub login again")
    await tokens.settle_login(waiting, refused=False)
    audit.record_for(
        principal,
        "cli-login-approve",
        token=waiting.token_id,
        address=client_address(request),
        requested_from=waiting.address,
    )
    return json_response(
        {
            **_request_json(waiting),
            "approved": True,
            "token_id": record.token_id,
            "token_expires": iso_millis(int(expires * 1000)),
        }
    )


async def end_token(request: web.Request) -> web.Response:
    """``crisis-hub logout``: a personal token revokes itself."""
    token = bearer_token(request)
    tokens = request.app[keys.TOKENS]
    record = await token_record(token, tokens)
    principal = await authenticate(request)
    decision = may_end_token(principal, record.person)
    if not decision:
        raise Forbidden(decision.reason)
    await tokens.revoke(record.token_id)
    request.app[keys.AUDIT].record_for(principal, "token-revoke", token=record.token_id)
    return web.Response(status=204)
