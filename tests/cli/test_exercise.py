"""``crisis-hub exercise run`` plays the demo's scenario against a running hub; its report is checked field by field."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.crisis.report import EXERCISE_LINE
from hub.store import TokenStore, connect
from hub.tokens import new_token
from tests.cli.test_cli import CLI, crisis_hub, free_port, get, no_traceback
from tests.timing import LONG_WAIT

SCENARIO = Path(str(importlib.resources.files("hub").joinpath("demo_data/exercise.toml")))
CRISIS = "Ransomware at the state oil company"
ISOLATE = "Isolate refinery OT networks from corporate IT"
SHARE = "Share the C2 indicators with partner CERTs (TLP:GREEN)"
COMMITTEE_AMBER = ["banxico", "cert-mx", "cfe", "cidge", "cnpc", "pemex", "sedena", "sspc"]
ENERGY_AMBER = ["cert-mx", "cfe", "cidge", "cnpc", "pemex", "sedena", "sspc"]
FINANCE = ["banxico", "cert-mx", "cidge", "cnpc", "sedena", "sspc"]
EVERYONE = ["banxico", "cert-mx", "cfe", "cidge", "cnpc", "observer", "partner-cert", "pemex", "sedena", "sspc"]
PLAYERS = ["banxico", "cert-mx", "cfe", "cidge", "cnpc", "partner-cert", "pemex", "sedena", "sspc"]


async def _tokens(redis_url: str, namespace: str, stakeholders: list[str]) -> dict[str, str]:
    client = connect(redis_url)
    try:
        store = TokenStore(client, namespace)
        tokens = {}
        for who in stakeholders:
            token = new_token()
            await store.add(who, token)
            tokens[who] = token.text
        return tokens
    finally:
        await client.aclose()


@pytest.fixture
def hub_for_exercise(redis_url: str, namespace: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``crisis-hub serve`` with the demo committee, escalating overdue actions every 0.2 s; a token per player."""
    config = tmp_path / "hub.toml"
    demo = importlib.resources.files("hub").joinpath("demo.toml").read_text(encoding="utf-8")
    config.write_text(demo + "\n[crisis]\nescalation_interval = 0.2\n", encoding="utf-8")
    port = free_port()
    log = tmp_path / "hub.log"  # a file, not a pipe: nobody reads it while the test runs, and it must never fill
    with log.open("w") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--config", str(config), "--redis-url", redis_url,
             "--namespace", namespace],
            stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + LONG_WAIT
    while True:
        try:
            if get(url + "/api/v1/health")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("hub did not start: " + log.read_text())
        time.sleep(0.1)
    yield url, asyncio.run(_tokens(redis_url, namespace, PLAYERS))
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=LONG_WAIT)


def escalated(url: str, token: str, crisis: str) -> dict[str, Any]:
    """The overdue action item of the exercise once the hub has escalated it."""
    deadline = time.monotonic() + LONG_WAIT
    while True:
        _, listed = get(f"{url}/api/v1/crises/{crisis}/actions", token)
        isolate: dict[str, Any] = next(a for a in listed["actions"] if a["name"] == ISOLATE)
        if isolate["escalated"]:
            return isolate
        assert time.monotonic() < deadline, "the overdue action was never escalated"
        time.sleep(0.1)


def person(who: str, acked: int, unacked: int, **actions: int) -> dict[str, Any]:
    """What the report says of ``who``, but its durations (times of a live run), which are checked apart."""
    return {"id": who, "acknowledged": acked, "unacknowledged": unacked, "actions_assigned": 0,
            "actions_completed": 0, "actions_late": 0, "actions_escalated": 0, **actions}  # fmt: skip


