"""Signing people in at their institution's identity provider: the hub as an OpenID Connect relying party.

How this works (the authorization code flow, with PKCE S256, state and nonce):

1. ``begin`` reads the provider's discovery document (``<issuer>/.well-known/openid-configuration``,
   cached, its ``issuer`` equal to the configured one), draws a fresh ``state``, ``nonce`` and PKCE
   verifier, and returns them with the URL to send the browser to. The caller keeps that
   ``LoginStart`` server-side and consumes it once, which is what prevents replays.
2. The provider sends the browser back with ``code`` and ``state`` (or ``error``). ``finish`` checks
   the state in constant time (and the ``iss`` parameter of RFC 9207 where the provider sends one,
   against mix-ups between providers), exchanges the code with the PKCE verifier, authenticating with
   ``client_secret_basic``, and validates the ID token it gets back.
3. ``validate_id_token`` checks the signature with joserfc against the provider's JWKS (cached; a
   ``kid`` it does not hold makes it fetch the set again once, which is how a key rotation is
   followed), with only the asymmetric algorithms the provider announces: never ``none``, never an
   HMAC keyed by the client secret. Then the claims: ``iss`` equal, ``aud`` holding the client id
   (``azp`` equal to it when present), ``exp`` ahead and ``iat`` not ahead (both with the leeway),
   ``nonce`` equal.

Every failure is an ``OidcError`` whose description is one sentence a sign-in page can show: it
never holds a token, a secret or a traceback; the details go to the log. A provider that cannot be
reached or answers nonsense is a ``ProviderUnavailable``. Every HTTP call is bounded by a timeout,
and the module holds no state but the caches of the ``RelyingParty`` the caller creates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from joserfc import jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from hub.errors import Unauthorized

log = logging.getLogger(__name__)

# ID tokens are accepted signed with these alone, and only those of them the provider announces. HMAC
# ("HS256"…) is left out on purpose: its key is the client secret, which is no proof the provider signed.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})  # a JWKS's "oct" keys are never used to verify
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_MAX_DOCUMENT = 1 << 20  # a discovery document, JWKS or token answer is a few kilobytes
_ERROR_CODE = re.compile(r"[a-z0-9_.-]{1,64}")  # an OAuth error code, safe to show as it is


class OidcError(Unauthorized, title="Sign-in failed"):
    """The sign-in at an identity provider failed; the description says why in one sentence."""


class ProviderUnavailable(OidcError, status_hint=502, title="Identity provider unavailable"):
    """The identity provider could not be reached, or answered something unusable: retrying later may help."""


@dataclass(frozen=True, slots=True)
class OidcClient:
    """One institution's identity provider, as the hub is registered there."""

    name: str
    """The configuration's name for it, e.g. ``central-bank``: what messages and logs call it."""
    issuer: str
    """The exact issuer URL: the discovery document and every ID token must name this very string."""
    client_id: str
    client_secret: str
    """Sent with ``client_secret_basic`` at the token endpoint."""
    scopes: tuple[str, ...] = ("openid", "email", "profile")


