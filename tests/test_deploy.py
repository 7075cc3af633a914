"""The deployment of docker-compose.yml, run for real without Docker.

No Docker engine runs here, so this runs what the compose file would: the
same ``deploy/haproxy.cfg`` (with loopback addresses for the names Docker's
DNS would resolve) in front of two ``crisis-hub serve`` processes started
with the hub service's own environment and ``deploy/crisis-hub.toml``, on
one Redis. It then follows README's deployment section: health through the
proxy, a token made with the CLI, a stream through the proxy that survives
each hub being stopped and restarted in turn, and live figures at
``/metrics``.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from connectors.stream import StreamClient
from tests.cli.test_cli import free_port
from tests.stixgen import bundle, indicator
from tests.test_compose import HAPROXY, mounts
from tests.test_compose import compose as compose  # a fixture, used by name
from tests.test_faults import healthy
from tests.timing import LONG_WAIT, STARTUP

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="needs HAProxy (Debian's haproxy package; .ci/run installs it)"
)
STIX = {"Content-Type": "application/stix+json;version=2.1"}


def proxy_config(port: int, admin_port: int, hubs: dict[str, int]) -> str:
    """deploy/haproxy.cfg with what Docker would provide replaced: its DNS, the services' names, its own ports."""
    text = HAPROXY.read_text()
    text, dns = re.subn(r"(?ms)^resolvers docker\n.*?(?=^\S)", "", text)
    text, resolving = re.subn(r" resolvers docker init-addr \S+", "", text)
    text, bound = re.subn(r"(?m)^(\s+bind) :8080\b", rf"\1 127.0.0.1:{port}", text)
    text, admin = re.subn(r"(?m)^(\s+stats socket) ipv4@127\.0\.0\.1:\d+", rf"\1 ipv4@127.0.0.1:{admin_port}", text)
    # A container may open more files than a test: HAProxy wants two per connection it allows.
    text, limited = re.subn(r"(?m)^(\s+maxconn) \d+", r"\1 1000", text)
    replaced = (dns, resolving, bound, admin, limited)
    assert replaced == (1, 1, 1, 1, 1), "deploy/haproxy.cfg changed shape: update this test"
    for name, hub_port in hubs.items():
        text, found = re.subn(rf"(?m)^(\s+server {name}) {name}:8080\b", rf"\1 127.0.0.1:{hub_port}", text)
        assert found == 1, f"no server line for {name} in deploy/haproxy.cfg"
    return text


