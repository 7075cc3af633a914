"""Who is calling: bearer tokens checked against the token store and the config."""

from __future__ import annotations

from aiohttp import web

from hub.config import Config
from hub.errors import Forbidden, Unauthorized
from hub.policy import Principal
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
    """Forbidden unless the principal's roles allow this interface (api, stream, taxii)."""
    if kind not in principal.access:
        allowed = ", ".join(sorted(principal.access)) or "none"
        raise Forbidden(f"{principal.id} may not use the {kind} interface (allowed: {allowed})")
