"""Two hubs, each with its own Redis server, federated over TAXII by a pull and a push connector.

Hub A is a national hub; hub B a partner's. B pulls A's ``partners`` collection
(as A's ``partner-cert``); A pushes its ``committee`` channel to B's ``partners``
collection (as B's ``partner-cert``). Both use the demo committee, on A with
the committee allowed to write ``partners`` (the channel it shares with partners).
"""

from __future__ import annotations

import asyncio
import importlib.resources
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from connectors.stream import StreamClient
from hub.app import create_app
from hub.config import Config, parse_config
from hub.embedded import EmbeddedRedis
from hub.store import TokenStore, connect
from hub.tlp import TLP
from hub.tokens import new_token
from tests.cli.test_cli import free_port
from tests.stixgen import bundle, indicator
from tests.timing import LONG_WAIT, SETTLE, STARTUP, WAIT, seconds

DEMO = importlib.resources.files("hub").joinpath("demo.toml").read_text("utf-8")
STIX = {"Content-Type": "application/stix+json;version=2.1"}


def hub_a_config(port_b: int) -> str:
    shared = DEMO.replace('write = ["committee", "public"]', 'write = ["committee", "public", "partners"]', 1)
    return (
        shared
        + f"""
[[connectors]]
name = "to-b"
kind = "taxii-push"
url = "http://127.0.0.1:{port_b}/taxii2/api/collections/partners/"
token_env = "FED_HUB_B_TOKEN"
channel = "committee"
tlp_ceiling = "green"
interval = 1
"""
    )


def hub_b_config(port_a: int) -> str:
    return (
        DEMO
        + f"""
[[connectors]]
name = "from-a"
kind = "taxii-pull"
url = "http://127.0.0.1:{port_a}/taxii2/"
collection = "partners"
username = "partner-cert"
password_env = "FED_HUB_A_PASSWORD"
channel = "partners"
stakeholder = "partner-cert"
interval = 0.3
"""
    )


class Side:
    """One hub of the federation: its own Redis server, its config, its tokens; started and stopped at will."""

    def __init__(self, folder: Path, config_text: str, port: int) -> None:
        self.redis = EmbeddedRedis(folder / "redis")
        folder.mkdir(parents=True, exist_ok=True)
        self.config_file = folder / "hub.toml"
        self.config_file.write_text(config_text)
        self.config: Config = parse_config(config_text, str(self.config_file))
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.tokens: dict[str, str] = {}
        self.server: TestServer | None = None

    async def token(self, stakeholder: str) -> str:
        token = new_token()
        client = connect(self.redis.url)
        await TokenStore(client).add(stakeholder, token)
        await client.aclose()
        self.tokens[stakeholder] = token.text
        return token.text

    async def start(self) -> None:
        self.server = TestServer(create_app(self.config, self.redis.url), host="127.0.0.1", port=self.port)
        await self.server.start_server()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def post(self, channel: str, who: str, *objects: dict[str, Any]) -> None:
        headers = {**STIX, "Authorization": f"Bearer {self.tokens[who]}"}
        async with ClientSession() as session:
            async with session.post(
                f"{self.url}/api/v1/channels/{channel}/objects", data=orjson.dumps(bundle(*objects)), headers=headers
            ) as response:
                assert response.status == 201, await response.text()

    async def get(self, path: str, who: str) -> tuple[int, Any]:
        async with ClientSession() as session:
            async with session.get(self.url + path, headers={"Authorization": f"Bearer {self.tokens[who]}"}) as r:
                return r.status, await r.json()

    async def connectors(self) -> dict[str, dict[str, Any]]:
        status, body = await self.get("/api/v1/admin/connectors", "cidge")
        assert status == 200, body
        return {row["name"]: row for row in body["connectors"]}


