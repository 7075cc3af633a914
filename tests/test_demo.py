"""The demo scenario, played fast against a real hub, and `crisis-hub demo` as a newcomer runs it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from taxii2client.v21 import Server, as_pages  # type: ignore[import-untyped]  # no type information

from hub.demo import ADVISORY, C2, CRISIS_NAME, ISOLATE, SHARE, SITREP, Scenario, demo_id, names
from hub.demo_plan import DEMO_PLAYBOOK, PROTOCOL, demo_playbook, protocol_texts, step_name
from hub.i18n import translator
from hub.tlp import TLP
from tests.cli.test_cli import CLI, free_port, get, run
from tests.conftest import Hub, HubFactory
from tests.timing import LONG_WAIT, STARTUP, WAIT

FAST = {"escalation_interval": 0.2}
SPANISH = names(translator("es"))


async def get_json(hub: Hub, who: str, path: str) -> Any:
    async with hub.client.get(path, headers=hub.auth(who)) as response:
        assert response.status == 200, await response.text()
        return orjson.loads(await response.read())


def play(hub: Hub, lang: str = "en") -> Scenario:
    return Scenario(str(hub.client.make_url("")), hub.tokens, speed=20, lang=lang)


def taxii_objects(hub: Hub, who: str, alias: str) -> list[dict[str, Any]]:
    """Every object of a collection, read as the README's TAXII example reads it (taxii2-client, by alias)."""
    server = Server(str(hub.client.make_url("/taxii2/")), user=who, password=hub.tokens[who])
    collection = next(c for c in server.default.collections if c.alias == alias)
    return [o for page in as_pages(collection.get_objects, per_request=1000) for o in page.get("objects", [])]


async def written_by_stakeholders(hub: Hub) -> Counter[tuple[str, str, str]]:
    """(channel, object id, version) of every event a stakeholder wrote, counted: what a re-run must not double."""
    seen: Counter[tuple[str, str, str]] = Counter()
    for channel in ("committee", "sector.energy", "sector.finance", "partners", "public"):
        after = "0"
        while True:
            page = await get_json(hub, "cidge", f"/api/v1/channels/{channel}/events?after={after}&limit=1000")
            for event in page["events"]:
                if event["source"] != "hub":  # escalations come on their own time
                    seen[(channel, event["object"]["id"], event["object"].get("modified", ""))] += 1
            if not page["next"] or not page["events"]:
                break
            after = page["next"]
    return seen


async def test_the_scenario_builds_a_living_crisis_that_each_role_sees_its_share_of(hub_factory: HubFactory) -> None:
    hub = await hub_factory(crisis=FAST)
    await play(hub).run(keep_alive=False)

    [crisis] = (await get_json(hub, "sspc", "/api/v1/crises"))["crises"]
    assert crisis["name"] == CRISIS_NAME and crisis["severity"]["name"] == "Severe"
    page = await get_json(hub, "sspc", f"/api/v1/crises/{crisis['id']}")
    institutions = {e["source"] for e in page["updates"]} - {"hub"}
    assert len(institutions) >= 3
    assert any(item["acknowledged"] for item in page["acks"])
    async with asyncio.timeout(WAIT):
        while not any(a["escalated"] for a in page["actions"]):
            await asyncio.sleep(0.1)
            page = await get_json(hub, "sspc", f"/api/v1/crises/{crisis['id']}")
    assert any(a["overdue"] for a in page["actions"])
    assert (await get_json(hub, "observer", "/api/v1/crises"))["crises"] == []
    energy_only = await get_json(hub, "cfe", f"/api/v1/crises/{crisis['id']}/updates")
    assert "banxico" not in {e["source"] for e in energy_only["events"]}


