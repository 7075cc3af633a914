"""Every marking form × every read path: a reader gets an object exactly when its TLP ceiling allows.

One table of marked objects (``ROWS``: TLP 2.0 and 1.0 ids, upper-case ids, granular-only, object +
granular, unmarked), posted once to ``committee`` (default AMBER) per read path; one table of readers of
that channel at every ceiling (``READERS``); one table of read paths (``PATHS``). For each path, each
reader and each row, the object is returned if and only if the reader may read the channel and its
ceiling is at or above the row's level. The push connector's decision is checked against its own rule.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from hub import keys
from hub.config import Config, load_config
from hub.federation.endpoints import StoreSource, with_tlp
from hub.policy import Destination, may_leave
from hub.stix import tlp_of
from hub.tlp import TLP, TLP1_MARKING_IDS, TLP2_MARKING_IDS
from tests.conftest import Hub
from tests.timing import WAIT

CHANNEL = "committee"
DEFAULT = TLP.AMBER  # committee's default_tlp in the demo configuration
POSTER = "cidge"
TAXII = "application/taxii+json;version=2.1"
STIX_JSON = {"Content-Type": "application/json"}

# --- readers of the committee channel at every ceiling --------------------------------------

# The demo committee has no reader of `committee` below AMBER+STRICT: three liaison offices are added.
LIAISONS = "\n".join(
    f"""
[roles.liaison-{level}]
read = ["committee"]
tlp = "{level}"

[stakeholders.liaison-{level}]
name = "Liaison office ({level})"
sector = "government"
roles = ["liaison-{level}"]
"""
    for level in ("amber", "green", "clear")
)

READERS: dict[str, TLP | None] = {
    "sspc": TLP.RED,
    "banxico": TLP.AMBER_STRICT,
    "liaison-amber": TLP.AMBER,
    "liaison-green": TLP.GREEN,
    "liaison-clear": TLP.CLEAR,
    "observer": None,  # may not read the channel at all
}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    demo = (Path(__file__).parent.parent / "hub" / "demo.toml").read_text()
    path = tmp_path / "hub.toml"
    path.write_text(demo + LIAISONS)
    return load_config(path)


# --- the marking forms ------------------------------------------------------------------------


def upper(marking_id: str) -> str:
    prefix, _, rest = marking_id.partition("--")
    return f"{prefix}--{rest.upper()}"


T2, T1 = TLP2_MARKING_IDS, TLP1_MARKING_IDS
STATEMENT = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"  # ATT&CK's copyright: not a TLP


def on(*refs: str) -> dict[str, Any]:
    return {"object_marking_refs": list(refs)}


def part(*refs: str) -> dict[str, Any]:
    return {"granular_markings": [{"marking_ref": ref, "selectors": ["name"]} for ref in refs]}


@dataclass(frozen=True)
class Row:
    name: str
    markings: dict[str, Any]
    level: TLP


ROWS = [
    *(Row(f"tlp2 {level.token}", on(T2[level]), level) for level in TLP),
    *(Row(f"tlp1 {level.token}", on(T1[level]), level) for level in T1),
    Row("tlp2 red, upper case", on(upper(T2[TLP.RED])), TLP.RED),
    Row("tlp2 amber+strict, upper case", on(upper(T2[TLP.AMBER_STRICT])), TLP.AMBER_STRICT),
    Row("tlp2 clear, upper case", on(upper(T2[TLP.CLEAR])), TLP.CLEAR),
    Row("tlp1 red, upper case", on(upper(T1[TLP.RED])), TLP.RED),
    Row("tlp1 white, upper case", on(upper(T1[TLP.CLEAR])), TLP.CLEAR),
    Row("granular only: tlp2 red", part(T2[TLP.RED]), TLP.RED),
    Row("granular only: tlp2 green", part(T2[TLP.GREEN]), TLP.GREEN),
    Row("granular only: tlp1 amber, upper case", part(upper(T1[TLP.AMBER])), TLP.AMBER),
    Row("green object, red part (upper case)", on(T2[TLP.GREEN]) | part(upper(T2[TLP.RED])), TLP.RED),
    Row("clear object, amber+strict part", on(T2[TLP.CLEAR]) | part(T2[TLP.AMBER_STRICT]), TLP.AMBER_STRICT),
    Row("red object (tlp1), clear part", on(T1[TLP.RED]) | part(T2[TLP.CLEAR]), TLP.RED),
    Row("unmarked: the channel default", {}, DEFAULT),
    Row("statement marking only: the channel default", on(STATEMENT), DEFAULT),
]


def indicator(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-03-01T10:00:00.000Z",
        "modified": "2026-03-01T10:00:00.000Z",
        "name": name,
        "pattern": f"[domain-name:value = '{uuid.uuid4().hex}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T10:00:00Z",
        **copy.deepcopy(extra),
    }


def tag(row: Row) -> str:
    """The row's object name: ``[n]`` is unique and no prefix of another (briefings are searched for it)."""
    return f"[{ROWS.index(row)}] {row.name}"