@pytest.fixture
async def federation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    port_a, port_b = free_port(), free_port()
    a = Side(tmp_path / "a", hub_a_config(port_b), port_a)
    b = Side(tmp_path / "b", hub_b_config(port_a), port_b)
    a.redis.start()
    b.redis.start()
    try:
        for side in (a, b):
            for who in ("sspc", "cidge", "partner-cert"):
                await side.token(who)
        # Each hub holds its credential at the other only in its environment, never in its config file.
        monkeypatch.setenv("FED_HUB_B_TOKEN", b.tokens["partner-cert"])
        monkeypatch.setenv("FED_HUB_A_PASSWORD", a.tokens["partner-cert"])
        await a.start()
        await b.start()
        yield a, b
    finally:
        await b.stop()
        await a.stop()
        b.redis.stop()
        a.redis.stop()


async def test_two_federated_hubs_share_green_never_red_and_a_restart_loses_and_repeats_nothing(
    federation: tuple[Side, Side],
) -> None:
    a, b = federation
    received: list[str] = []
    live = asyncio.Event()
    watcher = StreamClient(b.url, b.tokens["sspc"], ["partners"], on_message=lambda m: live.set())

    async def watch() -> None:
        async for event in watcher.events():
            received.append(event["object"]["id"])

    async def arrived(*ids: str) -> None:
        async with asyncio.timeout(LONG_WAIT):
            while not set(ids) <= set(received):
                await asyncio.sleep(0.05)

    watching = asyncio.create_task(watch())
    try:
        await asyncio.wait_for(live.wait(), WAIT)
        pulled_green, pulled_red = indicator(TLP.GREEN), indicator(TLP.RED)
        pushed_green, pushed_red = indicator(TLP.GREEN), indicator(TLP.RED)
        await a.post("partners", "sspc", pulled_green, pulled_red)  # B pulls A's partners collection
        await a.post("committee", "sspc", pushed_green, pushed_red)  # A pushes its committee channel to B
        await arrived(pulled_green["id"], pushed_green["id"])

        a_status, b_status = (await a.connectors())["to-b"], (await b.connectors())["from-a"]
        assert (a_status["state"], a_status["moved"], a_status["withheld"]) == ("running", 1, 1)
        assert (b_status["state"], b_status["moved"], b_status["duplicates"]) == ("running", 1, 0)
        assert b_status["last_success"] and b_status["last_error"] is None
        assert (await a.get("/api/v1/admin/connectors", "sspc"))[0] == 403  # administrators only

        # B goes down (its pull connector with it); A goes on sharing meanwhile; B comes back.
        await b.stop()
        later_pulled, later_pushed = indicator(TLP.GREEN), indicator(TLP.GREEN)
        await a.post("partners", "sspc", later_pulled, indicator(TLP.RED))
        await a.post("committee", "sspc", later_pushed, indicator(TLP.AMBER))
        await asyncio.sleep(seconds(0.5))  # A's push meets a closed port and backs off
        await b.start()
        await arrived(later_pulled["id"], later_pushed["id"])
        await asyncio.sleep(SETTLE)  # one more polling interval and push pass: nothing else may come
    finally:
        watching.cancel()
    shared = [pulled_green["id"], pushed_green["id"], later_pulled["id"], later_pushed["id"]]
    assert Counter(received) == Counter(shared), "lost, repeated or leaked on B's live stream"
    status, page = await b.get("/api/v1/channels/partners/events?limit=100", "cidge")
    assert sorted(e["object"]["id"] for e in page["events"]) == sorted(shared)  # and nothing else stored on B
    assert watcher.connections >= 2  # the stream itself resumed across B's restart
    b_status = (await b.connectors())["from-a"]
    assert b_status["moved"] == 1 and b_status["duplicates"] == 0  # the restarted connector took only the new one

    # The operator's view, from B's Redis, with or without the hub running.
    listing = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub", "connector", "list", "--config", str(b.config_file), "--redis-url", b.redis.url],
        capture_output=True, text=True, timeout=STARTUP,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    [row] = [line.split() for line in listing.stdout.splitlines() if line.startswith("from-a")]
    assert row[:6] == ["from-a", "taxii-pull", "partners", "running", "1", "0"]
