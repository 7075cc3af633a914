"""Ingest: the one write path shared by the HTTP API, TAXII, connectors and the hub's own writes.

How this works. Validated objects are judged one by one through the policy,
then the survivors are appended in one atomic store call. What was stored,
what was already there and what was refused come back separately, in the
submission's order. In turn, each object must pass:

1. :func:`hub.policy.may_write` — the writer may write the channel, at a TLP
   the channel accepts;
2. the hub's own object types (crises, acknowledgments, action items) come
   only through the crisis API (``owner`` is :data:`hub.policy.HUB`), and must
   match their published schema (:mod:`hub.crisis.schema`);
3. :func:`hub.policy.may_attribute` — ``created_by_ref`` names no other
   stakeholder's identity (:mod:`hub.identities`);
4. :func:`hub.policy.may_derive` — for what the hub writes on someone's behalf
   (``derived``): at least as restrictive as everything it quotes, and only
   where all of that may go;
5. ownership — the first to store an id of a versioned object (one with
   ``modified``) owns it; a version by anyone else is refused
   (:func:`hub.policy.may_version`), unless it is an exact copy of a version
   already stored that the poster may see and that may go to this channel
   (:func:`hub.policy.may_reshare`): re-sharing MITRE ATT&CK, say. Objects
   without ``modified`` (cyber observables, marking definitions) have no
   versions, hence no owner.

Nothing the hub writes skips this path: the crisis service writes with the
acting stakeholder as ``source``, and either that stakeholder's rights or the
hub's (:func:`hub.policy.hub_principal`, when it writes on someone's behalf
into a channel that someone may not write, after the policy let them act).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub.config import Channel
from hub.crisis.objects import is_hub_object
from hub.crisis.schema import hub_object_problem
from hub.errors import Forbidden, NotReplicated
from hub.identities import owners_of_identities
from hub.metrics import Metrics
from hub.policy import (
    HUB,
    Actor,
    Destination,
    Marked,
    Principal,
    channel_destination,
    may_attribute,
    may_derive,
    may_read,
    may_version,
    may_write,
    may_write_channel,
)
from hub.stix import Rejection, StixItem, Submission
from hub.store import Appended, Store
from hub.store.audit import AuditLog, acted_by, write_record


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: list[Appended] = field(default_factory=list)
    duplicates: list[Appended] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Derived:
    """What an object the hub writes on someone's behalf copies or quotes: those stored events, and its audience."""

    quoted: tuple[Marked, ...]
    destination: Destination


def check_channel_write(principal: Principal, channel: Channel) -> None:
    """Forbidden unless ``principal`` may write ``channel`` at all (checked before reading a body)."""
    decision = may_write_channel(principal, channel.name)
    if not decision:
        raise Forbidden(decision.reason)


async def ingest(
    store: Store,
    principals: Mapping[str, Principal],
    principal: Principal,
    channel: Channel,
    submission: Submission,
    audit: AuditLog | None = None,
    via: str = "api",
    metrics: Metrics | None = None,
    *,
    source: str | None = None,
    owner: str | None = None,
    derived: Derived | None = None,
    person: Actor | None = None,
) -> IngestResult:
    """Authorise and append a validated submission to ``channel``, written with ``principal``'s rights.

    ``principals``: every stakeholder's rights (the audience of a channel).
    ``source``: who is recorded as having written it (``principal`` by
    default; the acting stakeholder when the hub writes on its behalf).
    ``owner``: who owns the ids written (``source`` by default; the hub for
    the crisis API's objects). ``person``: who acted for ``source``
    (``principal``'s person by default; the person the hub writes for). With
    ``audit``, what became of every object is recorded, refusals included.
    """
    check_channel_write(principal, channel)
    source = source or principal.id
    owner = owner or source
    person = person if person is not None else principal.person
    identities = owners_of_identities(principals)
    rejected = list(submission.rejected)
    allowed: list[StixItem] = []
    for item in submission.items:
        reason = _refusal(principal, source, owner, channel, item, identities, derived)
        if reason is None:
            allowed.append(item)
        else:
            rejected.append(Rejection(item.index, item.id, reason))
    allowed = await _owned(store, principals, principal, owner, channel, allowed, identities, rejected)
    result = IngestResult(rejected=sorted(rejected, key=lambda r: r.index))
    started = time.perf_counter()
    try:
        stored = await store.append(channel.name, source, allowed, person)
    except NotReplicated as exc:
        # The producer gets 503, but the primary holds these and live streams may have them: the trail says so.
        if audit is not None:
            held = [(a.item.id, a.item.version, a.event_id, "not-replicated", exc.description) for a in exc.stored]
            _record_write(audit, source, person, channel, via, held, result.rejected)
        raise
    for appended in stored:
        (result.duplicates if appended.duplicate else result.accepted).append(appended)
    if metrics is not None:
        if allowed:
            metrics.redis_seconds.observe(time.perf_counter() - started)
        metrics.ingested.labels(channel.name, via).inc(len(result.accepted))
        metrics.duplicates.labels(channel.name).inc(len(result.duplicates))
        refused_by_policy = len(rejected) - len(submission.rejected)
        metrics.rejected.labels(channel.name, "invalid").inc(len(submission.rejected))
        metrics.rejected.labels(channel.name, "policy").inc(refused_by_policy)
    if audit is not None:
        outcomes = [
            *((a.item.id, a.item.version, a.event_id, "accepted", None) for a in result.accepted),
            *((a.item.id, a.item.version, a.event_id, "duplicate", None) for a in result.duplicates),
        ]
        _record_write(audit, source, person, channel, via, outcomes, result.rejected)
    return result


