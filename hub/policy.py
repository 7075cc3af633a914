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

Every other "may X do Y" of the hub is answered here too: which interfaces a
stakeholder may use, who administers, who sees a TAXII status or deletes,
who versions, attributes, derives, and who does what in the crisis workflow;
and how roles combine into a stakeholder's rights (:func:`principal_from_roles`).

Each answer is a :class:`Decision` that is truthy when allowed and carries the
reason either way, so that audit records can say *why*.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
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
class Actor:
    """A person acting for a stakeholder: who did it, as the events, the audit trail and the board name them."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Principal:
    """A stakeholder's effective rights, the union of its roles (see :func:`principal_from_roles`).

    ``read`` maps each readable channel to the highest TLP the stakeholder may
    receive on it (the highest ceiling among the roles that grant the read).
    ``person``: the person acting, when one signed in; their rights are the
    stakeholder's narrowed by :func:`person_rights`, and ``id`` stays the
    stakeholder's (what is written is the stakeholder's, done by the person).
    """

    id: str
    name: str
    sector: str | None
    roles: tuple[str, ...]
    read: Mapping[str, TLP]
    write: frozenset[str]
    admin: bool = False
    access: frozenset[str] = field(default=ACCESS_KINDS)
    person: Actor | None = None

    def ceiling(self, channel: str) -> TLP | None:
        """The TLP ceiling on ``channel``, or None if the channel is not readable."""
        return self.read.get(channel)


@dataclass(frozen=True, slots=True)
class Grant:
    """What one role grants its holder, with its channel patterns already resolved for that holder."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    tlp: TLP = TLP.CLEAR
    """The ceiling on every channel the role lets its holder read."""
    admin: bool = False
    access: frozenset[str] = ACCESS_KINDS


def principal_from_roles(
    id: str, name: str, sector: str | None, roles: tuple[str, ...], grants: Iterable[Grant]
) -> Principal:
    """A stakeholder's effective rights: the union of what its roles grant (``grants``, one per role).

    It reads each channel some role lets it read, at the highest ceiling among
    those roles; writes each channel some role lets it write; administers if
    any role does; uses each interface some role allows (none without roles).
    """
    read: dict[str, TLP] = {}
    write: set[str] = set()
    access: set[str] = set()
    admin = False
    for grant in grants:
        for channel in grant.read:
            read[channel] = max(read.get(channel, TLP.CLEAR), grant.tlp)
        write.update(grant.write)
        access |= grant.access
        admin = admin or grant.admin
    return Principal(
        id=id,
        name=name,
        sector=sector,
        roles=roles,
        read=MappingProxyType(read),
        write=frozenset(write),
        admin=admin,
        access=frozenset(access),
    )


@dataclass(frozen=True, slots=True)
class PersonLimits:
    """How a person's rights are narrower than their stakeholder's; never wider (see :func:`person_rights`)."""

    max_tlp: TLP | None = None
    """The highest TLP they may receive on any channel; None: their stakeholder's ceilings."""
    read_only: bool = False
    admin: bool = False
    """Administers, if their stakeholder does too."""


def person_rights(stakeholder: Principal, actor: Actor, limits: PersonLimits) -> Principal:
    """What ``actor`` may do for ``stakeholder``: its rights, each narrowed by ``limits``, never widened.

    They read the stakeholder's channels at the lower of its ceiling and
    ``max_tlp``; write its channels unless read-only; administer only if both
    the stakeholder and ``limits`` say so; use the same interfaces.
    """
    read = stakeholder.read
    if limits.max_tlp is not None:
        cap = limits.max_tlp
        read = MappingProxyType({channel: min(ceiling, cap) for channel, ceiling in stakeholder.read.items()})
    return Principal(
        id=stakeholder.id,
        name=stakeholder.name,
        sector=stakeholder.sector,
        roles=stakeholder.roles,
        read=read,
        write=frozenset() if limits.read_only else stakeholder.write,
        admin=stakeholder.admin and limits.admin,
        access=stakeholder.access,
        person=actor,
    )


def rights_key(principal: Principal) -> str:
    """Who a decision is for: principals with equal keys have equal rights, so a cache of decisions may share
    them. A stakeholder's key is its id; a person's, ``<stakeholder>/<person>`` (their rights may be narrower)."""
    return principal.id if principal.person is None else f"{principal.id}/{principal.person.id}"


def needs_second_factor(principal: Principal) -> bool:
    """Whether signing in with a password must also take a one-time code: for anyone who may read RED
    or administer."""
    return principal.admin or TLP.RED in principal.read.values()


