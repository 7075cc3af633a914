"""``retain_days`` on a real Redis and a clock the test sets: a daily archive into the data folder, then removal."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from hub import archive
from hub.config import Channel
from hub.retention import DAY_MS, archive_bound, archive_due, trim_once
from hub.store import Store, connect
from hub.store.audit import AuditLog
from hub.tlp import TLP
from tests.stixgen import indicator
from tests.taxii.helpers import versions_of

MIDNIGHT = 1_796_515_200_000  # 2026-12-06T00:00:00Z


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[Store]:
    client = connect(redis_url)
    yield Store(client, namespace)
    await client.aclose()


@pytest.fixture
async def audit(redis_url: str, namespace: str) -> AsyncIterator[AuditLog]:
    client = connect(redis_url)
    yield AuditLog(client, namespace)
    await client.aclose()


def kept_for(days: float) -> Channel:
    return Channel(name="committee", title="Committee", default_tlp=TLP.AMBER, retain_days=days)


def test_the_bound_is_midnight_utc_minus_the_days_kept_all_day_long() -> None:
    assert archive_bound(MIDNIGHT + 7 * 3_600_000, 2) == (MIDNIGHT - 2 * DAY_MS, "2026-12-06")
    assert archive_bound(MIDNIGHT + DAY_MS - 1, 2) == (MIDNIGHT - 2 * DAY_MS, "2026-12-06")
    assert archive_bound(MIDNIGHT + DAY_MS, 0.5) == (MIDNIGHT + DAY_MS // 2, "2026-12-07")


async def test_versions_older_than_retain_days_go_to_a_private_file_of_the_day_then_out_of_the_store(
    store: Store, audit: AuditLog, tmp_path: Path
) -> None:
    items = [
        *versions_of(indicator(), "2026-11-27T10:00:00.000Z"),
        *versions_of(indicator(), "2026-11-27T11:00:00.000Z"),
    ]
    await store.append("committee", "cidge", items)
    newest = (await store.read("committee", "0-0", 10))[-1].millis
    later = newest + 3 * DAY_MS  # the test's clock: three days on, every version is more than a day old
    folder = tmp_path / "archive"

    assert await archive_due(store, audit, kept_for(1), folder, later) == 2

    [out] = folder.iterdir()
    assert out.name == f"committee.{archive_bound(later, 1)[1]}.json.gz"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert archive.verify(out).versions == {(it.id, it.version) for it in items}
    assert await store.read("committee", "0-0", 10) == []
    await audit.flush()
    records = [orjson.loads(body) for _, body, _, _ in await audit.entries()]
    assert [(r["action"], r.get("objects"), r.get("removed")) for r in records] == [
        ("archive.verified", 2, None),
        ("archive.removed", None, 2),
    ]


async def test_nothing_is_archived_before_it_is_retain_days_old_nor_twice_the_same_day(
    store: Store, audit: AuditLog, tmp_path: Path
) -> None:
    await store.append("committee", "cidge", versions_of(indicator(), "2026-11-27T10:00:00.000Z"))
    newest = (await store.read("committee", "0-0", 10))[-1].millis
    folder = tmp_path / "archive"

    assert await archive_due(store, audit, kept_for(3), folder, newest + DAY_MS) == 0  # a day old, three are kept
    assert not folder.exists()
    later = newest + 5 * DAY_MS
    assert await archive_due(store, audit, kept_for(3), folder, later) == 1
    assert await archive_due(store, audit, kept_for(3), folder, later + 60_000) == 0  # the next pass, a minute on
    assert len(list(folder.iterdir())) == 1


async def test_trimming_keeps_the_newest_retain_events_and_leaves_retain_days_to_the_archive(store: Store) -> None:
    await store.append(
        "committee", "cidge", [it for _ in range(5) for it in versions_of(indicator(), "2026-11-27T10:00:00.000Z")]
    )
    channel = Channel(name="committee", title="Committee", default_tlp=TLP.AMBER, retain_events=3, retain_days=0.000001)

    assert await trim_once(store, [channel]) == 2
    assert len(await store.read("committee", "0-0", 10)) == 3
