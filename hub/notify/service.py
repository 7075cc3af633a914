"""The notifier: reads what is stored, queues the notifications it calls for, and delivers them.

One hub process at a time does it (the outbox's lease); another takes over
within the lease's lifetime, from where the first had read (a cursor per
channel, in the store). A pass:

1. **reads** each channel's new events, asks :mod:`hub.notify.triggers` what
   each calls for and whom it reaches, renders each message
   (:mod:`hub.notify.messages`) in each recipient's language — a person's
   own, else the hub's (``hub.language``), which is also every webhook's —
   and queues it once;
2. **delivers** what is due: per recipient, everything due at once, one message
   or one digest; a recipient told something within the digest window waits
   until it ends. E-mail goes through the configured SMTP server (aiosmtplib:
   STARTTLS or TLS, authentication), webhooks by HTTP POST (``post_json``,
   given by the web layer). A failure is tried
   again later (``retry_first_seconds``, doubling, at most 5 min apart) until ``retry_hours``,
   then marked failed.

Delivery runs in its own task, apart from ingest and the streams: a slow or
dead SMTP server or webhook delays only notifications. Sent once: a process
that dies after a send but before noting it may let its successor send that
one again — the one duplicate the lease cannot rule out.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Final

import aiosmtplib
import orjson

from hub.config import Config
from hub.crisis import objects
from hub.errors import Unauthorized
from hub.events import Event, id_key
from hub.i18n import Translator, translator
from hub.metrics import Metrics
from hub.notify import NotificationSettings
from hub.notify.messages import Message, digest, render, webhook_payload
from hub.notify.triggers import Crisis, notice_of, recipients
from hub.people import Person
from hub.people.service import People
from hub.policy import HUB, Level, Principal, expected_acknowledgers
from hub.store import Store
from hub.store.outbox import Outbox, Outgoing, settled

log = logging.getLogger(__name__)

READ_BATCH: Final = 500
LONGEST_PAUSE: Final = 300.0


class DeliveryError(Exception):
    """A recipient's server refused or could not be reached: the one sentence kept with the notification."""


PostJson = Callable[[str, dict[str, Any], float], Awaitable[None]]
"""POST a JSON body to a URL within a timeout (seconds); DeliveryError unless it is taken (2xx)."""


