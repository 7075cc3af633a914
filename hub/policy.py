"""Who may see what: the one visibility policy of the hub.

Pure: no aiohttp, redis or asyncio import. Every path that reads or moves an
event — HTTP history, the live stream, TAXII, exports, push to partners —
asks this module and nothing else.

The rules (TLP 2.0, as DESIGN.md states them):

* a reader sees an event only if it may read the event's channel *and* its
  TLP ceiling on that channel is at or above the event's TLP;
* a writer may post to a channel it may write, at a TLP the channel accepts;
* RED and AMBER+STRICT never leave the channel they were posted to;
  AMBER leaves only to destinations whose recipients are all cleared for
  AMBER; GREEN to destinations cleared for GREEN; CLEAR anywhere.

Each answer is a :class:`Decision` that is truthy when allowed and carries the
reason either way, so that audit records can say *why*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hub.tlp import TLP

ACCESS_KINDS = frozenset({"api", "stream", "taxii"})


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy answer: ``bool(decision)`` says whether it is allowed."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True, slots=True)
class Principal:
    """A stakeholder's effective rights, the union of its roles.

    ``read`` maps each readable channel to the highest TLP the stakeholder may
    receive on it (the highest ceiling among the roles that grant the read).
    """

    id: str
    name: str
    sector: str | None
    roles: tuple[str, ...]
    read: Mapping[str, TLP]
    write: frozenset[str]
    admin: bool = False
    access: frozenset[str] = field(default=ACCESS_KINDS)

    def ceiling(self, channel: str) -> TLP | None:
        """The TLP ceiling on ``channel``, or None if the channel is not readable."""
        return self.read.get(channel)


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """What the policy needs to know of a channel."""

    name: str
    max_tlp: TLP = TLP.RED


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an event could be sent next: another channel, or a partner.

    ``min_ceiling`` is the lowest TLP ceiling among all its recipients: an
    event may go there only if every recipient is cleared for it.
    """

    kind: str  # "channel" or "partner"
    name: str
    min_ceiling: TLP


class Marked(Protocol):
    """Anything with a channel and a TLP: an event, or its metadata."""

    @property
    def channel(self) -> str: ...

    @property
    def tlp(self) -> TLP: ...


def may_read_channel(principal: Principal, channel: str) -> Decision:
    """Whether ``principal`` may read ``channel`` at all."""
    if channel in principal.read:
        return Decision(True, f"{principal.id} reads {channel}")
    return Decision(False, f"{principal.id} may not read channel {channel}")


def may_read(principal: Principal, event: Marked) -> Decision:
    """Whether ``principal`` may receive ``event`` (live, in history, over TAXII, in an export)."""
    ceiling = principal.read.get(event.channel)
    if ceiling is None:
        return Decision(False, f"{principal.id} may not read channel {event.channel}")
    if event.tlp > ceiling:
        return Decision(
            False,
            f"{event.tlp.label} is above {principal.id}'s ceiling {ceiling.label} on {event.channel}",
        )
    return Decision(True, f"{event.tlp.label} within {principal.id}'s ceiling {ceiling.label}")


def may_write(principal: Principal, channel: ChannelRule, tlp: TLP) -> Decision:
    """Whether ``principal`` may post an object marked ``tlp`` to ``channel``."""
    if channel.name not in principal.write:
        return Decision(False, f"{principal.id} may not write channel {channel.name}")
    if tlp > channel.max_tlp:
        return Decision(False, f"channel {channel.name} accepts nothing above {channel.max_tlp.label}, got {tlp.label}")
    return Decision(True, f"{principal.id} writes {channel.name}")


def may_leave(event: Marked, destination: Destination) -> Decision:
    """Whether ``event`` may be forwarded, pushed or exported to ``destination``."""
    if destination.kind == "channel" and destination.name == event.channel:
        return Decision(True, "same channel")
    if event.tlp >= TLP.AMBER_STRICT:
        return Decision(False, f"{event.tlp.label} never leaves channel {event.channel}")
    if destination.min_ceiling < event.tlp:
        return Decision(
            False,
            f"not every recipient of {destination.kind} {destination.name} is cleared for {event.tlp.label}",
        )
    return Decision(True, f"every recipient of {destination.name} is cleared for {event.tlp.label}")


def channel_destination(channel: str, principals: Mapping[str, Principal]) -> Destination:
    """A channel seen as a destination: its recipients are everyone who may read it.

    A channel nobody reads has no recipient to protect: its ``min_ceiling`` is RED.
    """
    ceilings = [p.read[channel] for p in principals.values() if channel in p.read]
    return Destination("channel", channel, min(ceilings, default=TLP.RED))


def may_list_stakeholders(principal: Principal) -> Decision:
    """Whether ``principal`` may read the hub's directory: each stakeholder's id, display name and sector.

    Anyone who may use the API may. The directory puts names on the ids that
    already reach readers (event sources, crisis leads, acknowledgers,
    assignees) and holds nothing of anyone's rights: no roles, channels, TLP
    ceilings or administrators, which would tell an attacker whose token to steal.
    """
    if "api" not in principal.access:
        return Decision(False, f"{principal.id} may not use the api interface")
    return Decision(True, f"{principal.id} uses the api, so may see who is on the hub")


def may_acknowledge(principal: Principal, event: Marked) -> Decision:
    """Whether ``principal`` may acknowledge ``event``: anyone who may see it, write rights or not.

    An acknowledgment is recorded in the item's channel at the item's TLP, so
    it reveals nothing to anyone who could not already see the item.
    """
    decision = may_read(principal, event)
    if not decision:
        return Decision(False, f"{principal.id} cannot acknowledge what it may not see: {decision.reason}")
    return Decision(True, f"{principal.id} may see it, so may acknowledge it")
