"""``crisis-hub report`` prints or writes a crisis's after-action report; a failure is one sentence."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.test_cli import crisis_hub, no_traceback, run, served
from tests.cli.test_crises import declare

__all__ = ["served"]  # a fixture these tests use


def test_report_prints_markdown_or_json_and_names_what_it_cannot_find(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, data_dir, _ = served
    cidge = run("token", "create", "cidge", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    client = ["--token", cidge, "--url", url]
    crisis = declare(url, cidge, "Phishing wave", 1)
    shown = crisis_hub("report", crisis, *client)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("# After-action report: Phishing wave\n")
    assert "· Sitrep · Inter-ministerial Cyber Crisis Committee: Sitrep: Phishing wave" in shown.stdout
    as_json = json.loads(crisis_hub("report", crisis, "--format", "json", *client).stdout)
    assert as_json["crisis"]["id"] == crisis and [e["kind"] for e in as_json["timeline"]] == ["declared", "sitrep"]

    unknown = crisis_hub("report", "incident--00000000-0000-4000-8000-000000000000", *client)
    no_traceback(unknown.stderr)
    assert unknown.returncode == 1
    assert unknown.stderr == (
        "crisis-hub: 404 Not found: no crisis incident--00000000-0000-4000-8000-000000000000 that you may see\n"
    )


def test_report_without_a_token_or_a_hub_is_one_sentence() -> None:
    missing = crisis_hub("report", "incident--x", "--url", "http://127.0.0.1:9", env={"PATH": "/usr/bin"})
    assert missing.returncode == 2 and "give --token" in missing.stderr
    gone = crisis_hub("report", "incident--x", "--token", "chub_a_b", "--url", "http://127.0.0.1:9")
    no_traceback(gone.stderr)
    assert gone.returncode == 1 and gone.stderr.startswith("crisis-hub: cannot reach the hub at http://127.0.0.1:9")