def test_the_demo_exercise_played_fast_gives_a_report_checked_field_by_field(
    hub_for_exercise: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = hub_for_exercise
    # Every token from the file but the national CERT's, which comes from the environment.
    token_file = tmp_path / "tokens.json"
    token_file.write_text(json.dumps({k: v for k, v in tokens.items() if k != "cert-mx"}))
    env = {"PATH": "/usr/bin:/bin", "CRISIS_HUB_TOKEN_CERT_MX": tokens["cert-mx"]}
    started = time.time()
    played = crisis_hub("exercise", "run", str(SCENARIO), "--tokens", str(token_file), "--speed", "20",
                        "--url", url, env=env)  # fmt: skip
    took = time.time() - started
    assert played.returncode == 0, played.stderr
    lines = played.stdout.splitlines()
    assert lines[0] == f"exercise '{CRISIS}': 29 injects over 1.75 s"
    assert [line.split()[:4] for line in lines[1:30]][:3] == [
        ["1/29", "+0", "pemex", "push"], ["2/29", "+0", "pemex", "push"], ["3/29", "+3", "cidge", "declare"]
    ]  # fmt: skip
    assert all(line.split()[0] == f"{n}/29" for n, line in enumerate(lines[1:30], 1))
    assert lines[30].startswith("done: see the after-action report with: crisis-hub report incident--")
    crisis = lines[30].rsplit(" ", 1)[1]
    isolate = escalated(url, tokens["cidge"], crisis)
    _, listed = get(f"{url}/api/v1/crises/{crisis}", tokens["cidge"])
    assert listed["crisis"]["exercise"] is True
    share = next(a for a in listed["actions"] if a["name"] == SHARE)

    shown = crisis_hub("report", crisis, "--format", "json", "--token", tokens["cidge"], "--url", url)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    summary = report["crisis"]
    assert summary == {
        "id": crisis, "name": CRISIS, "exercise": True, "severity": 4, "status": "containing", "lead": "cert-mx",
        "channel": "committee", "tlp": "amber", "declared": summary["declared"], "declared_by": "cidge",
        "last_change": summary["last_change"],
    }  # fmt: skip
    assert summary["declared"] < summary["last_change"] <= report["generated"]

    timeline = report["timeline"]
    assert [e["time"] for e in timeline] == sorted(e["time"] for e in timeline)
    states = ("2, detected", "3, assessing", "4, containing")
    declared, spread, containing = (f"{CRISIS} (severity {state})" for state in states)
    expected = [
        ("declared", "cidge", f"{CRISIS}: severity 2, detected"),
        ("update", "pemex", "Two refineries hit"),
        ("update", "cert-mx", "Malware identified as EKANS"),
        ("acknowledged", "sspc", declared), ("acknowledged", "cnpc", declared), ("acknowledged", "pemex", declared),
        ("assigned", "cidge", f"{ISOLATE} → pemex, due {isolate['due']}"),
        ("assigned", "cidge", f"{SHARE} → cert-mx, due {share['due']}"),
        ("update", "banxico", "C2 traffic seen in the financial sector"),
        ("revised", "cidge", "severity 2 → 3, status detected → assessing, affected_sectors [energy] → "
                             "[energy, finance], affected_stakeholders [pemex] → [pemex, banxico]"),
        ("acknowledged", "sedena", spread), ("acknowledged", "banxico", spread), ("acknowledged", "cert-mx", spread),
        ("sitrep", "cidge", "Sitrep 1 — refinery ransomware"),
        ("status", "pemex", f"{ISOLATE}: assigned → accepted"),
        ("status", "cert-mx", f"{SHARE}: assigned → in-progress"),
        ("update", "cfe", "Electricity grid on alert"),
        ("acknowledged", "cfe", spread),
        ("revised", "cidge", "severity 3 → 4, status assessing → containing"),
        ("status", "cert-mx", f"{SHARE}: in-progress → completed"),
        ("acknowledged", "sspc", containing), ("acknowledged", "pemex", containing),
        ("update", "cnpc", "Public advisory: ransomware at the state oil company"),
        ("escalated", "hub", f"{ISOLATE}: overdue"),
    ]  # fmt: skip
    # Injects of one second of the scenario may be stored in the same millisecond: compared as a set.
    assert sorted((e["kind"], e["by"], e["summary"]) for e in timeline) == sorted(expected)
    assert next(e for e in timeline if e["kind"] == "revised")["changes"]["severity"] == [2, 3]

    people = report["stakeholders"]
    assert [{k: v for k, v in p.items() if not k.startswith("time_to")} for p in people] == [
        person("banxico", 1, 5),  # awaited on the declaration, the last version, the advisory, escalation, sitrep
        person("cert-mx", 1, 8, actions_assigned=1, actions_completed=1),
        person("cfe", 1, 0),  # acknowledged unasked: neither lead, affected nor on the committee
        person("cidge", 0, 6),  # the updates of others, the escalation note
        person("cnpc", 1, 8),
        person("pemex", 2, 6, actions_assigned=1, actions_late=1, actions_escalated=1),
        person("sedena", 1, 9),
        person("sspc", 2, 8),
    ]  # fmt: skip
    for p in people:
        for name, count in (("time_to_acknowledge", p["acknowledged"]), ("time_to_complete", p["actions_completed"])):
            durations = p[name]
            assert durations["count"] == count, p
            if count:
                assert 0 <= durations["median"] <= durations["worst"] <= took, p
            else:
                assert durations["median"] is None and durations["worst"] is None, p

    _, versions = get(f"{url}/api/v1/objects/{isolate['id']}?versions=all", tokens["cidge"])
    assigned = min(e["time"] for e in versions["events"])
    assert report["late_or_escalated"] == [
        {"id": isolate["id"], "name": ISOLATE, "assignee": "pemex", "assigned": assigned,
         "due": isolate["due"], "status": "accepted", "completed": None, "late": True, "escalated": True},
    ]  # fmt: skip
    assert report["shared"] == [
        {"channel": "committee", "tlp": "amber", "count": 5, "readers": COMMITTEE_AMBER,
         "types": {"crisis-action": 2, "incident": 1, "note": 1, "report": 1}},
        {"channel": "public", "tlp": "clear", "count": 1, "readers": EVERYONE, "types": {"note": 1}},
        # The updates, the C2 and sample indicators the national CERT's update names, the oil company's sighting.
        {"channel": "sector.energy", "tlp": "amber", "count": 8, "readers": ENERGY_AMBER,
         "types": {"indicator": 4, "note": 3, "sighting": 1}},
        # The GREEN copy the bank's update names, then the update and the bank's sighting of it.
        {"channel": "sector.finance", "tlp": "green", "count": 1, "readers": FINANCE, "types": {"indicator": 1}},
        {"channel": "sector.finance", "tlp": "amber", "count": 2, "readers": FINANCE,
         "types": {"note": 1, "sighting": 1}},
    ]  # fmt: skip

    out = tmp_path / "report.md"
    written = crisis_hub("report", crisis, "--out", str(out), "--token", tokens["pemex"], "--url", url)
    assert written.returncode == 0 and written.stderr == f"after-action report of {crisis} written to {out}\n"
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"{EXERCISE_LINE}\n\n# After-action report: {CRISIS}\n")
    assert text.endswith(f"\n{EXERCISE_LINE}\n\n")  # first and last: forwarded, it is never taken for real
    assert "sector.finance" not in text  # the oil company reads no finance channel


