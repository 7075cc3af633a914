"""Fixtures of the OpenID Connect tests: two running identity providers and a browser-like HTTP session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.oidc.provider import OpenIdProvider, openid_providers


@pytest.fixture
async def providers() -> AsyncIterator[dict[str, OpenIdProvider]]:
    """The "central-bank" and "energy" identity providers, running (skips when node is not installed)."""
    async with openid_providers() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A session that keeps cookies for IP addresses, as a browser does: the providers are on 127.0.0.1."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session
