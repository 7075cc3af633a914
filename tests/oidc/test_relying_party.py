"""hub.oidc against real OpenID Providers (oidc-provider in node): sign-in end to end, and every refusal."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from hub.errors import Unauthorized
from hub.oidc import Identity, OidcClient, OidcError, ProviderUnavailable, RelyingParty
from tests.oidc.provider import (
    ACCOUNTS,
    HMAC_CLIENT_ID,
    OTHER_CLIENT_ID,
    REDIRECT_URI,
    OpenIdProvider,
    callback_params,
    openid_providers,
    sign_in_at_provider,
)
from tests.timing import QUIET, WAIT

LEEWAY = 60

Providers = dict[str, OpenIdProvider]


@pytest.fixture
async def relying_party(http: aiohttp.ClientSession) -> RelyingParty:
    return RelyingParty(http, leeway=LEEWAY)


async def sign_in(relying_party: RelyingParty, http: aiohttp.ClientSession, client: OidcClient, login: str) -> Identity:
    start = await relying_party.begin(client, REDIRECT_URI)
    back = await sign_in_at_provider(http, start.url, login)
    return await relying_party.finish(client, start, callback_params(back))


async def issue_id_token(
    relying_party: RelyingParty, http: aiohttp.ClientSession, client: OidcClient, login: str
) -> tuple[str, str]:
    """A real ID token the provider issues to ``client`` for ``login``, and its nonce, fetched without validating it.

    The code is exchanged here by hand, as the relying party does, so that a test can hand the raw
    token to ``validate_id_token`` as another client, at another time, or altered.
    """
    start = await relying_party.begin(client, REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, login))
    async with http.get(f"{client.issuer}/.well-known/openid-configuration") as response:
        token_endpoint = (await response.json())["token_endpoint"]
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": start.code_verifier,
    }
    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    async with http.post(token_endpoint, data=form, headers=headers, timeout=aiohttp.ClientTimeout(WAIT)) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["id_token"]), start.nonce


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return _decode(header), _decode(payload), signature


def _decode(segment: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return value


def _encode(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


# The good path


@pytest.mark.parametrize(("institution", "login"), [("central-bank", "alice"), ("energy", "chloe")])
async def test_a_person_signs_in_at_their_institution_and_the_hub_learns_who_they_are(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty, institution: str, login: str
) -> None:
    provider = providers[institution]
    start = await relying_party.begin(provider.client(), REDIRECT_URI)
    assert start.url.startswith(f"{provider.issuer}/auth?")
    assert {"code_challenge_method": "S256", "state": start.state, "nonce": start.nonce}.items() <= callback_params(
        start.url
    ).items()

    back = await sign_in_at_provider(http, start.url, login)
    assert back.startswith(REDIRECT_URI + "?")
    identity = await relying_party.finish(provider.client(), start, callback_params(back))

    account = ACCOUNTS[institution][login]
    assert (identity.issuer, identity.subject) == (provider.issuer, account["sub"])
    assert (identity.claims["email"], identity.claims["name"]) == (account["email"], account["name"])
    assert identity.claims["nonce"] == start.nonce


async def test_a_relying_party_registered_at_the_provider_at_run_time_signs_in(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    redirect_uri = "http://127.0.0.1:9/registered/callback"
    client = await providers["energy"].register_client(http, [redirect_uri])
    start = await relying_party.begin(client, redirect_uri)
    back = await sign_in_at_provider(http, start.url, "chloe")
    assert back.startswith(redirect_uri + "?")
    identity = await relying_party.finish(client, start, callback_params(back))
    assert identity.subject == ACCOUNTS["energy"]["chloe"]["sub"]


# The callback


async def test_a_person_cancelling_at_the_provider_comes_back_as_a_clear_refusal(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    client = providers["central-bank"].client()
    start = await relying_party.begin(client, REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice", cancel=True))
    assert params["error"] == "access_denied"
    with pytest.raises(OidcError, match="^the sign-in was cancelled or refused at the identity provider central-bank$"):
        await relying_party.finish(client, start, params)


async def test_an_error_answer_of_the_provider_is_refused_naming_its_code(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    client = providers["central-bank"].client()
    start = await relying_party.begin(client, REDIRECT_URI)
    # prompt=none with nobody signed in at the provider: it answers login_required at once.
    async with http.get(start.url + "&prompt=none", allow_redirects=False) as response:
        params = callback_params(response.headers["Location"])
    assert params["error"] == "login_required"
    with pytest.raises(OidcError, match=r"^the identity provider central-bank refused the sign-in \(login_required\)$"):
        await relying_party.finish(client, start, params)


async def test_a_callback_with_another_state_is_refused_and_its_code_is_not_spent(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    client = providers["central-bank"].client()
    start = await relying_party.begin(client, REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice"))
    for state in ("", start.state[:-1], start.state + "x", (await relying_party.begin(client, REDIRECT_URI)).state):
        with pytest.raises(OidcError, match="does not belong to this sign-in"):
            await relying_party.finish(client, start, {**params, "state": state})
    without_state = {k: v for k, v in params.items() if k != "state"}
    with pytest.raises(OidcError, match="does not belong to this sign-in"):
        await relying_party.finish(client, start, without_state)
    # Refused before the token endpoint: the code still works for the sign-in it belongs to.
    assert (await relying_party.finish(client, start, params)).subject == ACCOUNTS["central-bank"]["alice"]["sub"]


async def test_a_callback_without_or_with_another_iss_parameter_is_refused_against_mix_ups(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    client = providers["central-bank"].client()
    start = await relying_party.begin(client, REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice"))
    assert params["iss"] == client.issuer  # the provider announces RFC 9207, so its absence is suspect
    for changed in ({"iss": providers["energy"].issuer}, {"iss": client.issuer + "/"}):
        with pytest.raises(OidcError, match="^the answer did not come from the identity provider central-bank"):
            await relying_party.finish(client, start, {**params, **changed})
    with pytest.raises(OidcError, match="did not come from"):
        await relying_party.finish(client, start, {k: v for k, v in params.items() if k != "iss"})


async def test_a_sign_in_begun_at_one_provider_cannot_be_finished_at_another(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    start = await relying_party.begin(providers["central-bank"].client(), REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice"))
    with pytest.raises(OidcError, match="^this sign-in was started at central-bank, not at energy; start again$"):
        await relying_party.finish(providers["energy"].client(), start, params)


async def test_an_authorization_code_is_exchanged_only_once(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    client = providers["central-bank"].client()
    start = await relying_party.begin(client, REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice"))
    await relying_party.finish(client, start, params)
    with pytest.raises(OidcError, match=r"refused the sign-in code \(invalid_grant\); start again$") as raised:
        await relying_party.finish(client, start, params)
    assert params["code"] not in raised.value.description


async def test_the_code_is_exchanged_with_the_pkce_verifier_of_its_sign_in(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    client = providers["central-bank"].client()
    start = await relying_party.begin(client, REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice"))
    other = await relying_party.begin(client, REDIRECT_URI)
    with pytest.raises(OidcError, match=r"\(invalid_grant\)"):
        await relying_party.finish(client, replace(start, code_verifier=other.code_verifier), params)


# The ID token


async def test_an_id_token_with_another_nonce_is_refused(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    client = providers["central-bank"].client()
    start = await relying_party.begin(client, REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice"))
    with pytest.raises(OidcError, match="^the ID token does not belong to this sign-in; start again$"):
        await relying_party.finish(client, replace(start, nonce=start.nonce[:-1] + "x"), params)


async def test_an_id_token_issued_to_another_application_is_refused(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    provider = providers["central-bank"]
    token, nonce = await issue_id_token(relying_party, http, provider.client(OTHER_CLIENT_ID), "alice")
    assert (await relying_party.validate_id_token(provider.client(OTHER_CLIENT_ID), token, nonce)).subject
    with pytest.raises(OidcError, match="^the ID token was issued to another application$"):
        await relying_party.validate_id_token(provider.client(), token, nonce)


async def test_an_expired_id_token_is_refused_once_past_the_leeway(
    providers: Providers, http: aiohttp.ClientSession
) -> None:
    provider = providers["central-bank"]
    now = time.time()
    fetching = RelyingParty(http, leeway=LEEWAY)
    token, nonce = await issue_id_token(fetching, http, provider.client(), "alice")
    exp = segments(token)[1]["exp"]
    assert exp > now

    within = RelyingParty(http, leeway=LEEWAY, clock=lambda: exp + LEEWAY - 1)
    assert (await within.validate_id_token(provider.client(), token, nonce)).claims["exp"] == exp
    past = RelyingParty(http, leeway=LEEWAY, clock=lambda: exp + LEEWAY + 1)
    with pytest.raises(OidcError, match="^the ID token from central-bank has expired"):
        await past.validate_id_token(provider.client(), token, nonce)


async def test_an_id_token_issued_in_the_future_is_refused(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    provider = providers["central-bank"]
    token, nonce = await issue_id_token(relying_party, http, provider.client(), "alice")
    iat = segments(token)[1]["iat"]
    behind = RelyingParty(http, leeway=LEEWAY, clock=lambda: iat - LEEWAY - 5)
    with pytest.raises(OidcError, match="^the ID token from central-bank was issued in the future"):
        await behind.validate_id_token(provider.client(), token, nonce)


async def test_a_tampered_id_token_is_refused(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    provider = providers["central-bank"]
    token, nonce = await issue_id_token(relying_party, http, provider.client(), "alice")
    header, claims, signature = segments(token)
    bruno = ACCOUNTS["central-bank"]["bruno"]
    forged = ".".join([_encode(header), _encode({**claims, "sub": bruno["sub"], "email": bruno["email"]}), signature])
    with pytest.raises(OidcError, match="^the ID token from central-bank is not validly signed$"):
        await relying_party.validate_id_token(provider.client(), forged, nonce)
    for broken in ("", "not-a-token", token.rsplit(".", 1)[0], token + ".x"):
        with pytest.raises(OidcError, match="is not validly signed"):
            await relying_party.validate_id_token(provider.client(), broken, nonce)


async def test_an_unsigned_id_token_is_refused(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    provider = providers["central-bank"]
    token, nonce = await issue_id_token(relying_party, http, provider.client(), "alice")
    header, claims, _ = segments(token)
    unsigned = ".".join([_encode({**header, "alg": "none"}), _encode(claims), ""])
    with pytest.raises(OidcError, match="is not validly signed"):
        await relying_party.validate_id_token(provider.client(), unsigned, nonce)


async def test_an_hmac_signed_id_token_is_refused_though_the_provider_offers_hmac(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    provider = providers["central-bank"]
    async with http.get(f"{provider.issuer}/.well-known/openid-configuration") as response:
        assert "HS256" in (await response.json())["id_token_signing_alg_values_supported"]
    client = provider.client(HMAC_CLIENT_ID)
    token, nonce = await issue_id_token(relying_party, http, client, "alice")
    assert segments(token)[0]["alg"] == "HS256"  # keyed by the client secret: no proof the provider signed
    with pytest.raises(OidcError, match="is not validly signed"):
        await relying_party.validate_id_token(client, token, nonce)


async def test_an_id_token_of_another_provider_is_refused(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    token, nonce = await issue_id_token(relying_party, http, providers["central-bank"].client(), "alice")
    with pytest.raises(OidcError, match="^the ID token from energy is signed with a key it does not publish$"):
        await relying_party.validate_id_token(providers["energy"].client(), token, nonce)


async def test_an_id_token_of_another_issuer_is_refused_even_when_both_sign_with_one_key(
    http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    async with openid_providers(shared_signing_key=True) as shared:
        token, nonce = await issue_id_token(relying_party, http, shared["central-bank"].client(), "alice")
        energy = shared["energy"].client()
        with pytest.raises(OidcError, match="^the ID token was not issued by the identity provider energy$"):
            await relying_party.validate_id_token(energy, token, nonce)


# Discovery and keys


async def test_a_provider_naming_another_issuer_than_the_configured_one_is_refused(
    providers: Providers, relying_party: RelyingParty
) -> None:
    # The discovery document is found at the same URL, but names the issuer without the slash.
    client = replace(providers["central-bank"].client(), issuer=providers["central-bank"].issuer + "/")
    with pytest.raises(OidcError, match="^the identity provider central-bank names another issuer than the one"):
        await relying_party.begin(client, REDIRECT_URI)


@pytest.fixture
async def traced() -> AsyncIterator[tuple[aiohttp.ClientSession, list[str]]]:
    """A session that records the URL of every request it sends, cookies kept as a browser does."""
    requested: list[str] = []

    async def record(session: Any, context: Any, params: aiohttp.TraceRequestStartParams) -> None:
        requested.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(record)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), trace_configs=[trace]) as session:
        yield session, requested


async def test_discovery_and_keys_are_cached_and_a_key_rotation_is_followed_by_fetching_the_keys_again(
    providers: Providers, traced: tuple[aiohttp.ClientSession, list[str]]
) -> None:
    http, requested = traced
    provider = providers["central-bank"]
    relying_party = RelyingParty(http, leeway=LEEWAY)
    discovery = f"{provider.issuer}/.well-known/openid-configuration"
    jwks = f"{provider.issuer}/jwks"

    first = await sign_in(relying_party, http, provider.client(), "alice")
    await sign_in(relying_party, http, provider.client(), "bruno")
    assert (requested.count(discovery), requested.count(jwks)) == (1, 1)

    kid = await provider.rotate_key(http)
    after = await sign_in(relying_party, http, provider.client(), "alice")
    assert after.subject == first.subject
    assert (requested.count(discovery), requested.count(jwks)) == (1, 2)

    token, nonce = await issue_id_token(relying_party, http, provider.client(), "alice")
    assert segments(token)[0]["kid"] == kid
    await relying_party.validate_id_token(provider.client(), token, nonce)
    assert requested.count(jwks) == 2  # the new key is now cached


# An unavailable provider


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused, and nobody else can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def test_an_unreachable_provider_is_a_clear_error(http: aiohttp.ClientSession, closed_port: int) -> None:
    relying_party = RelyingParty(http)
    client = OidcClient("central-bank", f"http://127.0.0.1:{closed_port}/central-bank", "crisis-hub", "secret")
    with pytest.raises(
        ProviderUnavailable, match="^the identity provider central-bank could not be reached$"
    ) as raised:
        await relying_party.begin(client, REDIRECT_URI)
    assert isinstance(raised.value, OidcError) and isinstance(raised.value, Unauthorized)
    assert raised.value.status_hint == 502


async def test_a_provider_that_never_answers_is_given_up_on_after_the_timeout(
    http: aiohttp.ClientSession, silent_port: int
) -> None:
    relying_party = RelyingParty(http, timeout=QUIET)
    client = OidcClient("energy", f"http://127.0.0.1:{silent_port}/energy", "crisis-hub", "secret")
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="^the identity provider energy could not be reached$"):
        await relying_party.begin(client, REDIRECT_URI)
    assert time.monotonic() - started < WAIT


async def test_a_provider_stopping_between_redirect_and_callback_is_a_clear_error(
    providers: Providers, http: aiohttp.ClientSession, relying_party: RelyingParty
) -> None:
    provider = providers["central-bank"]
    start = await relying_party.begin(provider.client(), REDIRECT_URI)
    params = callback_params(await sign_in_at_provider(http, start.url, "alice"))
    provider.process.terminate()
    await provider.process.wait()
    with pytest.raises(ProviderUnavailable, match="^the identity provider central-bank could not be reached$"):
        await relying_party.finish(provider.client(), start, params)


async def test_an_http_issuer_elsewhere_is_refused_before_any_request(http: aiohttp.ClientSession) -> None:
    relying_party = RelyingParty(http)
    client = OidcClient("central-bank", "http://idp.central-bank.example", "crisis-hub", "secret")
    with pytest.raises(OidcError, match="^the identity provider central-bank is not configured with an https issuer$"):
        await relying_party.begin(client, REDIRECT_URI)
