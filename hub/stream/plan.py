"""Who gets what of one batch of a channel's events: the fan-out plan. Pure: no I/O.

How this works. :func:`plan` is given a batch of events just read from a
channel, the live subscriptions to it (each with its reader's principal and
its cursor) and answers with the frames to queue on each, the subscriptions
the batch moves past, and, for each event offered to anyone, who received it
and who was withheld it (for the audit log and the metrics).
:class:`hub.stream.fanout.Dispatcher` carries the plan out.

It is the hot path of the live stream, so its costs grow with events ×
stakeholders for the decisions and with subscriptions (not events ×
subscriptions) for the delivery: each event is framed once, the policy is
asked once per stakeholder and :func:`hub.policy.read_key`, and each
subscription gets everything allowed to it as one item of frames.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeAlias, TypeVar

from hub.events import Event, id_key
from hub.policy import Decision, Principal, may_read, read_key, rights_key
from hub.stream.protocol import event_message, text_frame
from hub.stream.session import Subscription

R = TypeVar("R", bound=Hashable)  # a recipient: whatever the caller queues frames on


# One item of frames for a subscription: (recipient, subscription, frames, how many, the id of the last event).
# A plain tuple: one is made per subscription per batch, and a named tuple or dataclass costs ten times more.
Delivery: TypeAlias = tuple[R, Subscription, bytes, int, str]


@dataclass(frozen=True, slots=True)
class Offer:
    """One event offered to stakeholders: who received it, who was withheld it and why."""

    event: Event
    to: list[str]
    withheld: list[dict[str, str]]


@dataclass(slots=True)
class Plan(Generic[R]):
    deliveries: list[Delivery[R]] = field(default_factory=list)
    passed: list[Subscription] = field(default_factory=list)  # their cursors move to the batch's last event
    offers: list[Offer] = field(default_factory=list)  # in batch order; events offered to nobody are left out
    delivered: int = 0  # (event, stakeholder) pairs received
    withheld: int = 0  # (event, stakeholder) pairs refused by the policy


def plan(batch: Sequence[Event], audience: Iterable[tuple[R, Principal, Subscription]]) -> Plan[R]:
    """How to fan ``batch`` (in id order) out to ``audience``, its channel's live subscriptions and their readers.

    A subscription gets exactly the events after its cursor that its reader
    may read, in order. An event is offered to a stakeholder when it comes
    after the cursor of at least one of the stakeholder's subscriptions.
    """
    result: Plan[R] = Plan()
    groups: dict[str, tuple[Principal, list[tuple[R, Subscription]]]] = {}
    for recipient, principal, sub in audience:
        # Grouped by the policy's key: two people of one stakeholder may have different ceilings.
        group = groups.get(rights_key(principal))
        if group is None:
            group = groups[rights_key(principal)] = (principal, [])
        group[1].append((recipient, sub))
    if not groups or not batch:
        return result
    positions = [id_key(event.id) for event in batch]
    frames = [text_frame(event_message(event.to_json())) for event in batch]
    delivered: list[list[str]] = [[] for _ in batch]
    withheld: list[list[dict[str, str]]] = [[] for _ in batch]
    # The policy's answer depends on an event's read key alone: ask it once per stakeholder and key, with one
    # event of each key, and look the answers up by position (a batch usually holds one or two keys).
    keys: list[Hashable] = [read_key(event) for event in batch]
    samples: dict[Hashable, Event] = {}
    for key, event in zip(keys, batch, strict=True):
        samples.setdefault(key, event)
    # Stakeholders the policy answers alike get the same frames: join them once per set of answers.
    shared: dict[tuple[bool, ...], tuple[list[int], list[bytes]]] = {}
    for stakeholder, (principal, members) in sorted(groups.items(), key=lambda item: item[0]):
        answers = {key: may_read(principal, event) for key, event in samples.items()}
        decisions: list[Decision] = [answers[key] for key in keys]
        alike = tuple(bool(answer) for answer in answers.values())
        if alike not in shared:
            shared[alike] = ([i for i, decision in enumerate(decisions) if decision], [])
        allowed, whole = shared[alike]  # whole: every allowed frame, joined (once), for streams behind the batch
        for i in range(bisect.bisect_right(positions, min(sub.position for _, sub in members)), len(batch)):
            if decisions[i]:
                delivered[i].append(stakeholder)
            else:
                withheld[i].append({"stakeholder": stakeholder, "reason": decisions[i].reason})
        for recipient, sub in members:
            first = bisect.bisect_right(positions, sub.position)
            if first == len(batch):
                continue
            result.passed.append(sub)
            picked = allowed if first == 0 else [i for i in allowed if i >= first]
            if not picked:
                continue
            if first == 0:
                if not whole:
                    whole.append(b"".join(frames[i] for i in allowed))
                data = whole[0]
            else:
                data = b"".join(frames[i] for i in picked)
            result.deliveries.append((recipient, sub, data, len(picked), batch[picked[-1]].id))
    for event, to, refused in zip(batch, delivered, withheld, strict=True):
        if to or refused:
            result.offers.append(Offer(event, to, refused))
            result.delivered += len(to)
            result.withheld += len(refused)
    return result