@dataclass
class Deployment:
    proxy_url: str
    admin_port: int
    hub_ports: dict[str, int]
    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]]

    def start_hub(self, name: str) -> None:
        env = {**self.env, "CRISIS_HUB_PORT": str(self.hub_ports[name])}
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "hub", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def stop_hub(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGTERM)  # what `docker-compose restart` sends first
        assert process.wait(timeout=LONG_WAIT) == 0

    async def proxy_status(self) -> dict[str, str]:
        """Each hub's status as HAProxy's health check sees it (``UP``, ``DOWN``, ``DOWN 1/2``…), by the runtime API."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.admin_port)
        try:
            writer.write(b"show stat\n")
            await writer.drain()
            text = (await reader.read()).decode()  # the answer, then HAProxy closes the connection
        finally:
            writer.close()
        rows = list(csv.DictReader(text.removeprefix("# ").splitlines()))
        return {
            row["svname"]: row["status"] for row in rows if row["pxname"] == "hubs" and row["svname"] in self.hub_ports
        }

    async def routed(self, name: str, timeout: float = STARTUP) -> None:
        """Wait until HAProxy's health check has marked hub ``name`` UP: only then does the proxy send it requests.

        A hub that answers is not yet one the proxy uses (it waits for ``rise`` checks in a row): stopping
        the other hub before then leaves the proxy without a hub, and its clients with 503s.
        """
        async with asyncio.timeout(timeout):
            while True:
                try:
                    if (await self.proxy_status()).get(name) == "UP":
                        return
                except ConnectionRefusedError:  # the proxy has not opened its runtime API yet
                    pass
                await asyncio.sleep(0.1)

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "hub", *args], env=self.env, capture_output=True, text=True, timeout=STARTUP
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def hub_environment(resolved: dict[str, Any], redis_url: str, namespace: str, tmp_path: Path) -> dict[str, str]:
    """The hub service's environment from the compose file, pointed at this machine's Redis and files."""
    service = resolved["services"]["hub1"]
    env = {k: str(v) for k, v in service["environment"].items()}
    mounted = Path(mounts(service)[env["CRISIS_HUB_CONFIG"]])  # the file the compose file mounts there
    # The proxy reaches the hubs from 127.0.0.1 here, not from the compose network.
    text, trusted = re.subn(r"(?m)^trusted_proxies = .*$", 'trusted_proxies = ["127.0.0.1"]', mounted.read_text())
    assert trusted == 1, "deploy/crisis-hub.toml no longer trusts the proxy: update this test"
    config = tmp_path / "crisis-hub.toml"
    config.write_text(text)
    env["CRISIS_HUB_CONFIG"] = str(config)
    env["CRISIS_HUB_REDIS_URL"] = redis_url
    assert env.pop("CRISIS_HUB_HOST") == "0.0.0.0"
    env["CRISIS_HUB_HOST"] = "127.0.0.1"  # loopback only, here
    return {**os.environ, **env, "CRISIS_HUB_NAMESPACE": namespace}


@pytest.fixture
def deployment(compose: dict[str, Any], redis_url: str, namespace: str, tmp_path: Path) -> Iterator[Deployment]:
    hub_ports = {"hub1": free_port(), "hub2": free_port()}
    proxy_port, admin_port = free_port(), free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(proxy_config(proxy_port, admin_port, hub_ports))
    check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=STARTUP)
    assert check.returncode == 0, check.stdout + check.stderr
    env = hub_environment(compose, redis_url, namespace, tmp_path)
    running = Deployment(f"http://127.0.0.1:{proxy_port}", admin_port, hub_ports, env, tmp_path, {})
    try:
        for name in hub_ports:
            running.start_hub(name)
        with (tmp_path / "proxy.log").open("ab") as log:
            running.processes["proxy"] = subprocess.Popen(
                ["haproxy", "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT
            )
        yield running
    finally:
        for log_file in sorted(tmp_path.glob("*.log")):  # shown by pytest when the test fails
            print(f"--- {log_file.name}\n{log_file.read_text(errors='replace')[-3000:]}")
        for process in running.processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=LONG_WAIT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def ingested(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith("chub_events_ingested_total{")
    )


async def test_two_hubs_behind_the_proxy_serve_streams_through_restarts_with_live_metrics(
    deployment: Deployment, session: aiohttp.ClientSession
) -> None:
    proxy = deployment.proxy_url
    for name, port in deployment.hub_ports.items():
        await healthy(session, f"http://127.0.0.1:{port}", timeout=STARTUP)
        await deployment.routed(name)
    await healthy(session, proxy, timeout=STARTUP)
    # README: TOKEN=$(docker-compose exec -T hub1 crisis-hub token create cidge | tail -1)
    token = deployment.cli("token", "create", "cidge").strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    async with session.get(proxy + "/api/v1/me", headers=auth) as response:
        assert response.status == 200
        assert (await response.json())["stakeholder"] == "cidge"

    acknowledged: list[str] = []
    received: list[str] = []
    subscribed = asyncio.Event()

    def on_message(message: dict[str, Any]) -> None:
        if message["op"] == "subscribed":
            subscribed.set()

    watcher = StreamClient([proxy], token, ["committee"], on_message=on_message)

    async def watch() -> None:
        async for event in watcher.events():
            received.append(event["object"]["id"])

    async def produce(rounds: int) -> None:
        for _ in range(rounds):
            objects = [indicator() for _ in range(3)]
            async with session.post(
                proxy + "/api/v1/channels/committee/objects", data=orjson.dumps(bundle(*objects)), headers=auth | STIX
            ) as response:
                assert response.status == 201, await response.text()
                acknowledged.extend(a["id"] for a in (await response.json())["accepted"])

    async def all_received() -> None:
        async with asyncio.timeout(STARTUP):
            while not set(acknowledged) <= set(received):
                await asyncio.sleep(0.05)

    watching = asyncio.create_task(watch())
    try:
        await asyncio.wait_for(subscribed.wait(), LONG_WAIT)
        await produce(5)
        await all_received()
        # README: restart the hubs one at a time; streams on the stopped one resume on the other. The next
        # is stopped only once the proxy routes to the one restarted, as a deployment script must wait.
        for name in ("hub1", "hub2"):
            deployment.stop_hub(name)
            await produce(5)  # through the proxy, to the hub still running
            deployment.start_hub(name)
            await healthy(session, f"http://127.0.0.1:{deployment.hub_ports[name]}", timeout=STARTUP)
            await deployment.routed(name)
            await all_received()
    finally:
        watching.cancel()
        await asyncio.wait({watching})
    assert received == acknowledged, "a lost, repeated or reordered event"
    assert watcher.connections >= 2, "the stream never moved: a stopped hub held it"

    # Metrics are per process, scraped on each hub (not through the proxy), and move as events flow.
    counts = []
    for port in deployment.hub_ports.values():
        async with session.get(f"http://127.0.0.1:{port}/metrics", headers=auth) as response:
            assert response.status == 200
            counts.append(ingested(await response.text()))
    await produce(2)
    after = []
    for port in deployment.hub_ports.values():
        async with session.get(f"http://127.0.0.1:{port}/metrics", headers=auth) as response:
            after.append(ingested(await response.text()))
    assert sum(after) - sum(counts) == 6


async def test_failed_logins_through_the_proxy_are_throttled_per_client(deployment: Deployment) -> None:
    """Two clients (two loopback addresses) behind the one proxy: one locked out, the other not."""
    bad = {"Authorization": "Bearer chub_nope_nope"}
    url = deployment.proxy_url + "/api/v1/me"

    async def fail_from(address: str, attempts: int) -> list[int]:
        statuses = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0))) as client:
            await healthy(client, deployment.proxy_url, timeout=STARTUP)
            for _ in range(attempts):
                async with client.get(url, headers=bad) as response:
                    statuses.append(response.status)
                if statuses[-1] == 429:
                    break
        return statuses

    # Each hub process counts its own failures (20 a minute): through two of them, 429 by the 41st.
    locked_out = await fail_from("127.0.0.2", 45)
    assert locked_out[0] == 401
    assert locked_out[-1] == 429
    assert await fail_from("127.0.0.3", 1) == [401]
