"""Pulling a partner's TAXII 2.1 collection: our own TAXII server as the partner, a real Redis behind both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.events import Event
from hub.federation.pull import PullCheckpoint, format_timestamp, object_key, parse_timestamp
from hub.store import Store, connect
from hub.tlp import TLP
from tests.conftest import Hub
from tests.federation.conftest import PASSWORD_ENV, Local, spec
from tests.stixgen import indicator
from tests.taxii.helpers import append, blocking, bulk_items, collection, collection_url, envelope
from tests.timing import WAIT

# --- the checkpoint's rules, without I/O -------------------------------------------------------------------


def test_timestamps_of_any_precision_read_to_the_microsecond() -> None:
    assert parse_timestamp("2026-11-27T09:17:39Z") == datetime(2026, 11, 27, 9, 17, 39, tzinfo=UTC)
    assert parse_timestamp("2026-11-27T09:17:39.1Z").microsecond == 100_000
    assert parse_timestamp("2026-11-27T09:17:39.123456789Z").microsecond == 123_456
    assert format_timestamp(parse_timestamp("2026-11-27T09:17:39.123Z")) == "2026-11-27T09:17:39.123000Z"


def test_added_after_is_just_before_the_checkpoint_so_its_own_objects_come_back() -> None:
    assert PullCheckpoint().added_after() is None
    checkpoint = PullCheckpoint("2026-11-27T09:17:39.123Z", frozenset({"indicator--a|v1"}))
    assert checkpoint.added_after() == "2026-11-27T09:17:39.122999Z"


def test_objects_taken_at_the_checkpoint_are_dropped_when_they_come_back() -> None:
    a, b = {"id": "indicator--a", "modified": "v1"}, {"id": "indicator--b", "modified": "v1"}
    checkpoint = PullCheckpoint("2026-11-27T09:17:39.123Z", frozenset({object_key(a)}))
    assert checkpoint.fresh([a, b]) == [b]
    assert checkpoint.fresh([{**a, "modified": "v2"}]) == [{**a, "modified": "v2"}]  # a new version is new


def test_pages_sharing_a_timestamp_add_up_and_a_later_one_starts_afresh() -> None:
    start = PullCheckpoint().advance(["x|1", "y|1"], "2026-11-27T09:17:39.123Z")
    same = start.advance(["z|1"], "2026-11-27T09:17:39.123000Z")  # the same instant, written differently
    assert same.taken == {"x|1", "y|1", "z|1"}
    later = same.advance(["w|1"], "2026-11-27T09:17:39.124Z")
    assert later == PullCheckpoint("2026-11-27T09:17:39.124Z", frozenset({"w|1"}))
    assert later.advance([], None) == later  # an empty page moves nothing
    assert PullCheckpoint.from_json(later.to_json()) == later


async def partner_stream(hub: Hub) -> list[Event]:
    client = connect(hub.redis_url)
    try:
        return await Store(client, hub.namespace).read("partners", "0-0", 1000)
    finally:
        await client.aclose()


# --- against a partner -----------------------------------------------------------------------------------------


@pytest.fixture
def env(hub: Hub) -> dict[str, str]:
    return {PASSWORD_ENV: hub.tokens["partner-cert"]}


def pull_spec(hub: Hub, **settings: object) -> object:
    return spec(
        "from-partner", "taxii-pull", collection_url(hub, "partners"), "partners",
        username="partner-cert", password_env=PASSWORD_ENV, stakeholder="partner-cert", page_size=7, timeout=WAIT,
        **settings,
    )  # fmt: skip


async def test_a_poll_pages_through_next_and_takes_objects_sharing_a_millisecond_once(
    hub: Hub, local: Local, env: dict[str, str]
) -> None:
    items = bulk_items(25)
    await append(hub, "partners", "partner-cert", items)  # one atomic append: they share a millisecond
    pull = await local.pull(pull_spec(hub), env)  # type: ignore[arg-type]
    report = await pull.poll()
    assert report.pages == 4 and report.accepted == 25 and report.duplicates == 0
    assert await local.stix_ids("partners") == [i.id for i in items]
    events = await local.events("partners")
    assert {e.source for e in events} == {"partner-cert"} and {e.tlp for e in events} == {TLP.GREEN}
    checkpoint = PullCheckpoint.from_json(await pull.state.load_checkpoint())
    partner_events = await partner_stream(hub)
    last_ms = partner_events[-1].millis  # usually all 25; a loaded Redis may spread an append over a few ms
    assert checkpoint.date_added == partner_events[-1].time
    at_last = {f"{e.stix_id}|{e.version}" for e in partner_events if e.millis == last_ms}
    assert at_last <= checkpoint.taken  # every object of the checkpoint's millisecond is remembered
    again = await pull.poll()  # the partner returns the checkpoint's millisecond; nothing is taken twice
    assert (again.fetched, again.accepted, again.duplicates) == (len(at_last), 0, 0)
    assert len(await local.events("partners")) == 25


async def test_unmarked_objects_take_assume_tlp(hub: Hub, local: Local, env: dict[str, str]) -> None:
    unmarked = indicator()
    partners = collection(hub, "partner-cert", "partners")
    await blocking(lambda: partners.add_objects(envelope(unmarked, indicator(TLP.CLEAR))))
    pull = await local.pull(pull_spec(hub, assume_tlp=TLP.AMBER), env)  # type: ignore[arg-type]
    await pull.poll()
    assert [e.tlp for e in await local.events("partners")] == [TLP.AMBER, TLP.CLEAR]


class FailAfter:
    """A sink that stores ``pages`` pages, then fails like a hub whose Redis just went away."""

    def __init__(self, inner: object, pages: int) -> None:
        self.inner, self.pages = inner, pages

    async def put(self, objects: list[dict[str, object]]) -> object:
        if self.pages == 0:
            raise ConnectionError("the hub went away")
        self.pages -= 1
        return await self.inner.put(objects)  # type: ignore[attr-defined]


async def test_a_restart_in_the_middle_of_a_shared_millisecond_neither_skips_nor_repeats(
    hub: Hub, local: Local, env: dict[str, str]
) -> None:
    first = bulk_items(20)
    await append(hub, "partners", "partner-cert", first)
    crashing = await local.pull(pull_spec(hub), env)  # type: ignore[arg-type]
    crashing.sink = FailAfter(crashing.sink, pages=2)  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        await crashing.poll()
    assert len(await local.events("partners")) == 14  # two pages of 7 stored, the checkpoint after them
    await crashing.state.release()  # the process is gone; a new one takes over
    second = bulk_items(9)
    await append(hub, "partners", "partner-cert", second)
    restarted = await local.pull(pull_spec(hub), env)  # type: ignore[arg-type]
    report = await restarted.poll()
    assert report.accepted == 15 and report.duplicates == 0  # not one object stored twice, not one skipped
    assert await local.stix_ids("partners") == [i.id for i in first + second]