def may_sign_in(disabled: bool, stakeholder: Principal | None, who: str) -> Decision:
    """Whether the person ``who`` may sign in (or keep a session): enabled, with a configured stakeholder."""
    if disabled:
        return Decision(False, f"{who} is disabled")
    if stakeholder is None:
        return Decision(False, f"{who}'s stakeholder is not in this hub's configuration")
    return Decision(True, f"{who} signs in for {stakeholder.id}")


def may_travel(tlp: TLP, ceiling: TLP) -> Decision:
    """Whether content marked ``tlp`` may leave the hub by e-mail or webhook, whose ``ceiling`` the config sets
    (``notifications.max_tlp``): at or below it, and never RED or AMBER+STRICT, whatever the ceiling."""
    if tlp >= TLP.AMBER_STRICT:
        return Decision(False, f"{tlp.label} content never leaves the hub by e-mail or webhook")
    if tlp > ceiling:
        return Decision(False, f"{tlp.label} is above what this hub sends by e-mail or webhook ({ceiling.label})")
    return Decision(True, f"{tlp.label} may be sent by e-mail or webhook")


def may_approve_login(principal: Principal, signed_in: bool) -> Decision:
    """Whether ``principal`` may approve a command line's sign-in, making a personal token: a person, from a
    session of the situation room (``signed_in``) — never a token, which would let one token breed others."""
    if principal.person is None:
        return Decision(
            False,
            f"only a person signed in to the situation room approves a command line; {principal.id}'s token may not",
        )
    if not signed_in:
        return Decision(False, "approve a command line from the situation room, signed in, not with a token")
    return Decision(True, f"{principal.person.id} signs a command line in for {principal.id}")


def may_end_token(principal: Principal, token_person: str) -> Decision:
    """Whether a token may end itself (``crisis-hub logout``): a personal token, used by its own person."""
    if not token_person or principal.person is None or principal.person.id != token_person:
        return Decision(
            False,
            "only a token made by crisis-hub login signs itself out; an administrator "
            "revokes other tokens (crisis-hub token revoke)",
        )
    return Decision(True, f"{token_person} ends their own token")


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


@dataclass(frozen=True, slots=True)
class Level:
    """A channel and a TLP: an event as the policy sees it, when there is no stored event at hand."""

    channel: str
    tlp: TLP


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


def readable_channels(principal: Principal) -> list[str]:
    """The channels ``principal`` may read (see :func:`may_read_channel`): where to look for what it may see."""
    return list(principal.read)


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


def may_use(principal: Principal, interface: str) -> Decision:
    """Whether ``principal``'s roles let it use ``interface``: ``api``, ``stream`` or ``taxii``."""
    if interface not in principal.access:
        allowed = ", ".join(sorted(principal.access)) or "none"
        return Decision(False, f"{principal.id} may not use the {interface} interface (allowed: {allowed})")
    return Decision(True, f"{principal.id} uses the {interface} interface")


def interfaces(principal: Principal) -> list[str]:
    """The interfaces ``principal`` may use (see :func:`may_use`), sorted."""
    return sorted(principal.access)


def may_administer(principal: Principal) -> Decision:
    """Whether ``principal`` may use what is for administrators: the audit trail, metrics, connections, connectors."""
    if not principal.admin:
        return Decision(False, f"{principal.id} is not an administrator")
    return Decision(True, f"{principal.id} is an administrator")


def may_write_channel(principal: Principal, channel: str) -> Decision:
    """Whether ``principal`` may write ``channel`` at all, whatever the TLP (before a body is even read)."""
    if channel not in principal.write:
        return Decision(False, f"{principal.id} may not write channel {channel}")
    return Decision(True, f"{principal.id} writes {channel}")


def may_see_channel(principal: Principal, channel: str) -> Decision:
    """Whether ``channel`` exists for ``principal``: it may read or write it.

    A channel (or TAXII collection) that it may neither read nor write is
    answered for exactly like one that does not exist.
    """
    if channel in principal.read or channel in principal.write:
        return Decision(True, f"{principal.id} reads or writes {channel}")
    return Decision(False, f"{principal.id} may neither read nor write channel {channel}")


@dataclass(frozen=True, slots=True)
class ChannelRights:
    """What a principal may do on one channel: read (up to ``ceiling``), write."""

    channel: str
    read: bool
    write: bool
    ceiling: TLP | None
    """The highest TLP it may receive there; None where it may not read."""

    @property
    def visible(self) -> bool:
        """Whether the channel exists for the principal (see :func:`may_see_channel`)."""
        return self.read or self.write