def _refusal(
    principal: Principal,
    source: str,
    owner: str,
    channel: Channel,
    item: StixItem,
    identities: Mapping[str, str],
    derived: Derived | None,
) -> str | None:
    """Why ``item`` may not be written, from what the item alone says (steps 1 to 4), or None."""
    decision = may_write(principal, channel.rule, item.tlp)
    if not decision:
        return decision.reason
    if is_hub_object(item.obj):
        if owner != HUB:
            return f"{item.type} objects of the crisis workflow are written through the crisis API (/api/v1/crises)"
        problem = hub_object_problem(item.obj)
        if problem is not None:
            return problem
    creator = item.obj.get("created_by_ref")
    decision = may_attribute({source, owner}, creator if isinstance(creator, str) else None, identities)
    if not decision:
        return decision.reason
    if derived is not None:
        decision = may_derive(derived.quoted, derived.destination, item.tlp)
        if not decision:
            return decision.reason
    return None


async def _owned(
    store: Store,
    principals: Mapping[str, Principal],
    principal: Principal,
    owner: str,
    channel: Channel,
    items: list[StixItem],
    identities: Mapping[str, str],
    rejected: list[Rejection],
) -> list[StixItem]:
    """The items ``owner`` may write as versions (step 5); the others are added to ``rejected``."""
    versioned = [it for it in items if isinstance(it.obj.get("modified"), str)]
    if not versioned:
        return items
    claimed = dict(zip((it.id for it in versioned), await store.claim(owner, [it.id for it in versioned]), strict=True))
    not_owned: list[tuple[StixItem, str]] = []
    for item in versioned:
        # A stakeholder's published identity is its own, stored or not.
        decision = may_version(owner, identities.get(item.id.lower(), claimed[item.id]))
        if not decision:
            not_owned.append((item, decision.reason))
    if not not_owned:
        return items
    refusals = await _copy_refusals(store, principals, principal, channel, not_owned)
    for item, reason in refusals:
        rejected.append(Rejection(item.index, item.id, reason))
    refused = {item.index for item, _ in refusals}
    return [it for it in items if it.index not in refused]


_MARKINGS = ("object_marking_refs", "granular_markings")


async def _copy_refusals(
    store: Store,
    principals: Mapping[str, Principal],
    principal: Principal,
    channel: Channel,
    not_owned: Sequence[tuple[StixItem, str]],
) -> list[tuple[StixItem, str]]:
    """Which of ``not_owned`` (versions of others' objects, with why the poster may not version them) are
    refused, and why; the others are faithful copies.

    A copy is the same version (id and ``modified``) with the same content,
    markings aside: sharing it is not making a new version. Where the poster
    may read a stored copy, it learnt the object here, so its copy must keep
    to where that may go, at no lower TLP (:func:`hub.policy.may_derive`).
    Where it may read none, it knew the object on its own (a partner's feed,
    MITRE ATT&CK), and is told no more than it would be of a new object.
    """
    channels = sorted({name for p in principals.values() for name in (*p.read, *p.write)} | {channel.name})
    held = await store.versions_of_many(channels, [item.id for item, _ in not_owned])
    wanted: dict[str, list[str]] = {}
    for item, _ in not_owned:
        for held_in, versions in held[item.id].items():
            if item.version in versions:
                wanted.setdefault(held_in, []).append(versions[item.version])
    events = {(e.channel, e.id): e for c, ids in wanted.items() for e in await store.events_by_id(c, ids)}
    destination = channel_destination(channel.name, principals)
    refusals = []
    for item, not_owner in not_owned:
        copies = [
            events[(held_in, versions[item.version])]
            for held_in, versions in held[item.id].items()
            if item.version in versions and (held_in, versions[item.version]) in events
        ]
        if not copies:
            refusals.append((item, f"a new version of {item.id} is refused: {not_owner}"))
            continue
        content = _sans_markings(item.obj)
        if any(_sans_markings(orjson.loads(e.raw)) != content for e in copies):
            refusals.append((item, f"{item.id} differs from the stored version with the same modified: {not_owner}"))
            continue
        decision = may_derive([e for e in copies if may_read(principal, e)], destination, item.tlp)
        if not decision:
            refusals.append((item, f"a copy of {item.id} may not be posted here: {decision.reason}"))
    return refusals


def _sans_markings(obj: Any) -> Any:
    return {k: v for k, v in obj.items() if k not in _MARKINGS} if isinstance(obj, dict) else obj


def _record_write(
    audit: AuditLog,
    source: str,
    person: Actor | None,
    channel: Channel,
    via: str,
    outcomes: Sequence[tuple[str, str | None, str | None, str, str | None]],
    rejected: Sequence[Rejection],
) -> None:
    refused = [(r.id or f"#{r.index}", None, None, "rejected", r.reason) for r in rejected]
    audit.record(
        "write", source, via=via, channel=channel.name, objects=write_record([*outcomes, *refused]), **acted_by(person)
    )
