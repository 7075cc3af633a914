"""The hash-chained audit trail: what it records, and that tampering is detected."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any, cast

import orjson
import pytest

from hub import keys
from hub.auditchain import chain, encode, verify
from hub.store import AuditLog, connect
from hub.store.audit import COMPRESS_FROM, record_of
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.stixgen import bundle, indicator
from tests.stream.clients import open_ws, post
from tests.timing import STARTUP


def entries(n: int) -> list[tuple[str, bytes, str, str]]:
    linked = chain("", [encode({"n": i}) for i in range(n)])
    return [(f"{i}-0", body, prev, digest) for i, (body, prev, digest) in enumerate(linked)]


def test_an_intact_chain_verifies() -> None:
    trail = entries(5)
    assert verify(trail, trail[-1][3]).ok and verify(trail, trail[-1][3]).entries == 5
    assert verify([], None).ok


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (lambda t: [*t[:2], (t[2][0], encode({"n": 99}), t[2][2], t[2][3]), *t[3:]], "edited"),
        (lambda t: [*t[:2], *t[3:]], "removed or inserted"),
        (lambda t: [*t[:2], ("x-0", encode({"n": 7}), t[1][3], "0" * 64), *t[2:]], "edited"),
        (lambda t: t[:4], "cut off"),
    ],
)
def test_edits_deletions_insertions_and_truncation_are_detected(tamper: object, problem: str) -> None:
    trail = entries(5)
    verdict = verify(tamper(trail), trail[-1][3])  # type: ignore[operator]
    assert not verdict.ok and problem in verdict.problem


async def test_two_writers_share_one_intact_chain(redis_url: str, namespace: str) -> None:
    client = connect(redis_url)
    a, b = AuditLog(client, namespace), AuditLog(client, namespace)
    for i in range(300):
        (a if i % 2 else b).record("test", "x", n=i)
    await asyncio.gather(a.flush(), b.flush(), a.flush())
    verdict = await a.verify()
    assert verdict.ok and verdict.entries == 300
    await client.aclose()


async def audit_records(hub: Hub, **filters: str) -> list[dict[str, Any]]:
    async with hub.client.get(
        "/api/v1/admin/audit", params={"limit": "1000", **filters}, headers=hub.auth("cidge")
    ) as r:
        assert r.status == 200
        return [e["record"] for e in (await r.json())["entries"]]


async def test_writes_reads_and_live_deliveries_are_recorded_with_who_got_a_red_item(hub: Hub) -> None:
    committee, bank = await open_ws(hub, "sspc"), await open_ws(hub, "banxico")
    await committee.subscribe("sector.finance")
    await bank.subscribe("sector.finance")
    red, marker = indicator(TLP.RED), indicator(TLP.CLEAR)
    answer = await post(hub, "cert-mx", "sector.finance", red, marker)
    red_event = answer["accepted"][0]["event_id"]
    await committee.events_until(marker["id"])
    await bank.events_until(marker["id"])
    async with hub.client.get("/api/v1/channels/sector.finance/events", headers=hub.auth("banxico")) as r:
        assert r.status == 200
    [write] = await audit_records(hub, action="write")
    assert write["actor"] == "cert-mx" and [o["outcome"] for o in write["objects"]] == ["accepted", "accepted"]
    [delivery] = await audit_records(hub, action="deliver", event=red_event)
    assert delivery["to"] == ["sspc"] and delivery["tlp"] == "red"
    assert [w["stakeholder"] for w in delivery["withheld"]] == ["banxico"] and "ceiling" in delivery["withheld"][0][
        "reason"
    ]
    [read] = await audit_records(hub, action="read", actor="banxico")
    assert red_event not in read["events"] and len(read["events"]) == 1
    async with hub.client.get("/api/v1/admin/audit/verify", headers=hub.auth("cidge")) as r:
        verdict = await r.json()
    assert verdict["ok"] and verdict["entries"] >= 4
    async with hub.client.get("/api/v1/admin/audit", headers=hub.auth("sspc")) as r:
        assert r.status == 403


async def test_a_long_record_is_kept_compressed_and_read_back_as_it_was_hashed(hub: Hub) -> None:
    objects = [indicator() for _ in range(50)]
    await post(hub, "pemex", "sector.energy", *objects)
    audit = hub.client.app[keys.AUDIT]
    await audit.flush()
    [(_, fields)] = cast(list[tuple[bytes, dict[bytes, bytes]]], await audit.redis.xrange(audit.stream_key))
    [(_, record, _, _)] = await audit.entries()
    assert len(record) > COMPRESS_FROM and len(fields[b"r"]) < len(record) / 2  # 50 outcomes: kept compressed
    assert record_of(fields[b"r"]) == record == encode(orjson.loads(record))  # the canonical bytes, as hashed
    assert [o["id"] for o in orjson.loads(record)["objects"]] == [o["id"] for o in objects]
    assert (await audit.verify()).ok


async def test_audit_verify_on_the_command_line_detects_an_edited_entry(hub: Hub) -> None:
    await post(hub, "pemex", "sector.energy", indicator())
    cli = [sys.executable, "-m", "hub", "audit", "verify", "--redis-url", hub.redis_url, "--namespace", hub.namespace]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(cli, capture_output=True, text=True, timeout=STARTUP)

    await hub.client.app[keys.AUDIT].flush()
    ok = await asyncio.to_thread(run)
    assert ok.returncode == 0 and "intact" in ok.stdout
    # Tamper as someone with access to Redis would: rewrite the stream with one record changed.
    client = connect(hub.redis_url)
    key = f"{hub.namespace}:audit"
    raw = cast(list[tuple[bytes, dict[Any, Any]]], await client.xrange(key))
    await client.delete(key)
    for i, (_, fields) in enumerate(raw):
        if i == 0:
            record = orjson.loads(record_of(fields[b"r"]))
            record["actor"] = "someone-else"
            fields = {**fields, b"r": orjson.dumps(record, option=orjson.OPT_SORT_KEYS)}
        await client.xadd(key, fields)
    await client.aclose()
    broken = await asyncio.to_thread(run)
    assert broken.returncode == 1 and "BROKEN" in broken.stdout and "edited" in broken.stdout


async def test_stopping_the_writer_just_as_it_is_woken_does_not_hang(redis_url: str, namespace: str) -> None:
    """Regression: on Python 3.11, asyncio.wait_for swallowed a cancel that arrived as its wait completed.

    The writer then kept running and stop() — so the hub's shutdown — waited forever.
    """
    client = connect(redis_url)
    audit = AuditLog(client, namespace, flush_interval=60)
    await audit.start()
    await asyncio.sleep(0.01)  # the writer is waiting to be woken
    audit.record("test", "x")
    audit.wake()  # woken and cancelled in the same loop iteration
    await asyncio.wait_for(audit.stop(), 5)
    await client.aclose()


async def test_a_trail_without_a_recorded_head_continues_from_its_newest_entry(redis_url: str, namespace: str) -> None:
    """A trail written before the head was named ``{<ns>:audit}:head`` (or that lost its head) stays one chain."""
    client = connect(redis_url)
    audit = AuditLog(client, namespace)
    audit.record("first", "x")
    await audit.flush()
    await client.delete(audit.head_key)
    audit.record("second", "x")
    await audit.flush()
    verdict = await audit.verify()
    assert verdict.ok and verdict.entries == 2, verdict
    await client.aclose()


async def test_a_write_refused_for_want_of_replicas_is_still_recorded_with_what_the_primary_holds(
    hub_factory: HubFactory,
) -> None:
    # The embedded Redis has no replica: every append waits in vain and is answered 503. The primary
    # keeps the objects (a retry reports them as duplicates) and live streams may already have them,
    # so the trail must say they were stored, and that the producer was told to retry.
    hub = await hub_factory(redis_wait_replicas=1, redis_wait_timeout_ms=20)
    first = indicator(TLP.GREEN)
    async with hub.client.post(
        "/api/v1/channels/sector.finance/objects",
        data=orjson.dumps(bundle(first)),
        headers={**hub.auth("cert-mx"), "Content-Type": "application/stix+json"},
    ) as r:
        assert r.status == 503
        assert "not yet replicated" in (await r.json())["description"]
    [write] = await audit_records(hub, action="write")
    [held] = write["objects"]
    assert held["id"] == first["id"] and held["outcome"] == "not-replicated"
    assert held["event"] and "not yet replicated" in held["reason"]