def channel_rights(principal: Principal, channel: str) -> ChannelRights:
    """``principal``'s rights on ``channel``, as :func:`may_read` and :func:`may_write_channel` decide them."""
    ceiling = principal.ceiling(channel)
    return ChannelRights(channel, ceiling is not None, bool(may_write_channel(principal, channel)), ceiling)


def highest_ceiling(principal: Principal) -> TLP | None:
    """The highest TLP ``principal`` may receive on any channel; None if it reads none."""
    return max(principal.read.values(), default=None)


def may_write(principal: Principal, channel: ChannelRule, tlp: TLP) -> Decision:
    """Whether ``principal`` may post an object marked ``tlp`` to ``channel``."""
    writes = may_write_channel(principal, channel.name)
    if not writes:
        return writes
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


def may_push_exercise(exercise: bool, destination: Destination, *, opted_in: bool) -> Decision:
    """Whether an object may be pushed to ``destination`` (a partner), given whether it belongs to an exercise.

    What an exercise writes is a rehearsal: sent to a partner that does not
    expect it, it would read as a real crisis. It leaves only through a
    connector whose configuration opts in (``exercises = true``); anything
    else is not this decision's business.
    """
    if not exercise:
        return Decision(True, "not an exercise")
    if opted_in:
        return Decision(True, f"{destination.kind} {destination.name} takes exercises")
    return Decision(False, f"exercise content never leaves for {destination.kind} {destination.name} unless it opts in")


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


def may_see_status(principal: Principal, creator: str) -> Decision:
    """Whether ``principal`` may see a TAXII status resource that ``creator`` caused: its creator or an admin."""
    if principal.id == creator or principal.admin:
        return Decision(True, f"{principal.id} created it or is an administrator")
    return Decision(False, f"the status belongs to {creator}")


def may_delete_from(principal: Principal, channel: str) -> Decision:
    """Whether ``principal`` may delete anything in ``channel`` (a TAXII collection): it must read and write it."""
    if channel in principal.read and channel in principal.write:
        return Decision(True, f"{principal.id} reads and writes {channel}")
    return Decision(False, f"deleting needs both read and write access to collection {channel}")


def may_delete(principal: Principal, sources: Iterable[str]) -> Decision:
    """Whether ``principal`` may delete versions written by ``sources``: an admin, or the source of every one."""
    if principal.admin or all(source == principal.id for source in sources):
        return Decision(True, f"{principal.id} is an administrator or added every one itself")
    return Decision(False, f"{principal.id} may delete only versions it added itself")


# --- who versions what, and what the hub writes on someone's behalf ------------------------------------------

HUB = "hub"
"""The hub's own identity as a writer: the source of what it writes unprompted, the owner of crisis objects."""


def hub_principal(channels: Iterable[str]) -> Principal:
    """The hub as a writer: it may write every channel (each channel's ``max_tlp`` still applies) and reads none.

    It writes only on someone's behalf, after the decision that lets that
    someone act (:func:`may_acknowledge`, :func:`may_move_action`, …), or
    for its own workflow (escalations); what it writes is still checked by
    :func:`may_write` and, when it quotes stored content, by :func:`may_derive`.
    """
    return Principal(id=HUB, name="Crisis Hub", sector=None, roles=(), read={}, write=frozenset(channels))


def may_version(writer: str, owner: str) -> Decision:
    """Whether ``writer`` may store a new version of an object that ``owner`` stored first.

    STIX: only the creator of an object makes new versions of it. The hub's
    own objects (owner :data:`HUB`) are versioned only through the crisis API.
    """
    if writer == owner:
        return Decision(True, f"{writer} owns it")
    if owner == HUB:
        return Decision(False, "it is a crisis object of the hub: change it through the crisis API (/api/v1/crises)")
    return Decision(
        False, "it belongs to another stakeholder: only the stakeholder that first stored an object makes new versions"
    )


def may_attribute(writers: Collection[str], created_by_ref: str | None, identities: Mapping[str, str]) -> Decision:
    """Whether an object written by ``writers`` (its source and its owner) may name ``created_by_ref`` as creator.

    ``identities`` maps the STIX identity id of every stakeholder (and of the
    hub) to its id. Naming another stakeholder's identity is forging its
    authorship; an identity the hub does not know is the poster's own business.
    """
    if created_by_ref is None:
        return Decision(True, "no created_by_ref")
    named = identities.get(created_by_ref.lower())
    if named is None or named in writers:
        return Decision(True, "created_by_ref names no other stakeholder")
    return Decision(False, f"created_by_ref names the identity of {named}, not of {' or '.join(sorted(writers))}")


