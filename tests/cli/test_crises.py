"""``crisis-hub crises`` lists the ids ``sitrep`` takes; ``sitrep`` alone briefs on the most severe crisis."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from tests.cli.test_cli import crisis_hub, no_traceback, run, served
from tests.timing import WAIT

__all__ = ["served"]  # a fixture these tests use


def post(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def declare(url: str, token: str, name: str, severity: int, **fields: Any) -> str:
    body = {"name": name, "severity": severity, "category": "malicious-code", **fields}
    crisis = post(url + "/api/v1/crises", token, body)
    post(f"{url}/api/v1/crises/{crisis['id']}/sitreps", token, {"name": f"Sitrep: {name}", "description": "So far."})
    return str(crisis["id"])


def test_crises_lists_ids_and_sitrep_without_one_takes_the_most_severe(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, data_dir, _ = served
    cidge = run("token", "create", "cidge", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    client = ["--token", cidge, "--url", url]
    assert crisis_hub("crises", *client).stdout == "no active crises (--all shows closed ones too)\n"
    assert crisis_hub("sitrep", *client).returncode == 1

    minor = declare(url, cidge, "Phishing wave", 1)
    major = declare(url, cidge, "Ransomware at the state oil company", 4)
    listing = crisis_hub("crises", *client)
    assert listing.returncode == 0, listing.stderr
    header, first, second = listing.stdout.splitlines()
    assert header.split() == ["id", "severity", "status", "updated", "name"]
    assert first.startswith(major) and "4 " in first and "detected" in first and first.endswith("oil company")
    assert second.startswith(minor) and second.endswith("Phishing wave")
    as_json = json.loads(crisis_hub("crises", "--json", *client).stdout)
    assert [c["id"] for c in as_json["crises"]] == [major, minor]

    briefing = crisis_hub("sitrep", *client)
    assert briefing.returncode == 0, briefing.stderr
    assert "Sitrep: Ransomware at the state oil company" in briefing.stdout
    assert major in briefing.stderr  # which crisis it chose
    chosen = crisis_hub("sitrep", minor, *client)
    assert "Sitrep: Phishing wave" in chosen.stdout

    # An exercise, however severe, is listed as one and never taken for the most severe crisis.
    drill = declare(url, cidge, "National blackout drill", 5, exercise=True)
    [row] = [line for line in crisis_hub("crises", *client).stdout.splitlines() if line.startswith(drill)]
    assert row.endswith("EXERCISE · National blackout drill")
    briefing = crisis_hub("sitrep", *client)
    assert major in briefing.stderr and "Sitrep: Ransomware at the state oil company" in briefing.stdout
    drilled = crisis_hub("sitrep", drill, *client)
    assert drilled.stdout.startswith("**EXERCISE EXERCISE EXERCISE**")


def test_crises_without_a_token_or_a_hub_is_one_sentence(tmp_path: Path) -> None:
    missing = crisis_hub("crises", "--url", "http://127.0.0.1:9", env={"PATH": "/usr/bin"})
    assert missing.returncode == 2 and "give --token" in missing.stderr
    gone = crisis_hub("crises", "--token", "chub_a_b", "--url", "http://127.0.0.1:9")
    no_traceback(gone.stderr)
    assert gone.returncode == 1 and gone.stderr.startswith("crisis-hub: cannot reach the hub at http://127.0.0.1:9")