@dataclass(frozen=True, slots=True)
class LoginStart:
    """What the hub keeps server-side between the redirect to the provider and its callback, and uses once."""

    url: str
    """The authorization URL to send the browser to."""
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    provider: str
    """The ``OidcClient.name`` it was begun with: ``finish`` refuses it with another."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who signed in: the validated ID token's issuer, subject and claims (read-only)."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Discovery:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]  # what ID tokens may be signed with: announced and asymmetric
    iss_parameter: bool  # the provider adds "iss" to its answers (RFC 9207), so one without it is refused
    expires: float  # on the monotonic clock


class RelyingParty:
    """The hub's side of OpenID Connect sign-in, for any number of configured identity providers.

    ``http`` is the application's client session; ``clock`` is the time ID tokens are judged at,
    ``leeway`` the clock skew allowed (seconds), ``cache_seconds`` how long discovery documents and
    key sets are kept, ``timeout`` the bound of each HTTP call to a provider.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        clock: Callable[[], float] = time.time,
        leeway: float = 60,
        cache_seconds: float = 3600,
        timeout: float = 10,
    ) -> None:
        self._http = http
        self._clock = clock
        self._leeway = leeway
        self._cache_seconds = cache_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._discovery: dict[str, _Discovery] = {}  # by issuer
        self._keys: dict[str, tuple[KeySet, float]] = {}  # by JWKS URI: the set and when it expires

    async def begin(self, client: OidcClient, redirect_uri: str) -> LoginStart:
        """Start a sign-in at ``client``'s provider, which will send the browser back to ``redirect_uri``."""
        discovery = await self._discover(client)
        verifier = secrets.token_urlsafe(48)  # 64 characters, within PKCE's 43 to 128
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(client.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge.decode("ascii"),
                "code_challenge_method": "S256",
            }
        )
        endpoint = discovery.authorization_endpoint
        url = f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
        return LoginStart(url, state, nonce, verifier, redirect_uri, client.name)

    async def finish(self, client: OidcClient, start: LoginStart, params: Mapping[str, str]) -> Identity:
        """Who signed in, from the provider's callback query ``params`` for the sign-in ``start``."""
        if start.provider != client.name:
            raise OidcError(f"this sign-in was started at {start.provider}, not at {client.name}; start again")
        if not hmac.compare_digest(params.get("state", "").encode(), start.state.encode()):
            raise OidcError("the answer from the identity provider does not belong to this sign-in; start again")
        discovery = await self._discover(client)
        iss = params.get("iss")
        if (iss is None and discovery.iss_parameter) or (iss is not None and iss != client.issuer):
            log.warning("oidc %s: callback iss %r, expected %r", client.name, iss, client.issuer)
            raise OidcError(f"the answer did not come from the identity provider {client.name}; start again")
        error = params.get("error")
        if error is not None:
            log.info("oidc %s: the provider answered %r: %r", client.name, error, params.get("error_description"))
            if error == "access_denied":
                raise OidcError(f"the sign-in was cancelled or refused at the identity provider {client.name}")
            raise OidcError(f"the identity provider {client.name} refused the sign-in ({_shown(error)})")
        code = params.get("code")
        if not code:
            raise OidcError(f"the identity provider {client.name} sent no authorization code; start again")
        id_token = await self._exchange(client, discovery, code, start)
        return await self.validate_id_token(client, id_token, start.nonce)

    async def validate_id_token(self, client: OidcClient, id_token: str, nonce: str) -> Identity:
        """The identity in ``id_token`` once its signature and claims hold for ``client`` and ``nonce``."""
        discovery = await self._discover(client)
        if not discovery.algorithms:
            raise ProviderUnavailable(f"the identity provider {client.name} offers no signing algorithm the hub trusts")
        keys = await self._key_set(client, discovery.jwks_uri, refresh=False)
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=discovery.algorithms)
            except InvalidKeyIdError:
                # A key the cached set does not hold: the provider may have rotated its keys. Fetched
                # again once per token, so a token naming a key that does not exist costs one request.
                keys = await self._key_set(client, discovery.jwks_uri, refresh=True)
                token = jwt.decode(id_token, keys, algorithms=discovery.algorithms)
        except InvalidKeyIdError as exc:
            raise OidcError(f"the ID token from {client.name} is signed with a key it does not publish") from exc
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            # joserfc's own errors, and the ValueError/KeyError of a token that is not even well formed.
            log.info("oidc %s: ID token refused: %s", client.name, type(exc).__name__)
            raise OidcError(f"the ID token from {client.name} is not validly signed") from exc
        claims = token.claims
        several_audiences = isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=int(self._leeway),
            iss={"essential": True, "value": client.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": client.client_id},
            azp={"essential": several_audiences, "value": client.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except ClaimError as exc:
            log.info("oidc %s: ID token claims refused: %s", client.name, exc)
            raise OidcError(_claim_problem(client.name, exc)) from exc
        return Identity(claims["iss"], claims["sub"], MappingProxyType(dict(claims)))

    async def _discover(self, client: OidcClient) -> _Discovery:
        cached = self._discovery.get(client.issuer)
        if cached is not None and cached.expires > time.monotonic():
            return cached
        if not _secure(client.issuer):
            raise OidcError(f"the identity provider {client.name} is not configured with an https issuer")
        # OpenID Connect Discovery 1.0, section 4: a terminating "/" of the issuer is removed before appending.
        document = await self._get_json(client, client.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if document.get("issuer") != client.issuer:
            log.warning(
                "oidc %s: discovery names issuer %r, configured %r", client.name, document.get("issuer"), client.issuer
            )
            raise OidcError(f"the identity provider {client.name} names another issuer than the one configured")
        endpoints = [document.get(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
        if not all(isinstance(url, str) and _secure(url) for url in endpoints):
            log.warning("oidc %s: discovery endpoints missing or not https: %r", client.name, endpoints)
            raise ProviderUnavailable(f"the identity provider {client.name} announces no usable endpoints")
        pkce = document.get("code_challenge_methods_supported")
        if isinstance(pkce, list) and "S256" not in pkce:
            raise ProviderUnavailable(f"the identity provider {client.name} does not support PKCE with S256")
        # RS256 is the default the specification gives when a provider does not say.
        announced = document.get("id_token_signing_alg_values_supported", ["RS256"])
        algorithms = tuple(a for a in announced if a in ASYMMETRIC_ALGORITHMS) if isinstance(announced, list) else ()
        authorize, token, jwks = (str(url) for url in endpoints)
        discovery = _Discovery(
            authorize,
            token,
            jwks,
            algorithms,
            document.get("authorization_response_iss_parameter_supported") is True,
            time.monotonic() + self._cache_seconds,
        )
        self._discovery[client.issuer] = discovery
        return discovery

    async def _key_set(self, client: OidcClient, jwks_uri: str, *, refresh: bool) -> KeySet:
        cached = self._keys.get(jwks_uri)
        if cached is not None and not refresh and cached[1] > time.monotonic():
            return cached[0]
        document = await self._get_json(client, jwks_uri)
        published = document.get("keys")
        usable = [
            key
            for key in (published if isinstance(published, list) else [])
            if isinstance(key, dict) and key.get("kty") in _KEY_TYPES and key.get("use", "sig") == "sig"
        ]
        try:
            keys = KeySet.import_key_set({"keys": usable})
        except (JoseError, ValueError, TypeError) as exc:
            log.warning("oidc %s: unusable JWKS at %s: %s", client.name, jwks_uri, exc)
            raise ProviderUnavailable(f"the identity provider {client.name} publishes no usable signing key") from exc
        self._keys[jwks_uri] = (keys, time.monotonic() + self._cache_seconds)
        return keys

    async def _exchange(self, client: OidcClient, discovery: _Discovery, code: str, start: LoginStart) -> str:
        """The ID token the token endpoint gives for ``code``."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": start.redirect_uri,
            "code_verifier": start.code_verifier,
        }
        # RFC 6749, section 2.3.1: the client id and secret are form-encoded before they are put in Basic.
        credentials = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
        authorization = "Basic " + base64.b64encode(credentials.encode("ascii")).decode("ascii")
        try:
            async with self._http.post(
                discovery.token_endpoint,
                data=form,
                headers={"Accept": "application/json", "Authorization": authorization},
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                answer = await _read_json(response) if status in (200, 400, 401) else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("oidc %s: token endpoint unreachable: %s", client.name, _describe(exc))
            raise ProviderUnavailable(f"the identity provider {client.name} could not be reached") from exc
        if answer is None:
            log.warning("oidc %s: token endpoint answered HTTP %d", client.name, status)
            raise ProviderUnavailable(f"the identity provider {client.name} gave an unusable answer")
        if status != 200:
            error = answer.get("error")
            log.info("oidc %s: token endpoint refused: %r: %r", client.name, error, answer.get("error_description"))
            shown = _shown(error) if isinstance(error, str) else f"HTTP {status}"
            raise OidcError(f"the identity provider {client.name} refused the sign-in code ({shown}); start again")
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderUnavailable(f"the identity provider {client.name} gave no ID token")
        return id_token

    async def _get_json(self, client: OidcClient, url: str) -> dict[str, Any]:
        try:
            async with self._http.get(url, headers={"Accept": "application/json"}, timeout=self._timeout) as response:
                status = response.status
                document = await _read_json(response) if status == 200 else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("oidc %s: %s unreachable: %s", client.name, url, _describe(exc))
            raise ProviderUnavailable(f"the identity provider {client.name} could not be reached") from exc
        if document is None:
            log.warning("oidc %s: %s answered HTTP %d or no JSON object", client.name, url, status)
            raise ProviderUnavailable(f"the identity provider {client.name} gave an unusable answer")
        return document


async def _read_json(response: aiohttp.ClientResponse) -> dict[str, Any] | None:
    """The answer's JSON object, or None for one too big, not JSON or not an object."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > _MAX_DOCUMENT:
            return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _secure(url: str) -> bool:
    """https, or http to this very machine (a provider beside the hub, or in tests): secrets never travel in clear."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


def _shown(error: str) -> str:
    """An OAuth error code as it may appear on a page: as it is when it looks like one, else not at all."""
    return error if _ERROR_CODE.fullmatch(error) else "an unknown error"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _claim_problem(provider: str, exc: ClaimError) -> str:
    """The sentence a sign-in page shows for an ID token whose claim ``exc.claim`` does not hold."""
    if isinstance(exc, ExpiredTokenError):
        return f"the ID token from {provider} has expired; start again (or check this server's clock)"
    if isinstance(exc, MissingClaimError):
        return f"the ID token from {provider} lacks required claims ({exc.claim})"
    return {
        "iss": f"the ID token was not issued by the identity provider {provider}",
        "aud": "the ID token was issued to another application",
        "azp": "the ID token was issued to another application",
        "nonce": "the ID token does not belong to this sign-in; start again",
        "iat": f"the ID token from {provider} was issued in the future (check the clocks)",
    }.get(exc.claim, f"the ID token from {provider} has an invalid {exc.claim} claim")
