"""``crisis-hub archive`` as a user runs it on a served hub: the file, the audit trail, the store after, a restore."""

from __future__ import annotations

import hashlib
import json
import signal
import stat
import subprocess
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.taxii.catalog import collection_id
from tests.cli.test_cli import CRISIS_HUB, crisis_hub, get, no_traceback, run, served
from tests.stixgen import bundle, indicator
from tests.timing import LONG_WAIT

__all__ = ["served"]  # a fixture these tests use

CHANNEL = "sector.finance"
Served = tuple[str, Path, subprocess.Popen[str]]


def events(url: str, token: str) -> list[dict[str, Any]]:
    """Every event of the channel the token reads, through the events API, page by page."""
    found: list[dict[str, Any]] = []
    after = "0"
    while True:
        page = get(f"{url}/api/v1/channels/{CHANNEL}/events?limit=1000&after={urllib.parse.quote(after)}", token)[1]
        found += page["events"]
        if not page["next"]:
            return found
        after = page["next"]


def versions(url: str, token: str) -> set[tuple[str, str]]:
    return {(e["object"]["id"], e["object"]["modified"]) for e in events(url, token)}


def taxii_versions(url: str, token: str, stix_id: str) -> list[str]:
    """The versions TAXII lists for one object (none once it is gone)."""
    path = f"/taxii2/api/collections/{collection_id(CHANNEL)}/objects/{stix_id}/versions/"
    status, body = get(url + path, token)
    assert status in (200, 404), body
    return [] if status == 404 else sorted(body.get("versions", []))


def push(url: str, token: str, path: Path, *objects: dict[str, Any]) -> None:
    path.write_text(json.dumps(bundle(*objects)))
    pushed = crisis_hub("push", str(path), "--channel", CHANNEL, "--token", token, "--url", url)
    assert pushed.returncode == 0, pushed.stderr


