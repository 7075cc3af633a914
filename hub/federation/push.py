"""Push a channel's events to a partner's TAXII 2.1 collection, only what the policy lets leave.

How this works. The checkpoint is the id of the last event of the channel
that was dealt with: forwarded, or kept back by the policy. :meth:`TaxiiPush.forward`
reads the events after it in batches; :func:`hub.policy.may_leave` decides
for each one whether it may go to the partner (never RED or AMBER+STRICT,
never above the partner's ``tlp_ceiling``), and
:func:`hub.policy.may_push_exercise` keeps back whatever belongs to an
exercise (it carries ``exercise: true``) unless the connector opts in; the
others are counted as withheld. The batch's leaving objects are POSTed in one envelope with
taxii2-client's ``add_objects``, and the checkpoint moves past the batch
only once the partner's status says every object was dealt with. A failed
POST (5xx, timeout, refused connection, a status still pending) moves
nothing and is retried with backoff; the partner keeps objects by id and
version, so a batch sent twice after a crash is stored once there.

Objects that carry no TLP marking travel with the TLP they had here made
explicit (``object_marking_refs``): the partner's own default for unmarked
objects might be lower.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from hub.crisis.objects import is_exercise
from hub.federation.endpoints import Outgoing, Source, with_tlp
from hub.federation.partner import PartnerConnection, PartnerError
from hub.policy import Destination, may_leave, may_push_exercise
from hub.store.audit import AuditLog
from hub.store.connectors import ConnectorState, ConnectorStatus

log = logging.getLogger(__name__)

START = "0-0"  # a new push connector sends the channel's history the partner may have, then what comes


class TaxiiPush:
    """One push connector: :meth:`forward` sends everything pending once; :meth:`wait` waits for more."""

    def __init__(
        self,
        partner: PartnerConnection,
        source: Source,
        state: ConnectorState,
        status: ConnectorStatus,
        audit: AuditLog | None = None,
    ) -> None:
        self.partner, self.source, self.state, self.status, self.audit = partner, source, state, status, audit
        spec = partner.spec
        self.destination = Destination("partner", spec.name, spec.tlp_ceiling)
        self.echo_source = spec.stakeholder  # what came from the partner is not sent back to it
        self.batch = spec.page_size
        self.exercises = spec.exercises

    def leaves(self, event: Outgoing) -> bool:
        """Whether ``event`` goes to the partner: the policy allows it (its TLP, and whether it is an exercise's),
        and it did not come from there."""
        return (
            bool(may_leave(event, self.destination))
            and bool(may_push_exercise(is_exercise(event.obj), self.destination, opted_in=self.exercises))
            and event.source != self.echo_source
        )

    async def forward(self) -> int:
        """Send every pending event that may leave; the number the partner accepted."""
        doc = await self.state.load_checkpoint()
        position = str(doc.get("event", START)) if doc else START
        sent = 0
        while True:
            batch = await self.source.read(position, self.batch)
            leaving = [e for e in batch.events if self.leaves(e)]
            if leaving:
                sent += await self._post(leaving)
            self.status.withheld += len(batch.events) - len(leaving)
            if batch.position != position:
                position = batch.position
                await self.state.save_checkpoint({"event": position})
                self.status.checkpoint = position
            pending_since = batch.events[-1].millis / 1000 if batch.more and batch.events else None
            self.status.lag_seconds = round(time.time() - pending_since, 3) if pending_since else 0.0
            if not batch.more:
                break
        self.status.last_success = time.time()
        return sent

    async def _post(self, events: list[Outgoing]) -> int:
        envelope = {"objects": [with_tlp(e.obj, e.tlp) for e in events]}
        status = await asyncio.to_thread(self._add_objects, envelope)
        if status.get("status") != "complete":
            raise PartnerError(f"the partner's status is still {status.get('status')!r}; sending again later")
        accepted = int(status.get("success_count", 0))
        failures: list[dict[str, Any]] = status.get("failures") or []
        for failure in failures[:5]:
            log.warning(
                "connector %s: the partner refused %s: %s", self.state.name, failure.get("id"), failure.get("message")
            )
        self.status.moved += accepted
        self.status.rejected += len(failures)
        if self.audit is not None:
            self.audit.record(
                "push",
                f"connector:{self.state.name}",
                via="taxii-push",
                channel=events[0].channel,
                partner=self.partner.spec.name,
                events=[e.id for e in events],
            )
        return accepted

    def _add_objects(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """POST the envelope and wait (a bounded time) for a final status (blocking)."""
        collection = self.partner.collection()
        status = collection.add_objects(
            envelope, wait_for_completion=True, poll_interval=1, timeout=self.partner.spec.timeout
        )
        return {"status": status.status, "success_count": status.success_count, "failures": status.failures}

    async def wait(self, timeout: float) -> None:
        await self.source.wait(timeout)
