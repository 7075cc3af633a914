"""Sign-in with an institution's identity provider (OpenID Connect): ``GET /auth/oidc/{id}`` and its callback.

1. ``GET /auth/oidc/{id}`` begins a sign-in (authorization code with PKCE,
   state and nonce: :mod:`hub.oidc`), keeps it in the store under its state for
   ten minutes, binds it to this browser with a short-lived cookie
   (``chub_login``: HttpOnly, SameSite=Lax, so that the provider's redirect back
   brings it), and sends the browser to the provider.
2. ``GET /auth/oidc/{id}/callback`` takes the sign-in back from the store —
   once: a replayed callback finds nothing — checks it was begun in this
   browser and at this provider, validates the answer and its ID token, finds
   the person of the provider's stakeholder whose ``email`` (verified) or
   ``subject`` the configured claim names, opens their session and sends the
   browser to the situation room.

Every refusal is a small page that says why in one sentence and links back to
the sign-in; the provider is never told more than it asked.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Final

import aiohttp
from aiohttp import web

from hub import keys
from hub.config import OidcProvider
from hub.errors import ConfigError, HubError, NotFound
from hub.middleware import client_address
from hub.oidc import LoginStart, OidcClient, OidcError, RelyingParty
from hub.people.routes import set_session_cookie, start_session
from hub.webui import CSP

log = logging.getLogger(__name__)

LOGIN_COOKIE: Final = "chub_login"
LOGIN_SECONDS: Final = 600


def add_routes(app: web.Application) -> None:
    app.router.add_get("/auth/oidc/{provider}", begin)
    app.router.add_get("/auth/oidc/{provider}/callback", callback)


def clients(providers: tuple[OidcProvider, ...], environ: dict[str, str] | os._Environ[str]) -> dict[str, OidcClient]:
    """Each configured provider as the relying party speaks to it; ConfigError if a secret's variable is unset."""
    out = {}
    for provider in providers:
        secret = ""
        if provider.client_secret_env is not None:
            secret = environ.get(provider.client_secret_env, "")
            if not secret:
                raise ConfigError(
                    f"sign_in.oidc.{provider.id}.client_secret_env: the environment variable "
                    f"{provider.client_secret_env} is not set"
                )
        out[provider.id] = OidcClient(provider.id, provider.issuer, provider.client_id, secret)
    return out


async def oidc_ctx(app: web.Application) -> AsyncIterator[None]:
    """The relying party and its HTTP client, for a hub with identity providers configured."""
    providers = app[keys.CONFIG].sign_in.oidc
    if not providers:
        yield
        return
    app[keys.OIDC_CLIENTS] = clients(providers, os.environ)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        app[keys.RELYING_PARTY] = RelyingParty(http)
        yield


def _provider(request: web.Request) -> OidcProvider:
    provider = request.app[keys.CONFIG].sign_in.provider(request.match_info["provider"])
    if provider is None or keys.OIDC_CLIENTS not in request.app:
        raise NotFound(f"no identity provider named {request.match_info['provider'][:64]!r} here")
    return provider


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def refusal(status: int, title: str, reason: str) -> web.Response:
    """The page a refused sign-in shows: why, in one sentence, and the way back."""
    text = reason[:1].upper() + reason[1:]
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} — Crisis Hub</title>
<link rel="stylesheet" href="/static/css/app.css"></head>
<body><main class="signin"><div class="signin-card">
<h1>{html.escape(title)}</h1>
<p class="signin-message" role="alert" id="signin-refused">{html.escape(text)}{"" if text.endswith(".") else "."}</p>
<p><a class="btn btn-primary" href="/">Back to the sign-in</a></p>
</div></main></body></html>
"""
    response = web.Response(text=body, status=status, content_type="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


async def begin(request: web.Request) -> web.StreamResponse:
    try:
        provider = _provider(request)
        client = request.app[keys.OIDC_CLIENTS][provider.id]
        redirect_uri = str(request.url.with_path(f"/auth/oidc/{provider.id}/callback").with_query(None))
        start = await request.app[keys.RELYING_PARTY].begin(client, redirect_uri)
    except HubError as exc:
        return refusal(exc.status_hint, exc.title, exc.description)
    binder = secrets.token_urlsafe(32)
    record = {**asdict(start), "binder": _digest(binder)}
    await request.app[keys.PEOPLE].store.save_login(start.state, record)
    response = web.Response(status=302, headers={"Location": start.url})
    response.set_cookie(
        LOGIN_COOKIE, binder, max_age=LOGIN_SECONDS, path="/auth/oidc", httponly=True, secure=request.secure,
        samesite="Lax",
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    try:
        return await _callback(request)
    except HubError as exc:
        request.app[keys.AUDIT].record(
            "sign-in-refused", "-", via=f"oidc:{request.match_info['provider'][:64]}", reason=exc.description,
            address=client_address(request),
        )  # fmt: skip
        status = exc.status_hint if exc.status_hint != 401 else 403  # a refusal page, not a challenge
        response = refusal(status, "Sign-in refused", exc.description)
        response.del_cookie(LOGIN_COOKIE, path="/auth/oidc")
        return response


async def _callback(request: web.Request) -> web.StreamResponse:
    provider = _provider(request)
    people = request.app[keys.PEOPLE]
    record = await people.store.take_login(request.query.get("state", ""))
    if record is None:
        raise OidcError("this sign-in has expired or was already used; start again")
    binder = request.cookies.get(LOGIN_COOKIE, "")
    if not binder or not hmac.compare_digest(_digest(binder), record.pop("binder", "")):
        raise OidcError("this sign-in was begun in another browser; start again from this one")
    start = LoginStart(**record)
    identity = await request.app[keys.RELYING_PARTY].finish(
        request.app[keys.OIDC_CLIENTS][provider.id], start, request.query
    )
    value = identity.claims.get(provider.claim)
    if not isinstance(value, str) or not value:
        raise OidcError(f"the identity provider {provider.label} did not say your {provider.claim}")
    if provider.claim == "email" and identity.claims.get("email_verified") is False:
        raise OidcError(f"{provider.label} has not verified the e-mail {value}")
    person = await people.by_claim(provider.stakeholder, provider.claim, value)
    if person is None:
        stakeholder = request.app[keys.CONFIG].stakeholders[provider.stakeholder].name
        raise OidcError(f"no person of {stakeholder} signs in here as {value}; ask the hub's administrator")
    people.rights(person)  # Unauthorized for a disabled person
    new, _answer = await start_session(request, person, f"oidc:{provider.id}")
    response = web.Response(status=302, headers={"Location": "/"})
    set_session_cookie(request, response, new)
    response.del_cookie(LOGIN_COOKIE, path="/auth/oidc")
    response.headers["Cache-Control"] = "no-store"
    return response