def derived_tlp(quoted: Iterable[Marked], floor: TLP = TLP.CLEAR) -> TLP:
    """The TLP of an object that quotes ``quoted``: the most restrictive of them all, and at least ``floor``."""
    return max([floor, *(q.tlp for q in quoted)])


def may_derive(quoted: Iterable[Marked], destination: Destination, tlp: TLP) -> Decision:
    """Whether an object at ``tlp`` that copies or quotes the content of ``quoted`` may be written to ``destination``.

    It must be marked at least as restrictively as everything it quotes, and
    go only where every quoted event may go (:func:`may_leave`).
    """
    for source in quoted:
        if tlp < source.tlp:
            return Decision(False, f"it quotes {source.tlp.label} content, so it cannot be marked {tlp.label}")
        leaves = may_leave(source, destination)
        if not leaves:
            return Decision(False, f"it quotes content that may not go to {destination.name}: {leaves.reason}")
    return Decision(True, "everything it quotes may go there at that TLP")


def may_declare_crisis(principal: Principal, crisis_channel: ChannelRule, channel: ChannelRule, tlp: TLP) -> Decision:
    """Whether ``principal`` may declare a crisis: only writers of the crisis channel, into a channel they write."""
    decision = may_write(principal, crisis_channel, min(tlp, crisis_channel.max_tlp))
    if not decision:
        return Decision(False, f"only writers of the crisis channel {crisis_channel.name} declare crises")
    return may_write(principal, channel, tlp)


def may_revise_crisis(principal: Principal, crisis: Marked) -> Decision:
    """Whether ``principal`` may change a crisis (a new version, in the crisis's channel): its channel's writers."""
    if crisis.channel not in principal.write:
        return Decision(False, f"only writers of {crisis.channel} change this crisis")
    return Decision(True, f"{principal.id} writes {crisis.channel}")


def may_revise_sitrep(principal: Principal, sitrep: Marked, author: str, crisis_channel: str) -> Decision:
    """Whether ``principal`` may write the next version of a sitrep: its author, or a writer of the crisis channel.

    Either must also see the version it revises.
    """
    seen = may_read(principal, sitrep)
    if not seen:
        return Decision(False, f"{principal.id} cannot revise what it may not see: {seen.reason}")
    if principal.id == author or crisis_channel in principal.write:
        return Decision(True, f"{principal.id} is the sitrep's author or writes {crisis_channel}")
    return Decision(False, f"only the sitrep's author ({author}) or writers of {crisis_channel} revise it")


def may_assign_action(principal: Principal, crisis: Marked) -> Decision:
    """Whether ``principal`` may give an action item on a crisis: writers of the crisis's channel."""
    if crisis.channel not in principal.write:
        return Decision(False, f"only those who may write {crisis.channel} assign action items")
    return Decision(True, f"{principal.id} writes {crisis.channel}")


def may_move_action(principal: Principal, action: Marked, assignee: str) -> Decision:
    """Whether ``principal`` may update an action item: its assignee, or the writers of its channel."""
    seen = may_read(principal, action)
    if not seen:
        return Decision(False, seen.reason)
    if principal.id == assignee or action.channel in principal.write:
        return Decision(True, f"{principal.id} is the assignee or writes {action.channel}")
    return Decision(False, f"only the assignee ({assignee}) or the committee may update this action")


def should_acknowledge(principal: Principal, item: Marked, expected: Iterable[str]) -> bool:
    """Whether ``principal`` is awaited to acknowledge ``item``: among ``expected`` and able to see it."""
    return principal.id in set(expected) and bool(may_read(principal, item))


def expected_acknowledgers(
    principals: Iterable[Principal], item: Marked, lead: str, affected: Iterable[str], crisis_channel: str
) -> list[str]:
    """Who is awaited to acknowledge ``item`` of a crisis, sorted: those of the candidates who may see it.

    The candidates are the crisis's ``lead``, its ``affected`` stakeholders and
    every writer of ``crisis_channel`` (the committee that runs crises).
    """
    everyone = list(principals)
    wanted = {lead, *affected} | {p.id for p in everyone if crisis_channel in p.write}
    return sorted(p.id for p in everyone if should_acknowledge(p, item, wanted))


def read_key(event: Marked) -> tuple[str, TLP]:
    """What :func:`may_read` looks at in an event: two events with equal keys get the same answer for any principal.

    A cache of read decisions (one stakeholder, many events) may key on it.
    """
    return (event.channel, event.tlp)
