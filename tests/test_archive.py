"""Archiving against a real Redis: what the file holds, and that removal takes exactly the archived versions."""

from __future__ import annotations

import asyncio
import fcntl
import gzip
import json
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub import archive
from hub.store import Store, connect
from tests.stixgen import indicator
from tests.taxii.helpers import versions_of
from tests.timing import WAIT


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[Store]:
    client = connect(redis_url)
    yield Store(client, namespace)
    await client.aclose()


async def test_removal_takes_only_the_versions_the_archive_holds(store: Store) -> None:
    kept, gone = indicator(), indicator()
    await store.append("committee", "cidge", versions_of(gone, "2026-11-27T10:00:00.000Z", "2026-11-27T11:00:00.000Z"))
    await store.append("committee", "cidge", versions_of(kept, "2026-11-27T10:00:00.000Z"))
    bound, _ = await store.clock_and_last_id("committee")
    archived = frozenset({(gone["id"], "2026-11-27T10:00:00.000Z"), (gone["id"], "2026-11-27T11:00:00.000Z")})
    _, newest_gone, _ = await store.read("committee", "0-0", 10)

    removed = await archive.remove(store, "committee", bound + 1, archived, 1, lambda _: None)

    assert removed == 2
    assert [e.stix_id for e in await store.read("committee", "0-0", 10)] == [kept["id"]]
    versions = await store.versions_in("committee", [kept["id"], gone["id"]])
    assert {sid: list(found) for sid, found in versions.items()} == {
        kept["id"]: ["2026-11-27T10:00:00.000Z"],
        gone["id"]: [],
    }
    assert await archive.missing_from(store, "committee", bound + 1, archived, 10) == 1
    assert await store.trimmed_to("committee") == newest_gone.id  # a stream resuming before it is told of the gap
    await store.mark_trimmed("committee", "1-0")
    assert await store.trimmed_to("committee") == newest_gone.id  # the mark never moves back


async def test_the_file_holds_every_version_before_the_bound_as_stored_and_only_its_owner_may_read_it(
    store: Store, tmp_path: Path
) -> None:
    old = indicator()
    items = versions_of(old, "2026-11-27T10:00:00.000Z", "2026-11-27T11:00:00.000Z")
    await store.append("committee", "cidge", items)
    bound = (await store.read("committee", "0-0", 10))[-1].millis + 1
    deadline = time.monotonic() + WAIT
    while (await store.clock_and_last_id("committee"))[0] < bound:  # what comes next lands at the bound or later
        assert time.monotonic() < deadline
        await asyncio.sleep(0.001)
    await store.append("committee", "cidge", versions_of(indicator(), "2026-11-27T12:00:00.000Z"))
    out = tmp_path / "committee.json.gz"

    verified = await archive.write(store, "committee", bound, out, 1, lambda _: None)

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    written = json.loads(gzip.decompress(out.read_bytes()))
    assert written["type"] == "bundle" and written["objects"] == [json.loads(it.raw) for it in items]
    assert verified.count == 2 and verified == archive.verify(out)
    assert not archive.partial_path(out).exists()
    assert len(await store.read("committee", "0-0", 10)) == 3  # writing removes nothing


async def test_a_second_writer_of_the_same_file_is_refused_while_the_first_holds_it(
    store: Store, tmp_path: Path
) -> None:
    await store.append("committee", "cidge", versions_of(indicator(), "2026-11-27T10:00:00.000Z"))
    now, _ = await store.clock_and_last_id("committee")
    out = tmp_path / "committee.json.gz"
    with open(archive.partial_path(out), "wb") as first:
        fcntl.flock(first.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run writing it holds it
        with pytest.raises(archive.ArchiveError, match="another archive is writing"):
            await archive.write(store, "committee", now + 1, out, 10, lambda _: None)
    assert not out.exists()
    await archive.write(store, "committee", now + 1, out, 10, lambda _: None)  # once it is released
    assert archive.verify(out).count == 1
