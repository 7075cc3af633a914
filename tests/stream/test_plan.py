"""The fan-out plan of a batch, checked event by event against the policy. Pure: no loop, no Redis.

The plan queues a whole batch on each subscription as one item, and decides
once per stakeholder and read key; these properties pin what that must still
mean per event: every subscription gets exactly the events after its cursor
that its stakeholder may read, once and in order, and the audit names, for
each event, who received it and who was withheld it. The sockets are not the
subject here: tests/stream/test_handler.py covers them end to end.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.events import Event, id_key
from hub.policy import Principal, may_read
from hub.stream.plan import Plan, plan
from hub.stream.session import Subscription
from hub.tlp import TLP

CHANNEL = "committee"


def split_frames(data: bytes) -> list[bytes]:
    """The payloads of consecutive unmasked text frames (what a browser's WebSocket would read)."""
    out = []
    pos = 0
    while pos < len(data):
        assert data[pos] == 0x81  # final text frame
        length, start = data[pos + 1], pos + 2
        assert length & 0x80 == 0  # a server never masks
        if length == 126:
            length, start = int.from_bytes(data[pos + 2 : pos + 4], "big"), pos + 4
        elif length == 127:
            length, start = int.from_bytes(data[pos + 2 : pos + 10], "big"), pos + 10
        out.append(data[start : start + length])
        pos = start + length
    return out


def event_id_of(message: bytes) -> str:
    return message[message.index(b'"id":"') + 6 :].split(b'"', 1)[0].decode()


def principal(name: str, ceiling: TLP | None) -> Principal:
    read = {CHANNEL: ceiling} if ceiling is not None else {"elsewhere": TLP.RED}
    return Principal(name, name, None, (), read, frozenset())


def event(seq: int, tlp: TLP = TLP.GREEN, size: int = 10) -> Event:
    # Sizes cross the 126 and 65,536 byte boundaries of the frame header.
    raw = b'{"type":"note","content":"' + b"x" * size + b'"}'
    return Event(f"1000-{seq}", CHANNEL, "cert", tlp, "note", f"note--{seq}", "", raw)


def carry_out(fan: Plan[int], batch: list[Event], received: dict[int, list[bytes]]) -> None:
    """What the dispatcher does with a plan: move the cursors, queue the frames."""
    for sub in fan.passed:
        sub.passes(batch[-1].id, id_key(batch[-1].id))
    for recipient, _, frames, count, last in fan.deliveries:
        messages = split_frames(frames)
        assert len(messages) == count and event_id_of(messages[-1]) == last
        received[recipient] += messages


ceilings = st.sampled_from([*TLP, None])
streams = st.lists(st.tuples(st.integers(0, 3), st.integers(-1, 12)), min_size=1, max_size=8)


@given(
    ceilings=st.lists(ceilings, min_size=4, max_size=4),
    streams=streams,
    tlps=st.lists(st.sampled_from(list(TLP)), min_size=1, max_size=12),
    sizes=st.lists(st.sampled_from([0, 100, 70_000]), min_size=12, max_size=12),
    cut=st.integers(0, 12),
)
def test_each_stream_gets_exactly_the_allowed_events_after_its_cursor(
    ceilings: list[TLP | None], streams: list[tuple[int, int]], tlps: list[TLP], sizes: list[int], cut: int
) -> None:
    people = [principal(f"s{k}", c) for k, c in enumerate(ceilings)]
    batch = [event(seq, tlp, sizes[seq]) for seq, tlp in enumerate(tlps)]
    audience = []
    starts = []
    for n, (who, cursor) in enumerate(streams):
        sub = Subscription(CHANNEL, f"1000-{cursor}" if cursor >= 0 else "0-0", live=True)
        audience.append((n, people[who], sub))
        starts.append(sub.cursor)
    received: dict[int, list[bytes]] = {n: [] for n in range(len(streams))}
    offers = []

    # Two consecutive batches, cut anywhere: a stream's cursor carries over.
    for part in (batch[:cut], batch[cut:]):
        if part:
            fan = plan(part, audience)
            carry_out(fan, part, received)
            offers += fan.offers
            assert fan.delivered == sum(len(o.to) for o in fan.offers)
            assert fan.withheld == sum(len(o.withheld) for o in fan.offers)

    for (n, reader, sub), start in zip(audience, starts, strict=True):
        expected = [e for e in batch if id_key(e.id) > id_key(start) and may_read(reader, e)]
        assert [event_id_of(m) for m in received[n]] == [e.id for e in expected]
        assert all(m.endswith(e.raw + b"}}") for m, e in zip(received[n], expected, strict=True))
        if id_key(start) < id_key(batch[-1].id):
            assert sub.cursor == batch[-1].id

    by_event = {o.event.id: o for o in offers}
    readers = [(reader, start) for (_, reader, _), start in zip(audience, starts, strict=True)]
    for e in batch:
        offered = {reader.id for reader, start in readers if id_key(e.id) > id_key(start)}
        allowed = sorted(p for p in offered if may_read(next(q for q in people if q.id == p), e))
        denied = sorted(offered - set(allowed))
        if not offered:
            assert e.id not in by_event
            continue
        offer = by_event[e.id]
        assert offer.to == allowed
        assert [w["stakeholder"] for w in offer.withheld] == denied
        assert all(w["reason"] for w in offer.withheld)


def test_each_subscription_gets_one_item_per_batch_and_streams_behind_it_all_share_one_buffer() -> None:
    reader = principal("cert", TLP.RED)
    subs = [Subscription(CHANNEL, "0-0", live=True) for _ in range(3)]
    late = Subscription(CHANNEL, "1000-1", live=True)
    fan = plan([event(seq) for seq in range(4)], [(n, reader, s) for n, s in enumerate([*subs, late])])
    assert [(recipient, sub) for recipient, sub, _, _, _ in fan.deliveries] == list(enumerate([*subs, late]))
    assert [count for _, _, _, count, _ in fan.deliveries] == [4, 4, 4, 2]
    first = fan.deliveries[0][2]
    assert all(frames is first for _, _, frames, _, _ in fan.deliveries[:3])  # framed and joined once for all three


def test_stakeholders_the_policy_answers_alike_share_one_buffer_and_others_get_their_own() -> None:
    batch = [event(1, TLP.GREEN), event(2, TLP.AMBER), event(3, TLP.GREEN)]
    readers = [principal("cert", TLP.AMBER), principal("bank", TLP.RED), principal("public", TLP.GREEN)]
    fan = plan(batch, [(n, reader, Subscription(CHANNEL, "0-0", live=True)) for n, reader in enumerate(readers)])
    frames = {recipient: data for recipient, _, data, _, _ in fan.deliveries}
    assert frames[0] is frames[1]  # both may read all three: joined once
    assert [event_id_of(f) for f in split_frames(frames[2])] == [batch[0].id, batch[2].id]
    assert [event_id_of(f) for f in split_frames(frames[0])] == [e.id for e in batch]


def test_a_subscription_already_past_the_batch_gets_nothing_and_its_cursor_stays() -> None:
    ahead = Subscription(CHANNEL, "1000-5", live=True)
    fan = plan([event(1), event(2)], [("a", principal("cert", TLP.RED), ahead)])
    assert fan.deliveries == [] and fan.passed == [] and fan.offers == []


def test_a_stakeholder_that_may_read_nothing_is_passed_and_audited_as_withheld() -> None:
    sub = Subscription(CHANNEL, "0-0", live=True)
    fan = plan([event(1, TLP.RED)], [("a", principal("observer", TLP.CLEAR), sub)])
    assert fan.deliveries == [] and fan.passed == [sub]
    [offer] = fan.offers
    assert offer.to == [] and offer.withheld[0]["stakeholder"] == "observer" and fan.withheld == 1


def test_nobody_listening_plans_nothing() -> None:
    assert plan([event(1)], []) == Plan()
