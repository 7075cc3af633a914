"""Who is calling: a machine's bearer token, or a person's web session (a cookie, with its anti-CSRF token).

A session's cookie is HttpOnly and SameSite=Strict; on top of that, every
request made with it that changes something must carry the session's
``X-CSRF-Token``, which only the hub's own page can read (from
``GET /api/v1/session``). A request with an ``Authorization`` header is a
token's, whatever cookies it brings.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import Final

from aiohttp import web

from hub.errors import Forbidden, Unauthorized
from hub.people.service import People
from hub.policy import Principal, may_administer, may_use
from hub.store import TokenRecord, TokenStore
from hub.store.people import WebSession
from hub.tokens import secret_matches, split_token

SESSION_COOKIE: Final = "chub_session"
CSRF_HEADER: Final = "X-CSRF-Token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


async def token_record(token: str, tokens: TokenStore) -> TokenRecord:
    """The record of a presented token; Unauthorized for an unknown, malformed, revoked or expired one."""
    parts = split_token(token)
    if parts is None:
        raise Unauthorized("the token is malformed")
    token_id, secret = parts
    return checked_record(await tokens.get(token_id), secret)


def checked_record(record: TokenRecord | None, secret: str) -> TokenRecord:
    """``record`` if ``secret`` is its token's and it still works; Unauthorized if unknown, revoked or expired."""
    if record is None or not secret_matches(secret, record.digest):
        raise Unauthorized("unknown token")
    if record.revoked is not None:
        raise Unauthorized("this token has been revoked")
    if record.expires is not None and record.expires <= time.time():
        raise Unauthorized("this token has expired; sign the command line in again (crisis-hub login)")
    return record


async def principal_for_token(token: str, tokens: TokenStore, people: People) -> Principal:
    """Who a token acts for: its stakeholder, or — a personal token — its person, with their rights now.

    Unauthorized for an unknown, malformed, revoked or expired token, and for a
    personal token whose person may no longer sign in (disabled, removed).
    """
    record = await token_record(token, tokens)
    if record.person:
        person = await people.get(record.person)
        if person is None:
            raise Unauthorized("this token's person no longer exists")
        return people.rights(person)
    principal = people.config.principals.get(record.stakeholder)
    if principal is None:
        raise Unauthorized(f"the token's stakeholder {record.stakeholder} is not in this hub's configuration")
    return principal


def uses_session(request: web.Request) -> bool:
    """Whether the request is a person's, by their session cookie (and not a token's)."""
    return "Authorization" not in request.headers and SESSION_COOKIE in request.cookies


async def session_for_request(request: web.Request, people: People) -> tuple[WebSession, Principal]:
    """The session of the request's cookie and its person's rights now; Unauthorized if it has ended.

    A request that changes something must also bring the session's anti-CSRF token (Forbidden if not).
    """
    found = await people.session(request.cookies.get(SESSION_COOKIE, ""))
    if found is None:
        raise Unauthorized("your session has ended; sign in again")
    session, _person, principal = found
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), session.csrf.encode()):
            raise Forbidden(f"a request made with a session cookie must bring the session's {CSRF_HEADER} header")
    return session, principal


def bearer_token(request: web.Request) -> str:
    """The bearer token of the request's Authorization header, or Unauthorized."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise Unauthorized("sign in, or send an Authorization: Bearer <token> header")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return value.strip()


def require_access(principal: Principal, kind: str) -> None:
    """Forbidden unless the policy lets the principal use this interface (api, stream, taxii)."""
    decision = may_use(principal, kind)
    if not decision:
        raise Forbidden(decision.reason)


def require_admin(principal: Principal) -> None:
    """Forbidden unless the policy counts the principal as an administrator."""
    decision = may_administer(principal)
    if not decision:
        raise Forbidden(decision.reason)


def basic_credentials(value: str) -> tuple[str, str]:
    """``(user, password)`` of the credentials of an ``Authorization: Basic`` header, or Unauthorized."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are not base64 of 'stakeholder:token'") from None
    user, colon, password = decoded.partition(":")
    if not colon or not user or not password:
        raise Unauthorized("the Basic credentials must be 'stakeholder:token'")
    return user, password


async def principal_for_basic_or_bearer(request: web.Request, tokens: TokenStore, people: People) -> Principal:
    """The caller of a TAXII request: ``Bearer <token>``, or HTTP Basic with the stakeholder id as
    user name and a token as password — a token that must belong to that stakeholder."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise Unauthorized("send HTTP Basic credentials (stakeholder id and token) or an Authorization: Bearer <token>")
    if scheme.lower() == "bearer":
        return await principal_for_token(bearer_token(request), tokens, people)
    if scheme.lower() != "basic":
        raise Unauthorized("the Authorization header must be 'Basic <credentials>' or 'Bearer <token>'")
    user, token = basic_credentials(value)
    principal = await principal_for_token(token, tokens, people)
    if principal.id != user:  # the token is the secret; the stakeholder id is not
        raise Unauthorized(f"that token does not belong to stakeholder {user[:64]!r}")
    return principal
