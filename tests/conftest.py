"""Shared fixtures: a real Redis server and a hub on a real loopback socket.

Redis is ``REDIS_URL`` when set, else an embedded redis-server started once
per test session. Each test gets its own key namespace, so tests never see
each other's data and leave nothing behind. A test module may override
``redis_url`` and ``redis_cluster`` to run the same fixtures on a Redis
Cluster (see tests/test_cluster.py).
"""

from __future__ import annotations

import asyncio
import io
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from redis.cluster import RedisCluster

from hub.app import create_app
from hub.config import Config, load_config
from hub.embedded import EmbeddedRedis
from hub.notify import NotificationSettings
from hub.people.service import People
from hub.store import TokenStore, connect
from hub.store.people import PeopleStore
from hub.tokens import new_token
from tests.timing import LONG_WAIT

DATA = Path(__file__).parent / "data"
STIX_DATA = DATA / "stix"

# CI installs every external program the tests use (Chromium, HAProxy, redis-server 7, docker-compose):
# there a skipped test means an install went wrong, and the run fails instead of passing quietly.
STRICT = "CRISIS_HUB_TESTS_STRICT"
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get(STRICT) and _skipped and exitstatus == 0:
        print(f"\n{STRICT} is set and {len(_skipped)} tests were skipped:", *_skipped[:20], sep="\n  ")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_cluster() -> bool:
    """Whether ``redis_url`` is a Redis Cluster."""
    return False


@pytest.fixture
def namespace(redis_url: str, redis_cluster: bool) -> Iterator[str]:
    ns = f"test-{uuid.uuid4().hex[:12]}"
    yield ns
    # A cluster client scans every primary, and deletes keys of several slots slot by slot.
    client = RedisCluster.from_url(redis_url) if redis_cluster else redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{ns}:*", count=1000))  # "*": a key may open with a hash tag
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def config() -> Config:
    return load_config(None)


@dataclass
class Hub:
    """A running hub and a way to act as any of its stakeholders."""

    client: TestClient[Any, Any]
    config: Config
    redis_url: str
    namespace: str
    tokens: dict[str, str] = field(default_factory=dict)
    cluster: bool = False

    def auth(self, stakeholder: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[stakeholder]}"}

    async def set_password(self, person: str, password: str) -> str:
        """Set ``person``'s local password as ``crisis-hub person set-password`` does; their one-time-code secret
        ("" when they need none)."""
        client = connect(self.redis_url, cluster=self.cluster)
        try:
            record = await People(self.config, PeopleStore(client, self.namespace)).set_password(person, password)
        finally:
            await client.aclose()
        return record.totp_secret

    async def token(self, stakeholder: str) -> str:
        """A fresh token for ``stakeholder``, stored as the CLI stores it."""
        token = new_token()
        client = connect(self.redis_url, cluster=self.cluster)
        try:
            await TokenStore(client, self.namespace).add(stakeholder, token)
        finally:
            await client.aclose()
        return token.text


HubFactory = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def hub_factory(config: Config, redis_url: str, redis_cluster: bool, namespace: str) -> AsyncIterator[HubFactory]:
    """Start hubs on one Redis and namespace (several = several hub processes); settings may be overridden."""
    clients: list[TestClient[Any, Any]] = []
    tokens: dict[str, str] = {}

    async def start(
        crisis: dict[str, Any] | None = None, notifications: NotificationSettings | None = None, **settings: Any
    ) -> Hub:
        hub_config = replace(config, hub=replace(config.hub, **settings)) if settings else config
        if crisis:
            hub_config = replace(hub_config, crisis=replace(config.crisis, **crisis))
        if notifications is not None:
            hub_config = replace(hub_config, notifications=notifications)
        app = create_app(hub_config, redis_url, namespace=namespace, cluster=redis_cluster)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        running = Hub(client, hub_config, redis_url, namespace, tokens, redis_cluster)
        for stakeholder in config.stakeholders:
            if stakeholder not in tokens:
                tokens[stakeholder] = await running.token(stakeholder)
        return running

    yield start
    for client in reversed(clients):
        # Bounded: an intermittent shutdown hang (not yet found, see the closing note) must not stall the
        # whole run. A hang here is reported as a warning with the hub's pending tasks, not hidden.
        try:
            async with asyncio.timeout(LONG_WAIT):
                await client.close()
        except TimeoutError:
            warnings.warn(f"hub shutdown did not finish in {LONG_WAIT:g} s; pending:\n{pending_tasks()}", stacklevel=1)


def pending_tasks() -> str:
    """Every other task of the loop with the stack where it waits: what a hung shutdown waits on."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.print_stack(file=out)
    return out.getvalue()


@pytest.fixture
async def hub(hub_factory: HubFactory) -> Hub:
    return await hub_factory()