async def test_the_demo_runs_the_national_protocol_with_every_step_on_the_board_and_one_late(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(crisis=FAST)
    await play(hub).run(keep_alive=False)
    [crisis] = (await get_json(hub, "sspc", "/api/v1/crises"))["crises"]
    done = ("Detection and triage", "Convene the crisis committee", "Energy: impact assessment")
    async with asyncio.timeout(LONG_WAIT):  # the plans' runner moves a step just after its item is completed
        while True:
            [run] = (await get_json(hub, "sspc", f"/api/v1/crises/{crisis['id']}/plans"))["runs"]
            states = {s["name"]: s["state"] for s in run["steps"]}
            if all(states[name] == "completed" for name in done):
                break
            await asyncio.sleep(0.1)
    assert run["playbook"] == DEMO_PLAYBOOK and run["status"] == "running" and run["started_by"] == "cidge"
    assert len(states) == 21  # every step of the protocol is listed, reached or not
    assert states["Finance: impact assessment"] == "running" and states["Recovery"] == "pending"
    async with asyncio.timeout(LONG_WAIT):  # at the demo clock and speed, the bank's assessment runs late
        while True:
            [run] = (await get_json(hub, "sspc", f"/api/v1/crises/{crisis['id']}/plans"))["runs"]
            [finance] = [s for s in run["steps"] if s["name"] == "Finance: impact assessment"]
            if finance["late"]:
                break
            await asyncio.sleep(0.1)
    assert finance["waiting_on"] == ["banxico"]


async def test_the_demo_shares_outward_a_public_advisory_and_the_green_indicators_for_partners(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(crisis=FAST)
    await play(hub).run(keep_alive=False)

    public = (await get_json(hub, "observer", "/api/v1/channels/public/events"))["events"]
    [advisory] = [e for e in public if e["object"].get("abstract") == ADVISORY]
    assert advisory["tlp"] == "clear" and advisory["object"]["object_marking_refs"] == [TLP.CLEAR.marking_id]
    assert advisory["source"] in ("cidge", "sspc", "sedena", "cnpc")  # a committee member, who writes public
    # The partner CERT, over TAXII as the README shows: the C2 indicators at GREEN, and the public advisory.
    partners = await asyncio.to_thread(taxii_objects, hub, "partner-cert", "partners")
    indicators = [o for o in partners if o["type"] == "indicator"]
    assert sorted(o["pattern"] for o in indicators) == sorted(f"[ipv4-addr:value = '{ip}']" for ip in C2)
    assert all(o["object_marking_refs"] == [TLP.GREEN.marking_id] for o in indicators)
    assert [o["id"] for o in await asyncio.to_thread(taxii_objects, hub, "partner-cert", "public")] == [
        advisory["object"]["id"]
    ]
    # Exact copies of the national CERT's indicators, which it still owns: the same id and version there.
    for obj in indicators:
        finance = await get_json(hub, "cert-mx", f"/api/v1/objects/{obj['id']}?versions=all")
        assert [(e["channel"], e["source"], e["object"]) for e in finance["events"]] == [
            ("sector.finance", "cert-mx", obj)
        ]
    # What the committee asked for is what happened: the sharing action is complete and true.
    [crisis] = (await get_json(hub, "sspc", "/api/v1/crises"))["crises"]
    actions = (await get_json(hub, "sspc", f"/api/v1/crises/{crisis['id']}/actions"))["actions"]
    assert [a["status"] for a in actions if a["name"] == SHARE] == ["completed"]


async def test_an_interrupted_scenario_is_finished_by_the_next_run_and_nothing_is_written_twice(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(crisis=FAST)
    first = asyncio.create_task(play(hub).run(keep_alive=False))
    async with asyncio.timeout(LONG_WAIT):  # interrupt it a few steps in: the crisis declared, two updates posted
        while True:
            crises = (await get_json(hub, "cidge", "/api/v1/crises"))["crises"]
            if (
                crises
                and len((await get_json(hub, "cidge", f"/api/v1/crises/{crises[0]['id']}/updates"))["events"]) >= 2
            ):
                break
            await asyncio.sleep(0.01)
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    [crisis] = (await get_json(hub, "cidge", "/api/v1/crises"))["crises"]
    assert (
        crisis["severity"]["level"] < 4
        and not (await get_json(hub, "cidge", f"/api/v1/crises/{crisis['id']}/sitreps"))["events"]
    )

    second = play(hub)
    await second.run(keep_alive=False)
    assert second.writes > 0
    [crisis] = (await get_json(hub, "cidge", "/api/v1/crises"))["crises"]
    assert crisis["name"] == CRISIS_NAME and crisis["severity"]["name"] == "Severe" and crisis["status"] == "containing"
    cid = crisis["id"]
    updates = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/updates"))["events"]
    abstracts = Counter(e["object"].get("abstract") for e in updates if e["source"] != "hub")
    assert set(abstracts.values()) == {1} and len(abstracts) == 5 and ADVISORY in abstracts, abstracts
    actions = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/actions"))["actions"]
    assert sorted(a["name"] for a in actions if a["assigned_by"] != "hub") == sorted([ISOLATE, SHARE])
    runs = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/plans"))["runs"]
    assert len(runs) == 1  # started once, though the scenario was interrupted and played again
    sitreps = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/sitreps"))["events"]
    assert [e["object"]["name"] for e in sitreps] == [SITREP]
    history = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/history"))["versions"]
    assert [v["changes"].get("severity", [None, None])[1] for v in history] == [2, 3, 4]
    acks = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/acks"))["items"]
    assert sum(len(item["acknowledged"]) for item in acks if item["id"] == cid) == 9
    partners = await asyncio.to_thread(taxii_objects, hub, "partner-cert", "partners")
    assert sum(o["type"] == "indicator" for o in partners) == 3
    written = await written_by_stakeholders(hub)
    assert set(written.values()) == {1}, [k for k, n in written.items() if n > 1]

    # Run once more: the scenario is complete, so nothing is written.
    third = play(hub)
    await third.run(keep_alive=False)
    assert third.writes == 0 and await written_by_stakeholders(hub) == written


async def test_the_story_told_in_spanish_is_spanish_throughout_and_the_english_one_beside_it_is_unchanged(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(crisis=FAST)
    await play(hub, "es").run(keep_alive=False)

    [crisis] = (await get_json(hub, "cidge", "/api/v1/crises"))["crises"]
    assert crisis["name"] == SPANISH.crisis == "Ransomware en la empresa petrolera estatal"
    assert crisis["severity"]["name"] == "Severe" and crisis["status"] == "containing"  # the same story
    cid = crisis["id"]
    [sitrep] = [e["object"] for e in (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/sitreps"))["events"]]
    assert sitrep["name"] == SPANISH.sitrep == "Reporte de situación 1 — ransomware en refinerías"
    assert sitrep["description"].startswith("Ransomware similar a EKANS en dos refinerías; tráfico de C2 en un banco.")
    updates = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/updates"))["events"]
    abstracts = {e["object"]["abstract"] for e in updates if e["source"] != "hub"}
    assert abstracts == {
        "Dos refinerías afectadas",
        "Malware identificado como EKANS",
        "Tráfico de C2 observado en el sector financiero",
        "Red eléctrica en alerta",
        SPANISH.advisory,
    }
    actions = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/actions"))["actions"]
    mine = {a["name"]: a["status"] for a in actions if a["assigned_by"] != "hub"}
    assert mine.keys() == {SPANISH.isolate, SPANISH.share} and mine[SPANISH.share] == "completed"
    sample = await get_json(hub, "pemex", f"/api/v1/objects/{demo_id('indicator', 'sample', 'es')}")
    assert sample["events"][0]["object"]["name"] == "Muestra de ransomware"
    # The protocol's board reads in Spanish: every step's name, and the steps done as in English.
    detection = step_name("Detection and triage", "es")
    async with asyncio.timeout(LONG_WAIT):
        while True:
            [run] = (await get_json(hub, "cidge", f"/api/v1/crises/{cid}/plans"))["runs"]
            states = {s["name"]: s["state"] for s in run["steps"]}
            if states.get(detection) == "completed":
                break
            await asyncio.sleep(0.1)
    assert run["playbook"] == demo_playbook("es") != DEMO_PLAYBOOK and detection == "Detección y triaje"
    assert set(states) <= set(PROTOCOL["es"].values()) and len(states) == 21

    # The story in English on the same hub finds nothing of the Spanish one: it is told again, as it always was.
    await play(hub, "en").run(keep_alive=False)
    crises = (await get_json(hub, "cidge", "/api/v1/crises"))["crises"]
    assert sorted(c["name"] for c in crises) == sorted([CRISIS_NAME, SPANISH.crisis])
    [english] = [c["id"] for c in crises if c["name"] == CRISIS_NAME]
    sitreps = (await get_json(hub, "cidge", f"/api/v1/crises/{english}/sitreps"))["events"]
    assert [e["object"]["name"] for e in sitreps] == [SITREP]
    [run] = (await get_json(hub, "cidge", f"/api/v1/crises/{english}/plans"))["runs"]
    assert run["playbook"] == DEMO_PLAYBOOK and "Detection and triage" in {s["name"] for s in run["steps"]}
    # And the Spanish story, played again, finds all of its own.
    again = play(hub, "es")
    await again.run(keep_alive=False)
    assert again.writes == 0


def test_the_demo_protocol_has_a_translation_for_every_text_of_the_shipped_one() -> None:
    shipped = json.loads((Path(__file__).parents[1] / "hub" / "demo_data" / "national-protocol.json").read_text())
    assert set(protocol_texts(shipped)) == set(PROTOCOL["es"])
    assert all(text.strip() and text != english for english, text in PROTOCOL["es"].items())


def start_demo(port: int, data_dir: Path, speed: float = 30, *more: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "demo", "--port", str(port), "--data-dir", str(data_dir), "--speed", str(speed), *more],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=LONG_WAIT)[0]
    assert process.returncode == 0, output
    return output


def wait_for_crisis(process: subprocess.Popen[str], url: str, data_dir: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The demo's tokens and its crisis, once the hub is up and the crisis declared."""
    deadline = time.monotonic() + STARTUP
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "demo did not come up"
        time.sleep(0.2)
        token_file = data_dir / "demo-tokens.json"
        if token_file.exists():
            tokens = json.loads(token_file.read_text())
            try:
                crises = get(url + "/api/v1/crises", tokens["cidge"])[1]["crises"]
            except OSError:
                continue
            if crises:
                return tokens, crises[0]


def test_crisis_hub_demo_runs_writes_tokens_and_serves_a_sitrep(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "demo"
    process = start_demo(port, data_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        tokens, crisis = wait_for_crisis(process, url, data_dir)
        token_file = data_dir / "demo-tokens.json"
        assert set(tokens) >= {"cidge", "banxico", "observer"} and oct(token_file.stat().st_mode)[-3:] == "600"
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:  # the sitrep comes a few steps later
            result = run("sitrep", crisis["id"], "--token", tokens["sspc"], "--url", url, check=False)
            if result.returncode == 0:
                break
            time.sleep(0.2)
        assert result.stdout.startswith(f"# Situation report: {CRISIS_NAME}"), result.stderr
        assert "lead **National CERT**" in result.stdout and "cert-mx" not in result.stdout
        denied = run("sitrep", crisis["id"], "--token", tokens["observer"], "--url", url, check=False)
        assert denied.returncode == 1 and "404" in denied.stderr
    finally:
        output = stop(process)
    assert "Crisis Hub demo on" in output


def test_a_second_crisis_hub_demo_on_the_same_data_dir_finishes_an_interrupted_scenario(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "demo"
    url = f"http://127.0.0.1:{port}"
    first = start_demo(port, data_dir, speed=2)  # slow: stopped a few steps in, long before the end
    try:
        _, crisis = wait_for_crisis(first, url, data_dir)
        assert crisis["severity"]["name"] != "Severe"
    finally:
        stop(first)
    second = start_demo(port, data_dir)
    try:
        tokens, crisis = wait_for_crisis(second, url, data_dir)
        deadline = time.monotonic() + STARTUP
        while crisis["severity"]["name"] != "Severe":
            assert second.poll() is None and time.monotonic() < deadline, "the scenario did not finish"
            time.sleep(0.2)
            crisis = get(f"{url}/api/v1/crises/{crisis['id']}", tokens["cidge"])[1]["crisis"]
        while True:  # its last step: the public advisory
            public = get(url + "/api/v1/channels/public/events", tokens["observer"])[1]["events"]
            if any(e["object"].get("abstract") == ADVISORY for e in public):
                break
            assert time.monotonic() < deadline, "no public advisory"
            time.sleep(0.2)
    finally:
        output = stop(second)
    assert "resuming the scenario where it stopped" in output, output


def test_crisis_hub_demo_in_spanish_says_so_and_its_hub_speaks_spanish(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "demo"
    process = start_demo(port, data_dir, 30, "--lang", "es")
    url = f"http://127.0.0.1:{port}"
    try:
        tokens, crisis = wait_for_crisis(process, url, data_dir)
        assert crisis["name"] == SPANISH.crisis
        assert get(url + "/api/v1/me", tokens["sspc"])[1]["hub_language"] == "es"
        client = ("--token", tokens["sspc"], "--url", url)
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:  # the sitrep comes a few steps later
            result = run("sitrep", crisis["id"], *client, "--lang", "es", check=False)
            if result.returncode == 0:
                break
            time.sleep(0.2)
        # The command asks the hub for the briefing in its own language.
        assert result.stdout.startswith(f"# Reporte de situación: {SPANISH.crisis}"), result.stderr
        english = run("sitrep", crisis["id"], *client, "--lang", "en")
        assert english.stdout.startswith(f"# Situation report: {SPANISH.crisis}")
    finally:
        output = stop(process)
    assert f"Demostración de Crisis Hub en {url}/" in output and "Crisis Hub demo on" not in output
