"""People sign in with their institution's identity provider: a real OpenID Provider (oidc-provider, run by
node) per institution, a real hub on a real port, a browser-like HTTP client between them."""

from __future__ import annotations

import importlib.resources
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.config import Config, parse_config
from hub.store import TokenStore, connect
from hub.tokens import new_token
from tests.cli.test_cli import free_port
from tests.oidc.provider import OpenIdProvider, openid_providers, sign_in_at_provider

pytestmark = pytest.mark.asyncio

# The two institutions' providers map to the central bank and the electricity company. Bruno has an account
# at the central bank's provider but is a person of the electricity company here: that provider may not
# sign him in (an issuer signs in only its own stakeholder's people).
PEOPLE = """
[people.alice]
stakeholder = "banxico"
name = "Alicia Gómez"
email = "Alice@Central-Bank.example"

[people.bruno]
stakeholder = "cfe"
name = "Bruno Díaz"
email = "bruno@central-bank.example"

[people.chloe]
stakeholder = "cfe"
name = "Chloé Martin"
subject = "en-5e1b88"
"""


@dataclass
class SignInHub:
    url: str
    providers: dict[str, OpenIdProvider]
    config: Config
    committee_token: str
    """A token of the committee (cidge), stored as the CLI stores it."""


def providers_config(providers: dict[str, OpenIdProvider], clients: dict[str, Any]) -> str:
    stakeholder = {"central-bank": "banxico", "energy": "cfe"}
    claim = {"central-bank": "email", "energy": "sub"}
    return "".join(
        f'\n[sign_in.oidc.{name}]\nissuer = "{provider.issuer}"\nclient_id = "{clients[name].client_id}"\n'
        f'client_secret_env = "TEST_OIDC_SECRET_{name.upper().replace("-", "_")}"\n'
        f'stakeholder = "{stakeholder[name]}"\nclaim = "{claim[name]}"\n'
        for name, provider in providers.items()
    )


@pytest.fixture
async def signin_hub(
    redis_url: str, namespace: str, redis_cluster: bool, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SignInHub]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with openid_providers() as providers, aiohttp.ClientSession() as http:
        clients = {
            name: await provider.register_client(http, [f"{base}/auth/oidc/{name}/callback"])
            for name, provider in providers.items()
        }
        for name, client in clients.items():
            monkeypatch.setenv(f"TEST_OIDC_SECRET_{name.upper().replace('-', '_')}", client.client_secret)
        demo = importlib.resources.files("hub").joinpath("demo.toml").read_text("utf-8")
        config = parse_config(demo + PEOPLE + providers_config(providers, clients), "test.toml")
        app = create_app(config, redis_url, namespace=namespace, cluster=redis_cluster)
        server = TestClient(TestServer(app, host="127.0.0.1", port=port))
        await server.start_server()
        token = new_token()
        store = connect(redis_url, cluster=redis_cluster)
        try:
            await TokenStore(store, namespace).add("cidge", token)
        finally:
            await store.aclose()
        try:
            yield SignInHub(base, providers, config, token.text)
        finally:
            await server.close()


@dataclass
class Answer:
    status: int
    back: str
    """The provider's redirect to the hub's callback."""
    headers: Any
    cookies: Any
    text: str


async def sign_in(hub: SignInHub, browser: aiohttp.ClientSession, provider: str, login: str) -> Answer:
    """Click the provider's button, sign in there, follow it back: the hub's answer to the callback."""
    async with browser.get(f"{hub.url}/auth/oidc/{provider}", allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        at_provider = response.headers["Location"]
    back = await sign_in_at_provider(browser, at_provider, login)
    assert back.startswith(f"{hub.url}/auth/oidc/{provider}/callback?")
    async with browser.get(back, allow_redirects=False) as response:
        return Answer(response.status, back, response.headers, response.cookies, await response.text())


def new_browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1, like a browser


async def me(hub: SignInHub, browser: aiohttp.ClientSession) -> tuple[int, Any]:
    async with browser.get(f"{hub.url}/api/v1/me") as response:
        return response.status, await response.json()


async def test_a_person_signs_in_with_their_institutions_provider_and_acts_as_themselves(
    signin_hub: SignInHub,
) -> None:
    async with new_browser() as browser:
        answer = await sign_in(signin_hub, browser, "central-bank", "alice")
        assert answer.status == 302 and answer.headers["Location"] == "/"
        assert "chub_session" in answer.cookies and answer.cookies["chub_session"]["httponly"]
        status, who = await me(signin_hub, browser)
    assert status == 200 and who["stakeholder"] == "banxico"
    assert who["person"] == {"id": "alice", "name": "Alicia Gómez"}


async def test_a_provider_may_map_people_by_their_subject(signin_hub: SignInHub) -> None:
    async with new_browser() as browser:
        assert (await sign_in(signin_hub, browser, "energy", "chloe")).status == 302
        status, who = await me(signin_hub, browser)
    assert who["stakeholder"] == "cfe" and who["person"]["id"] == "chloe"


async def test_a_replayed_callback_is_refused(signin_hub: SignInHub) -> None:
    async with new_browser() as browser:
        answer = await sign_in(signin_hub, browser, "central-bank", "alice")
        assert answer.status == 302
        async with browser.get(answer.back, allow_redirects=False) as response:
            assert response.status == 403
            assert "expired or was already used" in await response.text()


async def test_a_callback_carried_to_another_browser_is_refused(signin_hub: SignInHub) -> None:
    async with new_browser() as browser:
        async with browser.get(f"{signin_hub.url}/auth/oidc/central-bank", allow_redirects=False) as response:
            at_provider = response.headers["Location"]
        back = await sign_in_at_provider(browser, at_provider, "alice")
    async with new_browser() as other:
        async with other.get(back, allow_redirects=False) as response:
            assert response.status == 403
            assert "begun in another browser" in await response.text()
        assert (await me(signin_hub, other))[0] == 401


async def test_a_provider_signs_in_only_its_own_stakeholders_people(signin_hub: SignInHub) -> None:
    """Bruno is the electricity company's; the central bank's provider vouching for him signs no one in."""
    async with new_browser() as browser:
        answer = await sign_in(signin_hub, browser, "central-bank", "bruno")
        assert answer.status == 403
        assert "No person of Central Bank signs in here as bruno@central-bank.example" in answer.text
        assert (await me(signin_hub, browser))[0] == 401


async def test_an_unknown_provider_is_a_page_that_says_so(signin_hub: SignInHub) -> None:
    async with new_browser() as browser:
        async with browser.get(f"{signin_hub.url}/auth/oidc/nowhere") as response:
            assert response.status == 404
            assert "No identity provider named &#x27;nowhere&#x27; here." in await response.text()
            assert response.headers["Content-Type"].startswith("text/html")


async def test_the_sign_in_options_list_the_providers(signin_hub: SignInHub) -> None:
    async with new_browser() as browser:
        async with browser.get(f"{signin_hub.url}/api/v1/sign-in") as response:
            options = await response.json()
    assert [(p["id"], p["label"], p["url"]) for p in options["providers"]] == [
        ("central-bank", "Central Bank", "/auth/oidc/central-bank"),
        ("energy", "Federal Electricity Commission", "/auth/oidc/energy"),
    ]
