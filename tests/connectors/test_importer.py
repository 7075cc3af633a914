"""Bundle import: files, folders and .json.gz, streamed in batches, with a summary per object."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import subprocess
import sys
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import orjson

from connectors.client import HubClient
from connectors.importer import batches, expand, import_paths, iter_objects
from hub.tlp import TLP
from tests.conftest import STIX_DATA, Hub
from tests.stixgen import bundle, indicator
from tests.timing import STARTUP

ATTACK = STIX_DATA / "attack" / "ics-attack-18.1.json"


def write_bundle(path: Path, objects: list[dict[str, Any]], *, gz: bool = False) -> Path:
    data = orjson.dumps(bundle(*objects))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, 1) if gz else data)
    return path


def test_folders_are_searched_recursively_for_json_and_json_gz(tmp_path: Path) -> None:
    a = write_bundle(tmp_path / "x" / "b.json", [indicator()])
    b = write_bundle(tmp_path / "x" / "deeper" / "a.json.gz", [indicator()], gz=True)
    (tmp_path / "x" / "notes.txt").write_text("not a bundle")
    lone = write_bundle(tmp_path / "c.json", [indicator()])
    assert expand([tmp_path / "x", lone]) == [a, b, lone]


def test_a_40_mb_bundle_is_parsed_in_batches_without_being_held_in_memory(tmp_path: Path) -> None:
    template = indicator(TLP.GREEN, description="x" * 700)
    count = 40_000
    path = tmp_path / "big.json"
    with path.open("wb") as out:  # written piece by piece: the test itself does not hold it either
        out.write(b'{"type": "bundle", "id": "bundle--' + str(uuid.uuid4()).encode() + b'", "objects": [')
        for n in range(count):
            out.write((b"," if n else b"") + orjson.dumps({**template, "id": f"indicator--{uuid.uuid4()}"}))
        out.write(b"]}")
    size = path.stat().st_size
    assert size > 40_000_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        seen = read = 0

        def progress(n: int) -> None:
            nonlocal read
            read += n

        for objects, body in batches(iter_objects(path, progress), 500):
            seen += objects
            assert len(body) < 1_000_000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert seen == count and read == size
    assert peak < 6_000_000, f"parsing a {size / 1e6:.0f} MB bundle peaked at {peak / 1e6:.1f} MB"
    print(f"\n40 MB bundle: {count} objects in {elapsed:.2f}s (traced), peak {peak / 1e6:.1f} MB")


def test_a_file_holding_one_object_is_one_object(tmp_path: Path) -> None:
    obj = indicator()
    path = tmp_path / "one.json"
    path.write_bytes(orjson.dumps(obj))
    assert list(iter_objects(path)) == [obj]


async def test_unreadable_files_are_reported_and_the_others_imported(hub: Hub, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_bytes(b'{"type": "bundle", "objects": [{"type": ')
    (tmp_path / "list.json").write_bytes(b"[1, 2]")
    good = write_bundle(tmp_path / "z.json", [indicator(TLP.GREEN)])
    async with HubClient(str(hub.client.make_url("")), hub.tokens["cert-mx"]) as client:
        summary = await import_paths(client, "sector.energy", expand([tmp_path]), batch=10)
    assert summary.accepted == 1 and summary.files == 3
    assert {Path(f).name for f, _ in summary.failed_files} == {"broken.json", "list.json"}
    assert all("not JSON" in why or "not a STIX bundle" in why for _, why in summary.failed_files), summary
    assert good.exists()


async def test_crisis_hub_import_of_a_folder_with_a_gz_bundle_and_attack(hub: Hub, tmp_path: Path) -> None:
    """The command as a user runs it: a progress bar, then accepted, duplicates and rejected with reasons."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    shutil.copy(ATTACK, folder / ATTACK.name)
    bad = {**indicator(), "pattern": "[this is not a pattern]"}
    write_bundle(folder / "today" / "iocs.json.gz", [indicator(TLP.GREEN), bad, indicator(TLP.AMBER)], gz=True)
    command = [
        sys.executable, "-m", "hub", "import", str(folder), "--channel", "sector.energy",
        "--url", str(hub.client.make_url("")), "--token", hub.tokens["cert-mx"], "--batch", "400",
    ]  # fmt: skip
    started = time.perf_counter()
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=2 * STARTUP)
    elapsed = time.perf_counter() - started
    attack_objects = len(orjson.loads(ATTACK.read_bytes())["objects"])
    assert result.returncode == 1, result.stderr  # something was rejected
    summary = result.stdout.splitlines()
    assert summary[0] == (
        f"2 files → sector.energy: {attack_objects + 3} objects: "
        f"{attack_objects + 2} accepted, 0 duplicates, 1 rejected"
    )
    assert summary[1].startswith(f"  rejected {folder / 'today' / 'iocs.json.gz'} #1 {bad['id']}: ")
    assert "pattern" in summary[1].lower()
    assert "import sector.energy" in result.stderr and "100%" in result.stderr  # the progress bar
    print(f"\nATT&CK for ICS ({attack_objects} objects) + 3 imported in {elapsed:.1f}s, process start included")
