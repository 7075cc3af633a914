"""The dispatcher's fan-out of a batch, checked event by event against the policy.

The fan-out queues a whole batch on each connection as one item, and decides
once per stakeholder and TLP; these properties pin what that must still mean
per event: every stream gets exactly the events after its cursor that its
stakeholder may read, once and in order, and the audit names, for each
event, who received it and who was withheld it.

The connections here are recording stand-ins (the sockets are not the
subject: tests/test_stream.py covers them end to end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.events import Event, id_key
from hub.policy import Principal, may_read
from hub.stream.connection import Subscription
from hub.stream.fanout import Dispatcher
from hub.tlp import TLP

CHANNEL = "committee"


@dataclass(eq=False)  # hashable by identity, as connections are
class Recorder:
    """What the dispatcher needs of a connection: its principal, its subscriptions, and ``push``."""

    principal: Principal
    subs: dict[str, Subscription]
    received: list[bytes] = field(default_factory=list)
    counts: int = 0

    def push(self, sub: Subscription | None, event_id: str | None, frames: bytes, count: int = 1) -> None:
        messages = split_frames(frames)
        assert len(messages) == count
        assert sub is self.subs[CHANNEL]
        self.received += messages
        self.counts += count


class AuditRecorder:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(self, action: str, actor: str, **fields: Any) -> None:
        self.records.append({"action": action, "actor": actor, **fields})


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


def principal(name: str, ceiling: TLP | None) -> Principal:
    read = {CHANNEL: ceiling} if ceiling is not None else {"elsewhere": TLP.RED}
    return Principal(name, name, None, (), read, frozenset())


def event(seq: int, tlp: TLP, size: int) -> Event:
    # Sizes cross the 126 and 65,536 byte boundaries of the frame header.
    raw = b'{"type":"note","content":"' + b"x" * size + b'"}'
    return Event(f"1000-{seq}", CHANNEL, "cert", tlp, "note", f"note--{seq}", "", raw)


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
    audit = AuditRecorder()
    dispatcher = Dispatcher(None, [CHANNEL], audit=audit)  # type: ignore[arg-type]  # no Redis: _fan_out only
    recorders = []
    for who, cursor in streams:
        sub = Subscription(CHANNEL, f"1000-{cursor}" if cursor >= 0 else "0-0", live=True)
        rec = Recorder(people[who], {CHANNEL: sub})
        recorders.append((rec, sub.cursor))
        dispatcher.add(rec, CHANNEL)  # type: ignore[arg-type]

    # Two consecutive batches, cut anywhere: a stream's cursor carries over.
    for part in (batch[:cut], batch[cut:]):
        if part:
            dispatcher._fan_out(CHANNEL, part)

    for rec, start in recorders:
        expected = [e for e in batch if id_key(e.id) > id_key(start) and may_read(rec.principal, e)]
        assert [m[m.index(b'"id":"') + 6 :].split(b'"', 1)[0].decode() for m in rec.received] == [
            e.id for e in expected
        ]
        assert all(m.endswith(e.raw + b"}}") for m, e in zip(rec.received, expected, strict=True))
        if id_key(start) < id_key(batch[-1].id):
            assert rec.subs[CHANNEL].cursor == batch[-1].id

    by_event = {r["event"]: r for r in audit.records}
    for e in batch:
        offered = {rec.principal.id for rec, start in recorders if id_key(e.id) > id_key(start)}
        allowed = sorted(p for p in offered if may_read(next(q for q in people if q.id == p), e))
        denied = sorted(offered - set(allowed))
        if not offered:
            assert e.id not in by_event
            continue
        record = by_event[e.id]
        assert record["to"] == allowed
        assert [w["stakeholder"] for w in record["withheld"]] == denied
        assert all(w["reason"] for w in record["withheld"])