def rfc3339(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def millis(event: dict[str, Any]) -> int:
    return int(event["id"].split("-")[0])


def stock(url: str, token: str, tmp_path: Path, count: int) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` objects, two of them in two versions, before the bound it returns; then three more and a third version.

    Returns the bound, the versions added before it and those added after.
    """
    first = [indicator() for _ in range(count)]
    second = [dict(o, modified="2026-11-27T11:00:00.000Z") for o in first[:2]]
    push(url, token, tmp_path / "old.json", *first, *second)
    bound = max(millis(e) for e in events(url, token)) + 1
    later = [indicator() for _ in range(3)] + [dict(first[0], modified="2026-11-27T12:00:00.000Z")]
    push(url, token, tmp_path / "new.json", *later)
    assert all(millis(e) >= bound for e in events(url, token)[-4:])  # the later push did come after the bound
    return rfc3339(bound), first + second, later


def archive_args(data_dir: Path, before: str, out: Path, *extra: str) -> list[str]:
    return ["archive", CHANNEL, "--before", before, "--out", str(out), "--data-dir", str(data_dir), *extra]


def audit_records(data_dir: Path, action: str) -> list[dict[str, Any]]:
    lines = run("audit", "export", "--data-dir", str(data_dir)).stdout.splitlines()
    return [r for r in (json.loads(line)["record"] for line in lines) if r["action"] == action]


def test_archive_moves_old_versions_to_a_private_verified_file_and_import_restores_them(
    served: Served, tmp_path: Path
) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    before, old, later = stock(url, token, tmp_path, 20)
    everything = versions(url, token)
    out = tmp_path / "finance.json.gz"

    result = crisis_hub(*archive_args(data_dir, before, out))
    no_traceback(result.stderr)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert f"22 versions of {CHANNEL} added before {before}, sha256 {digest}; 22 removed" in result.stdout
    [record] = audit_records(data_dir, "archive.verified")
    assert (record["objects"], record["sha256"], record["channel"]) == (22, digest, CHANNEL)

    # the events API, /api/v1/objects and TAXII all agree: only what came after the bound is left
    assert versions(url, token) == {(o["id"], o["modified"]) for o in later}
    assert get(f"{url}/api/v1/objects/{old[0]['id']}?versions=all", token)[1]["events"][0]["object"] == later[-1]
    assert taxii_versions(url, token, old[0]["id"]) == ["2026-11-27T12:00:00.000Z"]
    assert get(f"{url}/api/v1/objects/{old[5]['id']}", token)[0] == 404
    assert taxii_versions(url, token, old[5]["id"]) == []

    restored = crisis_hub("import", str(out), "--channel", CHANNEL, "--token", token, "--url", url)
    assert restored.returncode == 0, restored.stderr
    assert "22 objects: 22 accepted, 0 duplicates, 0 rejected" in restored.stdout
    assert versions(url, token) == everything
    assert len(events(url, token)) == len(old) + len(later)
    assert taxii_versions(url, token, old[0]["id"]) == [
        "2026-11-27T10:00:00.000Z",
        "2026-11-27T11:00:00.000Z",
        "2026-11-27T12:00:00.000Z",
    ]


def test_an_archive_killed_midway_loses_nothing_and_a_rerun_finishes_it(served: Served, tmp_path: Path) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    before, old, later = stock(url, token, tmp_path, 2000)
    out = tmp_path / "finance.json.gz"
    args = archive_args(data_dir, before, out, "--batch", "1")  # one event per step: removal takes a while

    process = subprocess.Popen([CRISIS_HUB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + LONG_WAIT
    while not out.exists():  # written and verified: removal starts now
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=LONG_WAIT)
    assert process.returncode == -signal.SIGKILL  # killed, not finished
    left = versions(url, token)
    assert len(left) > len(later)  # stopped before removing everything: what is not removed is still served
    assert left <= {(o["id"], o["modified"]) for o in old + later}

    again = crisis_hub(*args)
    no_traceback(again.stderr)
    assert again.returncode == 0, again.stderr
    assert "finishing an earlier run" in again.stdout
    assert not Path(str(out) + ".partial").exists()
    assert versions(url, token) == {(o["id"], o["modified"]) for o in later}
    *_, last = audit_records(data_dir, "archive.verified")  # the killed run may have stopped before its own
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert (last["resumed"], last["objects"], last["sha256"]) == (True, len(old), digest)

    restored = crisis_hub("import", str(out), "--channel", CHANNEL, "--token", token, "--url", url, timeout=LONG_WAIT)
    assert restored.returncode == 0, restored.stderr
    assert f"{len(old)} objects: " in restored.stdout and " 0 rejected" in restored.stdout
    assert versions(url, token) == {(o["id"], o["modified"]) for o in old + later}
    assert len(events(url, token)) == len(old) + len(later)  # nothing doubled


def test_a_file_at_out_that_is_not_a_whole_archive_is_refused_and_nothing_is_removed(
    served: Served, tmp_path: Path
) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    before, _, _ = stock(url, token, tmp_path, 5)
    stored = versions(url, token)
    out = tmp_path / "finance.json.gz"
    out.write_bytes(b"\x1f\x8b\x08\x00truncated")

    result = crisis_hub(*archive_args(data_dir, before, out))
    no_traceback(result.stderr)
    assert result.returncode == 2
    assert result.stderr.startswith(f"crisis-hub: {out} is not a whole archive (")
    assert result.stderr.endswith("): remove it and archive again\n")
    assert versions(url, token) == stored


def test_a_channel_of_several_writers_is_restored_by_each_importing_the_file_as_themselves(
    served: Served, tmp_path: Path
) -> None:
    url, data_dir, _ = served
    banxico = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    cert = run("token", "create", "cert-mx", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    ours, theirs = [indicator(), indicator()], [indicator(), indicator()]
    push(url, banxico, tmp_path / "ours.json", *ours)
    push(url, cert, tmp_path / "theirs.json", *theirs)
    sources = {e["object"]["id"]: e["source"] for e in events(url, banxico)}
    out = tmp_path / "finance.json.gz"
    before = rfc3339(max(millis(e) for e in events(url, banxico)) + 1)
    assert crisis_hub(*archive_args(data_dir, before, out)).returncode == 0

    first = crisis_hub("import", str(out), "--channel", CHANNEL, "--token", banxico, "--url", url)
    assert first.returncode == 1  # the other stakeholder's objects are refused: only an owner versions its objects
    assert "4 objects: 2 accepted, 0 duplicates, 2 rejected" in first.stdout
    assert first.stdout.count("belongs to another stakeholder") == 2
    second = crisis_hub("import", str(out), "--channel", CHANNEL, "--token", cert, "--url", url)
    assert "4 objects: 2 accepted" in second.stdout

    assert {e["object"]["id"]: e["source"] for e in events(url, banxico)} == sources
