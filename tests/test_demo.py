"""The demo scenario, played fast against a real hub, and `crisis-hub demo` as a newcomer runs it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import orjson

from hub.demo import CRISIS_NAME, Scenario
from tests.conftest import HubFactory
from tests.test_cli import CLI, free_port, get, run


async def test_the_scenario_builds_a_living_crisis_that_each_role_sees_its_share_of(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis={"escalation_interval": 0.2})
    await Scenario(str(hub.client.make_url("")), hub.tokens, speed=20).run(keep_alive=False)

    async def get_json(who: str, path: str) -> dict:
        async with hub.client.get(path, headers=hub.auth(who)) as response:
            assert response.status == 200, await response.text()
            return orjson.loads(await response.read())

    [crisis] = (await get_json("sspc", "/api/v1/crises"))["crises"]
    assert crisis["name"] == CRISIS_NAME and crisis["severity"]["name"] == "Severe"
    page = await get_json("sspc", f"/api/v1/crises/{crisis['id']}")
    institutions = {e["source"] for e in page["updates"]} - {"hub"}
    assert len(institutions) >= 3
    assert any(item["acknowledged"] for item in page["acks"])
    async with asyncio.timeout(10):
        while not any(a["escalated"] for a in page["actions"]):
            await asyncio.sleep(0.1)
            page = await get_json("sspc", f"/api/v1/crises/{crisis['id']}")
    assert any(a["overdue"] for a in page["actions"])
    assert (await get_json("observer", "/api/v1/crises"))["crises"] == []
    energy_only = await get_json("cfe", f"/api/v1/crises/{crisis['id']}/updates")
    assert "banxico" not in {e["source"] for e in energy_only["events"]}


def test_crisis_hub_demo_runs_writes_tokens_and_serves_a_sitrep(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "demo"
    process = subprocess.Popen(
        [*CLI, "demo", "--port", str(port), "--data-dir", str(data_dir), "--speed", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        crises: list = []
        while not crises:
            assert process.poll() is None and time.monotonic() < deadline, "demo did not come up"
            time.sleep(0.2)
            token_file = data_dir / "demo-tokens.json"
            if token_file.exists():
                tokens = json.loads(token_file.read_text())
                try:
                    crises = get(url + "/api/v1/crises", tokens["cidge"])[1]["crises"]
                except OSError:
                    pass
        assert set(tokens) >= {"cidge", "banxico", "observer"} and oct(token_file.stat().st_mode)[-3:] == "600"
        while time.monotonic() < deadline:  # the sitrep comes a few steps later
            result = run("sitrep", crises[0]["id"], "--token", tokens["sspc"], "--url", url, check=False)
            if result.returncode == 0:
                break
            time.sleep(0.2)
        assert result.stdout.startswith(f"# Situation report: {CRISIS_NAME}"), result.stderr
        denied = run("sitrep", crises[0]["id"], "--token", tokens["observer"], "--url", url, check=False)
        assert denied.returncode == 1 and "404" in denied.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert "Crisis Hub demo on" in output and process.returncode == 0
