"""Who is calling: bearer tokens checked against the token store and the config."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from hub.config import Config
from hub.errors import Forbidden, Unauthorized
from hub.policy import Principal, may_administer, may_use
from hub.store import TokenStore
from hub.tokens import secret_matches, split_token


async def principal_for_token(token: str, tokens: TokenStore, config: Config) -> Principal:
    """The stakeholder a token belongs to; Unauthorized for an unknown, malformed or revoked token."""
    parts = split_token(token)
    if parts is None:
        raise Unauthorized("the token is malformed")
    token_id, secret = parts
    record = await tokens.get(token_id)
    if record is None or not secret_matches(secret, record.digest):
        raise Unauthorized("unknown token")
    if record.revoked is not None:
        raise Unauthorized("this token has been revoked")
    principal = config.principals.get(record.stakeholder)
    if principal is None:
        raise Unauthorized(f"the token's stakeholder {record.stakeholder} is not in this hub's configuration")
    return principal


def bearer_token(request: web.Request) -> str:
    """The bearer token of the request's Authorization header, or Unauthorized."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise Unauthorized("send an Authorization: Bearer <token> header")
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


async def principal_for_basic_or_bearer(request: web.Request, tokens: TokenStore, config: Config) -> Principal:
    """The caller of a TAXII request: ``Bearer <token>``, or HTTP Basic with the stakeholder id as
    user name and a token as password — a token that must belong to that stakeholder."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise Unauthorized("send HTTP Basic credentials (stakeholder id and token) or an Authorization: Bearer <token>")
    if scheme.lower() == "bearer":
        return await principal_for_token(bearer_token(request), tokens, config)
    if scheme.lower() != "basic":
        raise Unauthorized("the Authorization header must be 'Basic <credentials>' or 'Bearer <token>'")
    user, token = basic_credentials(value)
    principal = await principal_for_token(token, tokens, config)
    if principal.id != user:  # the token is the secret; the stakeholder id is not
        raise Unauthorized(f"that token does not belong to stakeholder {user[:64]!r}")
    return principal
