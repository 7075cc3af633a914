"""Real OpenID Providers for the tests: oidc-provider (a certified implementation) run by node, and sign-in at them.

``openid_providers()`` starts one provider per institution ("central-bank" and "energy") as node
subprocesses on free loopback ports, each with its accounts (``ACCOUNTS``) and three registered
clients: the hub (``HUB_CLIENT_ID``), another application (``OTHER_CLIENT_ID``, for tokens issued
to someone else) and one whose ID tokens the provider signs with HMAC (``HMAC_CLIENT_ID``). It
stops them by their pid when the block ends::

    async with openid_providers() as providers, aiohttp.ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        client = providers["central-bank"].client()          # the hub as registered there: an OidcClient
        start = await relying_party.begin(client, REDIRECT_URI)
        back = await sign_in_at_provider(http, start.url, "alice")
        identity = await relying_party.finish(client, start, callback_params(back))

``sign_in_at_provider`` does what a person does in a browser, over plain HTTP: it follows the
provider's redirects, fills in the login form, confirms the consent form, and returns the URL the
provider finally redirects to (the relying party's callback, with ``code`` and ``state``) without
fetching it. Browser tests can click through the same pages: a "Login" text field and a "Sign in"
button, then a "Continue" button (or "Cancel" on either page).

A relying party whose redirect URI is only known once it listens (a hub on port 0) registers itself
with ``OpenIdProvider.register_client``, the providers' real dynamic client registration.

Without node or ``tests/oidc/node_modules`` the tests that need a provider are skipped, which fails
the run where ``CRISIS_HUB_TESTS_STRICT`` is set (tests/conftest.py). The provider is installed with
``(cd tests/oidc && npm ci --no-audit --no-fund)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp
import pytest
from joserfc.jwk import RSAKey

from hub.oidc import OidcClient
from tests.timing import LONG_WAIT, STARTUP, WAIT

HERE = Path(__file__).parent
SCRIPT = HERE / "provider.mjs"
INSTALL = "(cd tests/oidc && npm ci --no-audit --no-fund)"

INSTITUTIONS = ("central-bank", "energy")
HUB_CLIENT_ID = "crisis-hub"
OTHER_CLIENT_ID = "other-app"
HMAC_CLIENT_ID = "hmac-app"
REDIRECT_URI = "http://127.0.0.1:9/oidc/callback"
"""Registered for every client; nothing listens there, and ``sign_in_at_provider`` stops before fetching it."""

ACCOUNTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "central-bank": {
        "alice": {"sub": "cb-7f3a21", "email": "alice@central-bank.example", "email_verified": True, "name": "Alice"},
        "bruno": {"sub": "cb-0c95d4", "email": "bruno@central-bank.example", "email_verified": True, "name": "Bruno"},
    },
    "energy": {
        "chloe": {"sub": "en-5e1b88", "email": "chloe@energy.example", "email_verified": True, "name": "Chloe"},
    },
}
"""Each institution's people: login → the claims of their ID tokens (``sub`` is not the login, on purpose)."""

_MAX_STEPS = 12  # redirects and forms of one sign-in: a loop past this is a provider gone wrong