def test_an_inject_the_hub_refuses_stops_the_exercise_with_one_sentence(
    hub_for_exercise: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = hub_for_exercise
    scenario = tmp_path / "refused.toml"
    scenario.write_text(
        '[[inject]]\nat = "+0s"\nas = "cidge"\ndeclare = { name = "Drill", severity = 1 }\n\n'
        '[[inject]]\nat = "+1s"\nas = "pemex"\nrevise = { severity = 2 }\n'
    )
    env = {"PATH": "/usr/bin:/bin", **{f"CRISIS_HUB_TOKEN_{who.upper()}": tokens[who] for who in ("cidge", "pemex")}}
    refused = crisis_hub("exercise", "run", str(scenario), "--speed", "50", "--url", url, env=env)
    no_traceback(refused.stderr)
    assert refused.returncode == 1
    assert refused.stderr.startswith("crisis-hub: inject 2 (pemex revise at +1s) failed: 403 Forbidden: ")
    assert refused.stderr.endswith("; 1 of 2 injects played\n") and refused.stderr.count("\n") == 1
    assert refused.stdout.splitlines()[1].split()[:4] == ["1/2", "+0", "cidge", "declare"]


def test_a_missing_token_or_a_bad_scenario_is_a_usage_error_before_anything_is_sent(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('cidge = "chub_a_b"\n')
    missing = crisis_hub("exercise", "run", str(SCENARIO), "--tokens", str(tokens), "--url", "http://127.0.0.1:9",
                         env=env)  # fmt: skip
    no_traceback(missing.stderr)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith(
        "crisis-hub: no token for pemex, cert-mx, sspc, cnpc, banxico, sedena, cfe, partner-cert: give --tokens FILE "
    )
    assert "CRISIS_HUB_TOKEN_CERT_MX" in missing.stderr and "CRISIS_HUB_TOKEN_PARTNER_CERT" in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[[inject]]\nat = "+0s"\nas = "cidge"\nmove = { action = "isolate", status = "accepted" }\n')
    refused = crisis_hub("exercise", "run", str(bad), "--url", "http://127.0.0.1:9", env=env)
    no_traceback(refused.stderr)
    assert refused.returncode == 2
    assert refused.stderr == f"crisis-hub: {bad}: inject 1: no crisis declared before it to move\n"
