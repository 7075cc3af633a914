"""Ingest: the one write path shared by the HTTP API and TAXII.

Validated objects are authorised one by one through the policy (the TLP a
channel accepts), then appended in one atomic store call. What was stored,
what was already there and what was refused come back separately, in the
submission's order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.audit import AuditLog, write_record
from hub.config import Channel
from hub.errors import Forbidden, NotReplicated
from hub.metrics import Metrics
from hub.policy import Principal, may_write
from hub.stix import Rejection, StixItem, Submission
from hub.store import Appended, Store


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: list[Appended] = field(default_factory=list)
    duplicates: list[Appended] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def check_channel_write(principal: Principal, channel: Channel) -> None:
    """Forbidden unless ``principal`` may write ``channel`` at all (checked before reading a body)."""
    if channel.name not in principal.write:
        raise Forbidden(f"{principal.id} may not write channel {channel.name}")


async def ingest(
    store: Store,
    principal: Principal,
    channel: Channel,
    submission: Submission,
    audit: AuditLog | None = None,
    via: str = "api",
    metrics: Metrics | None = None,
) -> IngestResult:
    """Authorise and append a validated submission to ``channel`` on behalf of ``principal``.

    With ``audit``, what became of every object is recorded, refusals included.
    """
    check_channel_write(principal, channel)
    rejected = list(submission.rejected)
    allowed: list[StixItem] = []
    for item in submission.items:
        decision = may_write(principal, channel.rule, item.tlp)
        if decision:
            allowed.append(item)
        else:
            rejected.append(Rejection(item.index, item.id, decision.reason))
    result = IngestResult(rejected=sorted(rejected, key=lambda r: r.index))
    started = time.perf_counter()
    try:
        stored = await store.append(channel.name, principal.id, allowed)
    except NotReplicated as exc:
        # The producer gets 503, but the primary holds these and live streams may have them: the trail says so.
        if audit is not None:
            held = [(a.item.id, a.item.version, a.event_id, "not-replicated", exc.description) for a in exc.stored]
            _record_write(audit, principal, channel, via, held, result.rejected)
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
        _record_write(audit, principal, channel, via, outcomes, result.rejected)
    return result


def _record_write(
    audit: AuditLog,
    principal: Principal,
    channel: Channel,
    via: str,
    outcomes: Sequence[tuple[str, str | None, str | None, str, str | None]],
    rejected: Sequence[Rejection],
) -> None:
    refused = [(r.id or f"#{r.index}", None, None, "rejected", r.reason) for r in rejected]
    audit.record("write", principal.id, via=via, channel=channel.name, objects=write_record([*outcomes, *refused]))