def unavailable_reason() -> str | None:
    """Why the providers cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return f"node (Node.js 20.19 or later) is not installed: install it, then run {INSTALL}"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return f"the test OpenID Provider is not installed: run {INSTALL}"
    return None


@dataclass(frozen=True)
class OpenIdProvider:
    """One running provider: an institution's identity provider as the hub sees it."""

    name: str
    issuer: str
    port: int
    accounts: Mapping[str, Mapping[str, Any]]
    client_secrets: Mapping[str, str]
    """Each registered client's secret, by client id."""
    process: asyncio.subprocess.Process

    def client(self, client_id: str = HUB_CLIENT_ID) -> OidcClient:
        """The configuration of a relying party registered here as ``client_id`` (by default the hub)."""
        return OidcClient(self.name, self.issuer, client_id, self.client_secrets[client_id])

    async def rotate_key(self, http: aiohttp.ClientSession) -> str:
        """Sign from now on with a new key, still publishing the old one; the new key's ``kid``."""
        async with http.post(f"{self.issuer}/test-admin/rotate-key", timeout=aiohttp.ClientTimeout(WAIT)) as response:
            response.raise_for_status()
            answer = await response.json()
        return str(answer["kid"])

    async def register_client(self, http: aiohttp.ClientSession, redirect_uris: Sequence[str]) -> OidcClient:
        """A new client registered by the provider's dynamic client registration (RFC 7591)."""
        metadata = {
            "redirect_uris": list(redirect_uris),
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
        async with http.post(f"{self.issuer}/reg", json=metadata, timeout=aiohttp.ClientTimeout(WAIT)) as response:
            response.raise_for_status()
            answer = await response.json()
        return OidcClient(self.name, self.issuer, answer["client_id"], answer["client_secret"])


def callback_params(url: str) -> dict[str, str]:
    """The query of the provider's redirect back to the relying party, as ``RelyingParty.finish`` takes it."""
    return dict(parse_qsl(urlsplit(url).query))


@contextlib.asynccontextmanager
async def openid_providers(
    redirect_uris: Sequence[str] = (REDIRECT_URI,), *, shared_signing_key: bool = False
) -> AsyncIterator[dict[str, OpenIdProvider]]:
    """One running provider per institution of ``INSTITUTIONS``, by name; stopped when the block ends.

    Skips the test when node or the provider is not installed. ``redirect_uris`` are registered for
    every client. With ``shared_signing_key`` both sign with one key, as the tenants of one
    multi-tenant provider do: then only the ``iss`` claim tells their tokens apart.
    """
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    keys = [_new_signing_key()] if shared_signing_key else None
    async with contextlib.AsyncExitStack() as stack:
        starting = [await stack.enter_async_context(_launch(name, redirect_uris, keys)) for name in INSTITUTIONS]
        running = await asyncio.gather(*(ready() for ready in starting))
        yield {provider.name: provider for provider in running}


@contextlib.asynccontextmanager
async def _launch(
    name: str, redirect_uris: Sequence[str], keys: list[dict[str, Any]] | None
) -> AsyncIterator[Callable[[], Awaitable[OpenIdProvider]]]:
    """Start the node process; yield a coroutine function that waits for it to listen. Stop it by its pid at the end."""
    client_secrets = {
        client_id: secrets.token_urlsafe(32) for client_id in (HUB_CLIENT_ID, OTHER_CLIENT_ID, HMAC_CLIENT_ID)
    }
    clients = [
        {
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": list(redirect_uris),
            **({"id_token_signed_response_alg": "HS256"} if client_id == HMAC_CLIENT_ID else {}),
        }
        for client_id, secret in client_secrets.items()
    ]
    settings: dict[str, Any] = {"path": f"/{name}", "clients": clients, "accounts": ACCOUNTS[name]}
    if keys:
        settings["keys"] = keys

    async def start() -> asyncio.subprocess.Process:
        # The settings travel in the environment, not the command line, which any user of the machine can read.
        return await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            cwd=HERE,
            env={**os.environ, "OIDC_PROVIDER_SETTINGS": json.dumps(settings)},
            stdout=asyncio.subprocess.PIPE,  # the ready line; its log goes to stderr, shown with a failing test
        )

    process = await start()

    async def ready() -> OpenIdProvider:
        nonlocal process
        # Rarely, node hangs as it starts (seen: asleep in a futex wait, never listening): a second
        # process is started once, as an operator would restart it; a second hang fails the test.
        for attempt, wait in enumerate((STARTUP / 2, STARTUP)):
            assert process.stdout is not None
            try:
                async with asyncio.timeout(wait):
                    line = await process.stdout.readline()
                break
            except TimeoutError:
                state = _process_state(process.pid)
                if attempt:
                    raise RuntimeError(f"the OpenID Provider {name} was not ready in {wait:g} s ({state})") from None
                print(f"the OpenID Provider {name} was not ready in {wait:g} s ({state}); starting it again")
                with contextlib.suppress(ProcessLookupError):
                    process.kill()  # hung: a terminate would go unanswered
                await process.wait()
                process = await start()
        if not line.startswith(b"ready "):
            raise RuntimeError(f"the OpenID Provider {name} did not start (exit status {await process.wait()})")
        announced = json.loads(line[len("ready ") :])
        return OpenIdProvider(name, announced["issuer"], announced["port"], ACCOUNTS[name], client_secrets, process)

    try:
        yield ready
    finally:
        await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(LONG_WAIT):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _process_state(pid: int) -> str:
    """What a process that does not answer is doing, as Linux tells: running, or sleeping and on what."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        waiting = Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return "its state is unknown"
    state = next((line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("State:")), "?")
    return f"state {state}, waiting in {waiting or 'nothing'}"


def _new_signing_key() -> dict[str, Any]:
    key = RSAKey.generate_key(2048, parameters={"kid": str(uuid.uuid4()), "use": "sig", "alg": "RS256"})
    return dict(key.as_dict(private=True))


async def sign_in_at_provider(
    http: aiohttp.ClientSession, authorize_url: str, login: str, *, cancel: bool = False
) -> str:
    """Sign in as ``login`` at the provider ``authorize_url`` leads to; the URL it redirects back to, unfetched.

    ``http`` plays the person's browser: it keeps the provider's cookies, so it needs
    ``aiohttp.CookieJar(unsafe=True)`` (the providers listen on an IP address, whose cookies aiohttp's
    default jar refuses). The login form is filled in and the consent confirmed; with ``cancel`` the
    person presses Cancel instead, and the provider redirects back with ``error=access_denied``.
    The first redirect away from the provider's origin ends the walk: that is the relying party's callback.
    """
    origin = _origin(authorize_url)
    method, url, form = "GET", authorize_url, None
    submitted_login = False
    for _ in range(_MAX_STEPS):
        async with http.request(
            method, url, data=form, allow_redirects=False, timeout=aiohttp.ClientTimeout(WAIT)
        ) as response:
            status = response.status
            location = response.headers.get("Location")
            text = await response.text()
        if status in (301, 302, 303, 307, 308) and location is not None:
            target = urljoin(url, location)
            if _origin(target) != origin:
                return target
            method, url, form = ("GET" if status == 303 or method == "GET" else method), target, None
            continue
        if status != 200:
            raise AssertionError(f"the provider answered HTTP {status} at {url}: {text[:500]}")
        page = _Page.parse(text)
        if submitted_login and page.has_login_field:
            raise AssertionError(f"the provider refused the login {login!r}: {page.alert or 'no reason given'}")
        if page.alert:
            hint = (
                " (does the session's cookie jar accept cookies for IP addresses?)" if "expired" in page.alert else ""
            )
            raise AssertionError(f"the provider showed an error at {url}: {page.alert}{hint}")
        wanted = "/abort" if cancel else "/login" if page.has_login_field else "/confirm"
        chosen = next((f for f in page.forms if f.action.endswith(wanted)), None)
        if chosen is None:
            raise AssertionError(f"no form posting to …{wanted} on the provider's page at {url}: {text[:500]}")
        form = dict(chosen.fields)
        if wanted == "/login":
            form["login"] = login
            submitted_login = True
        method, url = chosen.method, urljoin(url, chosen.action)
    raise AssertionError(f"no redirect back to the relying party after {_MAX_STEPS} steps at the provider")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str]


class _Page(HTMLParser):
    """The forms of a provider's page, and the text of its alert if it shows one."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.alert = ""
        self._in_alert = False
        self.has_login_field = False

    @classmethod
    def parse(cls, text: str) -> _Page:
        page = cls()
        page.feed(text)
        page.close()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(values.get("action", ""), values.get("method", "get").upper(), {}))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")
            self.has_login_field |= values["name"] == "login"
        elif values.get("role") == "alert":
            self._in_alert = True

    def handle_endtag(self, tag: str) -> None:
        self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._in_alert:
            self.alert += data.strip()
