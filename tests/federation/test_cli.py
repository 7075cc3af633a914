"""``crisis-hub connector run`` and ``connector list``, as an operator runs them against a running hub."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import os
import subprocess
import sys
from pathlib import Path

from hub.tlp import TLP
from tests.conftest import Hub
from tests.taxii.helpers import append, bulk_items, collection_url
from tests.timing import STARTUP

DEMO = importlib.resources.files("hub").joinpath("demo.toml").read_text("utf-8")


def cli(hub: Hub, config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    store = ["--config", str(config), "--redis-url", hub.redis_url, "--namespace", hub.namespace]
    return subprocess.run(
        [sys.executable, "-m", "hub", "connector", *args, *store],
        capture_output=True, text=True, timeout=STARTUP, env={**os.environ, **env},
    )  # fmt: skip


async def test_a_connector_run_alone_goes_through_the_hub_api_and_resumes_where_it_stopped(
    hub: Hub, tmp_path: Path
) -> None:
    """A pull run outside the hub: objects arrive through the HTTP API as its token's stakeholder, once."""
    config = tmp_path / "hub.toml"
    config.write_text(
        DEMO
        + f"""
[[connectors]]
name = "public-feed"
kind = "taxii-pull"
url = "{collection_url(hub, "public")}"
username = "partner-cert"
password_env = "FEED_PASSWORD"
channel = "sector.energy"
stakeholder = "cert-mx"
page_size = 4
"""
    )
    await append(hub, "public", "cidge", bulk_items(10, TLP.CLEAR))
    run = ["run", "public-feed", "--once", "--url", str(hub.client.make_url("")), "--token", hub.tokens["cert-mx"]]
    env = {"FEED_PASSWORD": hub.tokens["partner-cert"]}
    first = await asyncio.to_thread(cli, hub, config, *run, **env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("connector public-feed: 10 moved, 0 duplicates, 0 rejected, 0 withheld")
    await append(hub, "public", "cidge", bulk_items(3, TLP.CLEAR))
    second = await asyncio.to_thread(cli, hub, config, *run, **env)
    assert second.stdout.startswith("connector public-feed: 3 moved, 0 duplicates"), second.stderr
    async with hub.client.get("/api/v1/channels/sector.energy/events?limit=100", headers=hub.auth("cert-mx")) as r:
        events = (await r.json())["events"]
    assert len(events) == 13 and {e["source"] for e in events} == {"cert-mx"}

    missing = await asyncio.to_thread(cli, hub, config, *run)  # no FEED_PASSWORD in the environment
    assert missing.returncode == 2 and "FEED_PASSWORD (password_env) is not set" in missing.stderr

    listing = await asyncio.to_thread(cli, hub, config, "list", "--json")
    [row] = json.loads(listing.stdout)["connectors"]
    assert (row["name"], row["state"], row["moved"], row["last_error"]) == ("public-feed", "stopped", 3, None)
    assert row["last_success"] is not None

    unknown = await asyncio.to_thread(cli, hub, config, "run", "nope", "--token", "x")
    assert unknown.returncode == 2 and "no connector 'nope'" in unknown.stderr and "public-feed" in unknown.stderr