class Notifier:
    """Notifications of one hub: queued from the store's events, delivered from the outbox."""

    def __init__(
        self,
        config: Config,
        store: Store,
        outbox: Outbox,
        people: People,
        post_json: PostJson,
        metrics: Metrics | None = None,
        lease_ttl: float = 30.0,
    ) -> None:
        self.config = config
        self.lease_ttl = lease_ttl
        self.settings: NotificationSettings = config.notifications
        self.store = store
        self.outbox = outbox
        self.people = people
        self.post_json = post_json
        self.metrics = metrics
        self.names = {sid: s.name for sid, s in config.stakeholders.items()}

    # reading -----------------------------------------------------------------------------------
    async def scan(self) -> int:
        """Queue what the events stored since the last pass call for; how many notifications were queued."""
        queued = 0
        for channel in self.config.channels:
            cursor = await self.outbox.cursor(channel)
            if cursor is None:
                # A hub that starts notifying tells of what happens from now on, not of its whole history.
                await self.outbox.set_cursor(channel, await self.store.last_id(channel) or "0-0")
                continue
            while events := await self.store.read(channel, cursor, READ_BATCH):
                for event in events:
                    queued += await self._queue(event)
                cursor = events[-1].id
                await self.outbox.set_cursor(channel, cursor)
                if len(events) < READ_BATCH:
                    break
        return queued

    async def _queue(self, event: Event) -> int:
        if event.type not in ("incident", objects.ACTION_TYPE, "report"):
            return 0
        obj = orjson.loads(event.raw)
        crisis = await self._crisis_of(event, obj)
        if crisis is None:
            return 0
        notice = notice_of(event, obj, await self._previous(event), crisis, self.config.crisis.severity,
                           self._by(event))  # fmt: skip
        if notice is None:
            return 0
        awaited: list[str] = []
        if notice.kind == "ack-requested":
            fields = crisis.fields
            awaited = expected_acknowledgers(self.config.principals.values(), event, fields["lead"],
                                             fields["affected_stakeholders"], self.config.crisis.channel)  # fmt: skip
        everyone = await self._people()
        targets = recipients(notice, event, everyone, self.config.principals, self.settings, time.time(), awaited)
        messages: dict[str, Message] = {}  # one rendering per language the notice reaches
        queued = 0
        for target in targets:
            tr = translator(target.language or self.config.hub.language)
            if tr.lang not in messages:
                messages[tr.lang] = render(notice, self.settings.public_url, self.settings.max_tlp,
                                           self.config.hub.time_zone, tr)  # fmt: skip
            message = messages[tr.lang]
            item = Outgoing(
                id=Outgoing.id_of(notice.key, target.via, target.address), key=notice.key, via=target.via,
                address=target.address, person=target.person, kinds=(notice.kind,), crisis=notice.crisis_id,
                severity=notice.severity.level, subject=message.subject, text=message.text, link=message.link,
                full=message.full, created=time.time(), not_before=target.not_before, channel=notice.channel,
                tlp=int(notice.tlp),
            )  # fmt: skip
            queued += int(await self.outbox.add(item))
        return queued

    def _by(self, event: Event) -> str:
        """Who stored ``event``, as people read it; "" for the hub itself (each message says so in its language)."""
        if event.source == HUB and not event.person_name:
            return ""
        name = self.names.get(event.source, event.source)
        return f"{event.person_name} ({name})" if event.person_name else name

    async def _people(self) -> list[tuple[Person, Principal]]:
        out = []
        for person in (await self.people.all()).values():
            try:
                out.append((person, self.people.rights(person)))
            except Unauthorized:
                continue  # disabled, or their stakeholder is gone: told nothing
        return out

    async def _previous(self, event: Event) -> dict[str, Any] | None:
        """The version of the event's object stored before it in its channel, if any."""
        versions = (await self.store.versions_in(event.channel, [event.stix_id]))[event.stix_id]
        earlier = [eid for eid in versions.values() if id_key(eid) < id_key(event.id)]
        if not earlier:
            return None
        found = await self.store.events_by_id(event.channel, [max(earlier, key=id_key)])
        return orjson.loads(found[0].raw) if found else None

    async def _crisis_of(self, event: Event, obj: dict[str, Any]) -> Crisis | None:
        if objects.is_crisis(obj):
            return Crisis(obj["id"], obj, Level(event.channel, event.tlp))
        if obj.get("type") == objects.ACTION_TYPE:
            refs = [obj.get("crisis_ref")]
        else:
            refs = [r for r in obj.get("object_refs", ()) if isinstance(r, str) and r.startswith("incident--")]
        for channel in dict.fromkeys((event.channel, self.config.crisis.channel)):
            for found in await self.store.latest_events(channel, [r for r in refs if isinstance(r, str)]):
                crisis = orjson.loads(found.raw)
                if objects.is_crisis(crisis):
                    return Crisis(crisis["id"], crisis, Level(found.channel, found.tlp))
        return None

    # delivering --------------------------------------------------------------------------------
    async def deliver(self) -> int:
        """Send what is due, one message (or digest) per recipient; how many notifications went out."""
        now = time.time()
        window = self.settings.digest_minutes * 60
        groups: dict[tuple[str, str], list[Outgoing]] = {}
        for item in await self.outbox.due(now):
            groups.setdefault((item.via, item.address), []).append(item)
        sent = 0
        for (via, address), items in groups.items():
            recipient = f"{via}:{address}"
            last = await self.outbox.last_sent(recipient)
            if last and now < last + window:
                await self.outbox.hold([i.id for i in items], last + window)
                continue
            tr = await self._translator(via, items)
            message = digest([Message(i.subject, i.text, i.link, i.full) for i in items], self.settings.public_url, tr)
            if not await self.outbox.lease.renew(self.lease_ttl):
                log.info("notifications: another hub process took over; it sends the rest")
                break
            try:
                await self._send(via, address, message, items, tr)
            except DeliveryError as exc:
                await self._failed(items, str(exc), now)
                continue
            ids = tuple(i.id for i in items)
            for item in items:
                await self.outbox.save(settled(item, "sent", digest=ids if len(ids) > 1 else ()))
            await self.outbox.note_sent(recipient, time.time(), window)
            self._count(via, "sent", len(items))
            sent += len(items)
        await self.outbox.prune()
        return sent

    async def _failed(self, items: Sequence[Outgoing], error: str, now: float) -> None:
        for item in items:
            attempts = item.attempts + 1
            if now - item.created >= self.settings.retry_hours * 3600:
                await self.outbox.save(settled(item, "failed", error))
                self._count(item.via, "failed", 1)
                log.warning("notification %s to %s given up after %d attempts: %s", item.id, item.address,
                            attempts, error)  # fmt: skip
                continue
            pause = min(LONGEST_PAUSE, self.settings.retry_first_seconds * 2 ** (attempts - 1))
            await self.outbox.save(replace(item, attempts=attempts, error=error), retry_at=now + pause)
            self._count(item.via, "retried", 1)
        log.warning("notification to %s not delivered (%s); trying again later", items[0].address, error)

    async def _translator(self, via: str, items: Sequence[Outgoing]) -> Translator:
        """The language of a recipient's digest: the person's own (as now), else the hub's."""
        language = None
        if via == "email" and items[0].person:
            person = await self.people.get(items[0].person)
            language = person.language if person is not None else None
        return translator(language or self.config.hub.language)

    def _count(self, via: str, outcome: str, n: int) -> None:
        if self.metrics is not None:
            self.metrics.notifications.labels(via, outcome).inc(n)

    async def _send(self, via: str, address: str, message: Message, items: Sequence[Outgoing], tr: Translator) -> None:
        if via == "email":
            await self._email(address, message, tr)
        else:
            await self._webhook(address, message, items, tr)

    async def _email(self, address: str, message: Message, tr: Translator) -> None:
        smtp = self.settings.smtp
        if smtp is None:
            raise DeliveryError("no SMTP server is configured")
        mail = EmailMessage()
        mail["From"] = smtp.sender
        mail["To"] = address
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2].strip(">") or None)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)
        mail["Content-Language"] = tr.lang  # after the content: setting it drops every Content-* header
        password = os.environ.get(smtp.password_env, "") if smtp.password_env else ""
        try:
            await aiosmtplib.send(
                mail,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username or None,
                password=password or None,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",  # required, never merely attempted
                cert_bundle=smtp.ca_file,
                timeout=smtp.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"the SMTP server {smtp.host}:{smtp.port}: {exc}") from exc

    async def _webhook(self, hook_id: str, message: Message, items: Sequence[Outgoing], tr: Translator) -> None:
        hook = next((h for h in self.settings.webhooks if h.id == hook_id), None)
        if hook is None:
            raise DeliveryError(f"no webhook {hook_id} in the configuration any more")
        kinds = sorted({k for item in items for k in item.kinds})
        payload = webhook_payload(hook.format, message, kinds, max(i.severity for i in items), tr)
        timeout = self.settings.smtp.timeout_seconds if self.settings.smtp else 10.0
        try:
            await self.post_json(hook.url, payload, timeout)
        except DeliveryError as exc:
            raise DeliveryError(f"webhook {hook.id}: {exc}") from exc