def may_see(reader: str, row: Row) -> bool:
    """The rule under test (DESIGN, TLP 2.0): may read the channel, and a ceiling at or above the level."""
    ceiling = READERS[reader]
    return ceiling is not None and row.level <= ceiling


# --- talking to the hub ------------------------------------------------------------------------


async def request(hub: Hub, who: str, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    data = orjson.dumps(body) if body is not None else None
    all_headers = {**hub.auth(who), **(STIX_JSON if data is not None else {}), **headers}
    async with hub.client.request(method, path, data=data, headers=all_headers) as response:
        raw = await response.read()
        if response.content_type == "text/markdown":
            return response.status, raw.decode()
        return response.status, orjson.loads(raw) if raw else None


async def post(hub: Hub, who: str, channel: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    status, result = await request(hub, who, "POST", f"/api/v1/channels/{channel}/objects", bundle)
    assert status in (200, 201, 400), result
    assert isinstance(result, dict)
    return result


async def taxii(hub: Hub, who: str, path: str) -> tuple[int, Any]:
    return await request(hub, who, "GET", f"/taxii2/api/collections/{CHANNEL}/{path}", Accept=TAXII)


class Stream:
    """One reader's WebSocket on the live stream."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, hub: Hub, who: str) -> Stream:
        stream = cls(await hub.client.ws_connect("/api/v1/stream", headers=hub.auth(who)))
        await stream.until(lambda m: m["op"] == "welcome")
        return stream

    async def until(self, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Messages up to and including the first for which ``done`` holds; events are unwrapped."""
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT):
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                message = orjson.loads(msg.data)
                seen.append(message)
                if done(message):
                    return seen

    async def subscribe(self, since: str | None) -> list[str]:
        """Subscribe to the channel; the STIX ids replayed before ``subscribed`` (nothing if forbidden)."""
        request = {"op": "subscribe", "channels": [CHANNEL], **({"since": {CHANNEL: since}} if since else {})}
        await self.ws.send_str(orjson.dumps(request).decode())
        messages = await self.until(lambda m: m["op"] in ("subscribed", "error"))
        assert messages[-1]["op"] == "subscribed" or messages[-1]["code"] == "forbidden", messages[-1]
        return [m["event"]["object"]["id"] for m in messages if m["op"] == "event"]


# --- the read paths ----------------------------------------------------------------------------

Ids = dict[str, str]  # row name → STIX id
Read = Callable[[Hub, str, Ids], Awaitable[set[str]]]  # (hub, reader, ids) → STIX ids the reader got


async def rest_events(hub: Hub, reader: str, ids: Ids) -> set[str]:
    status, body = await request(hub, reader, "GET", f"/api/v1/channels/{CHANNEL}/events?limit=1000")
    return {e["object"]["id"] for e in body["events"]} if status == 200 else set()


async def rest_object(hub: Hub, reader: str, ids: Ids) -> set[str]:
    got = set()
    for stix_id in ids.values():
        for query in ("", "?versions=all"):
            status, body = await request(hub, reader, "GET", f"/api/v1/objects/{stix_id}{query}")
            if status == 200 and body["events"]:
                assert {e["object"]["id"] for e in body["events"]} == {stix_id}
                got.add(stix_id)
    return got


async def taxii_objects(hub: Hub, reader: str, ids: Ids) -> set[str]:
    status, body = await taxii(hub, reader, "objects/?limit=1000")
    return {o["id"] for o in body.get("objects", [])} if status == 200 else set()


async def taxii_manifest(hub: Hub, reader: str, ids: Ids) -> set[str]:
    status, body = await taxii(hub, reader, "manifest/?limit=1000")
    return {o["id"] for o in body.get("objects", [])} if status == 200 else set()


async def taxii_object(hub: Hub, reader: str, ids: Ids) -> set[str]:
    got = set()
    for stix_id in ids.values():
        status, body = await taxii(hub, reader, f"objects/{stix_id}/?match[version]=all")
        if status == 200 and body.get("objects"):
            assert {o["id"] for o in body["objects"]} == {stix_id}
            got.add(stix_id)
    return got


async def taxii_versions(hub: Hub, reader: str, ids: Ids) -> set[str]:
    got = set()
    for stix_id in ids.values():
        status, body = await taxii(hub, reader, f"objects/{stix_id}/versions/")
        if status == 200 and body.get("versions"):
            got.add(stix_id)
    return got


async def stream_replay(hub: Hub, reader: str, ids: Ids) -> set[str]:
    stream = await Stream.open(hub, reader)
    try:
        return set(await stream.subscribe(since="0"))
    finally:
        await stream.ws.close()


PATHS: dict[str, Read] = {
    "REST channel events": rest_events,
    "REST object by id": rest_object,
    "TAXII objects": taxii_objects,
    "TAXII manifest": taxii_manifest,
    "TAXII object by id": taxii_object,
    "TAXII versions": taxii_versions,
    "stream replay (since)": stream_replay,
}


# --- the tests -------------------------------------------------------------------------------------


async def post_rows(hub: Hub) -> Ids:
    """Post every row once, as one bundle; every object is accepted."""
    objects = {row.name: indicator(tag(row), **row.markings) for row in ROWS}
    result = await post(hub, POSTER, CHANNEL, list(objects.values()))
    assert not result["rejected"], result["rejected"]
    return {name: obj["id"] for name, obj in objects.items()}


def mismatches(path: str, got: dict[str, set[str]], ids: Ids) -> list[str]:
    """One line per (reader, row) where what the path returned is not what the policy allows."""
    wrong = []
    for reader in READERS:
        for row in ROWS:
            expected, returned = may_see(reader, row), ids[row.name] in got[reader]
            if expected != returned:
                verb = "withheld" if expected else "LEAKED"
                ceiling = READERS[reader]
                wrong.append(f"{path}: {row.name} ({row.level.label}) {verb} to {reader} ({ceiling and ceiling.label})")
    return wrong


@pytest.mark.parametrize("path", list(PATHS))
async def test_each_read_path_returns_an_object_exactly_when_the_reader_may_see_it(hub: Hub, path: str) -> None:
    """Every marking form × every reader, on one read path."""
    ids = await post_rows(hub)
    got = {reader: await PATHS[path](hub, reader, ids) for reader in READERS}
    assert mismatches(path, got, ids) == []


async def test_the_live_stream_delivers_an_object_exactly_when_the_reader_may_see_it(hub: Hub) -> None:
    """Subscribed before the post; a CLEAR marker posted last closes every reader's collection."""
    streams = {reader: await Stream.open(hub, reader) for reader in READERS}
    try:
        refused = {reader for reader, stream in streams.items() if READERS[reader] is None}
        for stream in streams.values():
            assert await stream.subscribe(since=None) == []
        ids = await post_rows(hub)
        marker = indicator("end of the rows", **on(T2[TLP.CLEAR]))
        await post(hub, POSTER, CHANNEL, [marker])
        got: dict[str, set[str]] = {reader: set() for reader in READERS}
        for reader, stream in streams.items():
            if reader in refused:
                continue
            messages = await stream.until(lambda m: m["op"] == "event" and m["event"]["object"]["id"] == marker["id"])
            got[reader] = {m["event"]["object"]["id"] for m in messages if m["op"] == "event"}
        assert mismatches("stream live", got, ids) == []
    finally:
        for stream in streams.values():
            await stream.ws.close()


@pytest.mark.parametrize("ceiling", [TLP.GREEN, TLP.AMBER, TLP.RED], ids=lambda t: t.token)
async def test_the_push_connector_lets_leave_exactly_what_the_policy_allows(hub: Hub, ceiling: TLP) -> None:
    """Read as the push connector reads the channel; RED and AMBER+STRICT never leave, nothing above the partner."""
    ids = await post_rows(hub)
    by_id = {stix_id: name for name, stix_id in ids.items()}
    source = StoreSource(hub.client.app[keys.STORE], CHANNEL)
    try:
        batch = await source.read("0-0", 1000)
    finally:
        await source.close()
    partner = Destination("partner", "a partner", ceiling)
    wrong = []
    for event in batch.events:
        row = next(row for row in ROWS if row.name == by_id[event.obj["id"]])
        allowed = row.level < TLP.AMBER_STRICT and row.level <= ceiling
        if bool(may_leave(event, partner)) != allowed:
            wrong.append(f"{row.name} ({row.level.label}) to a {ceiling.label} partner: leaves={not allowed}")
        if tlp_of(with_tlp(event.obj, event.tlp)) is not row.level:
            wrong.append(f"{row.name}: would travel as {tlp_of(with_tlp(event.obj, event.tlp))}")
    assert len(batch.events) == len(ROWS)
    assert wrong == []


# --- sitreps -----------------------------------------------------------------------------------------


async def new_crisis(hub: Hub) -> str:
    body = {
        "name": "Payment system outage",
        "severity": 3,
        "category": "availability",
        "subcategory": "dos",
        "lead": "cert-mx",
        "affected_sectors": ["finance"],
        "affected_stakeholders": ["banxico"],
        "channel": CHANNEL,
        "tlp": "clear",  # every reader sees the crisis: only the sitrep's and the objects' levels matter
    }
    status, crisis = await request(hub, POSTER, "POST", "/api/v1/crises", body)
    assert status == 201, crisis
    return str(crisis["id"])


@pytest.mark.parametrize("sitrep_tlp", [TLP.GREEN, TLP.AMBER, TLP.RED], ids=lambda t: t.token)
async def test_a_sitrep_names_and_exports_an_object_exactly_when_the_reader_may_see_it(
    hub: Hub, sitrep_tlp: TLP
) -> None:
    """A sitrep at a level may name only rows at or below it; its bundle and briefing show what each reader may see."""
    ids = await post_rows(hub)
    crisis = await new_crisis(hub)
    sitreps = f"/api/v1/crises/{crisis}/sitreps"
    refused = []
    for row in ROWS:
        if row.level > sitrep_tlp:
            body = {"name": "too high", "description": "x", "object_refs": [ids[row.name]], "tlp": sitrep_tlp.token}
            status, _ = await request(hub, POSTER, "POST", sitreps, body)
            if status != 400:
                refused.append(f"a {sitrep_tlp.label} sitrep could name {row.name} ({row.level.label})")
    assert refused == []
    named = [ids[row.name] for row in ROWS if row.level <= sitrep_tlp]
    body = {"name": "Sitrep", "description": "Where we are.", "object_refs": named, "tlp": sitrep_tlp.token}
    status, created = await request(hub, POSTER, "POST", sitreps, body)
    assert status == 201, created

    bundles: dict[str, set[str]] = {}
    briefings: dict[str, set[str]] = {}
    for reader in READERS:
        status, bundle = await request(hub, reader, "GET", f"/api/v1/crises/{crisis}/sitrep")
        bundles[reader] = {o["id"] for o in bundle["objects"]} if status == 200 else set()
        status, text = await request(hub, reader, "GET", f"/api/v1/crises/{crisis}/sitrep?format=md")
        briefings[reader] = {ids[row.name] for row in ROWS if status == 200 and tag(row).split()[0] in text}
    wrong = []
    for reader in READERS:
        for row in ROWS:
            sees_sitrep = may_see(reader, Row("the sitrep", {}, sitrep_tlp))
            expected = sees_sitrep and row.level <= sitrep_tlp and may_see(reader, row)
            for path, got in (("bundle", bundles), ("briefing", briefings)):
                if (ids[row.name] in got[reader]) != expected:
                    wrong.append(f"sitrep {path}: {row.name} ({row.level.label}) to {reader}: expected {expected}")
    assert wrong == []


# --- the cases, one by one ---------------------------------------------------------------------

RED_UPPER = "marking-definition--E828B379-4E03-4974-9AC4-E53A884C97C1"


async def test_upper_case_red_posted_to_committee_is_red_and_never_reaches_an_institution(hub: Hub) -> None:
    """Not AMBER (the committee's default): banxico gets it on no path, a committee member does."""
    obj = indicator("upper-case red", **on(RED_UPPER))
    result = await post(hub, POSTER, CHANNEL, [obj])
    assert [a["id"] for a in result["accepted"]] == [obj["id"]]
    status, body = await request(hub, "sspc", "GET", f"/api/v1/objects/{obj['id']}")
    assert status == 200 and body["events"][0]["tlp"] == "red"
    assert (await request(hub, "banxico", "GET", f"/api/v1/objects/{obj['id']}"))[0] == 404
    assert obj["id"] not in await rest_events(hub, "banxico", {})


async def test_upper_case_red_posted_to_public_is_refused_and_reaches_no_one(hub: Hub) -> None:
    """The public channel accepts nothing above CLEAR: an upper-case RED is RED, so it is rejected."""
    obj = indicator("upper-case red for the public", **on(RED_UPPER))
    result = await post(hub, POSTER, "public", [obj])
    assert result["accepted"] == [] and [r["id"] for r in result["rejected"]] == [obj["id"]]
    status, events = await request(hub, "observer", "GET", "/api/v1/channels/public/events")
    assert status == 200 and obj["id"] not in {e["object"]["id"] for e in events["events"]}
    status, envelope = await request(
        hub, "partner-cert", "GET", "/taxii2/api/collections/public/objects/", Accept=TAXII
    )
    assert status == 200 and obj["id"] not in {o["id"] for o in envelope.get("objects", [])}


TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


@pytest.mark.parametrize(
    "declaration",
    [
        {"extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "red"}}, "name": "TLP:RED"},
        {"definition_type": "tlp", "definition": {"tlp": "red"}},
    ],
    ids=["tlp2-extension", "tlp1-definition-type"],
)
async def test_a_home_made_tlp_marking_is_refused_with_the_objects_it_marks(
    hub: Hub, declaration: dict[str, Any]
) -> None:
    """Not the channel default for what it marks: the definition and its objects are rejected with a reason."""
    marking = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid4()}",
        "created": "2026-03-01T10:00:00.000Z",
        **declaration,
    }
    marked = indicator("marked with a home-made red", **on(marking["id"]))
    in_part = indicator("partly marked with a home-made red", **part(marking["id"]))
    result = await post(hub, POSTER, CHANNEL, [marking, marked, in_part])
    assert result["accepted"] == []
    reasons = {r["id"]: r["reason"] for r in result["rejected"]}
    assert set(reasons) == {marking["id"], marked["id"], in_part["id"]}
    assert all("not an official TLP marking" in reason for reason in reasons.values()), reasons
    assert "mark with the official TLP 2.0 ids" in reasons[marking["id"]]
    for stix_id in reasons:
        assert (await request(hub, "banxico", "GET", f"/api/v1/objects/{stix_id}"))[0] == 404


def test_rows_are_distinct_and_cover_every_form() -> None:
    """Guard on the table: unique names, every level reached, the default used, upper case and granular present."""
    assert len({row.name for row in ROWS}) == len(ROWS)
    assert {row.level for row in ROWS} == set(TLP)
    assert any("upper" in row.name for row in ROWS) and any("granular" in row.name for row in ROWS)
