"""Notifications: who must be told of what, by e-mail and webhooks, when they are not watching. Pure: no I/O.

An event stored in a channel may call for telling people: a crisis declared
or raised, an action item assigned (a plan's step is one), an item escalated
as overdue, a sitrep to acknowledge. :func:`hub.notify.triggers.notices_of`
says which, and whom; :mod:`hub.notify.messages` writes what each recipient
gets, at most what the event's TLP lets leave the hub; the notifier
(:mod:`hub.notify.service`) keeps them in the store's outbox and delivers
them, once, from one hub process at a time.

This module holds the settings (``[notifications]`` of the config) and the
rules of what notifies whom: ``default``, then a stakeholder's, then a
person's, each overriding the one before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from types import MappingProxyType
from typing import Any, Final, Literal

from hub.tlp import TLP

Format = Literal["json", "slack", "mattermost", "teams"]
Security = Literal["starttls", "tls", "none"]

KINDS: Final = ("crisis-declared", "crisis-raised", "action-assigned", "action-overdue", "ack-requested")


@dataclass(frozen=True, slots=True)
class Rule:
    """What notifies one person (or, for a webhook, one stakeholder)."""

    email: bool = True
    crises: bool = True
    crisis_min_severity: int = 3
    actions: bool = True
    overdue: bool = True
    acknowledgments: bool = True
    quiet_hours: str = ""

    def quiet(self) -> tuple[time, time] | None:
        """The quiet hours as (start, end), or None."""
        if not self.quiet_hours:
            return None
        start, end = self.quiet_hours.split("-")
        return time.fromisoformat(start), time.fromisoformat(end)


def overridden(rule: Rule, overrides: Mapping[str, Any]) -> Rule:
    """``rule`` with the keys ``overrides`` gives (a config table, checked by the schema)."""
    known = {f.name for f in fields(Rule)}
    return replace(rule, **{k: v for k, v in overrides.items() if k in known})


@dataclass(frozen=True, slots=True)
class Rules:
    default: Rule = Rule()
    stakeholders: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    people: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))

    def for_stakeholder(self, stakeholder: str) -> Rule:
        return overridden(self.default, self.stakeholders.get(stakeholder, {}))

    def for_person(self, person: str, stakeholder: str) -> Rule:
        return overridden(self.for_stakeholder(stakeholder), self.people.get(person, {}))


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str
    sender: str
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password_env: str | None = None
    ca_file: str | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    stakeholders: tuple[str, ...]
    format: Format = "json"


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    public_url: str = "http://127.0.0.1:8080"
    max_tlp: TLP = TLP.GREEN
    digest_minutes: float = 5.0
    time_zone: str = "UTC"
    """The hub's (``hub.time_zone``): of quiet hours and of the times notifications show."""
    quiet_hours_override: int = 4
    retry_first_seconds: float = 5.0
    retry_hours: float = 24.0
    smtp: Smtp | None = None
    webhooks: tuple[Webhook, ...] = ()
    rules: Rules = Rules()

    @property
    def enabled(self) -> bool:
        """Whether anything can be sent: an SMTP server or a webhook."""
        return self.smtp is not None or bool(self.webhooks)


def settings_from_config(raw: Mapping[str, Any], time_zone: str = "UTC") -> NotificationSettings:
    """``[notifications]`` of a config (already checked against its schema); ``time_zone``: the hub's."""
    smtp_raw = raw.get("smtp")
    rules_raw = raw.get("rules", {})
    return NotificationSettings(
        public_url=str(raw.get("public_url", "http://127.0.0.1:8080")).rstrip("/"),
        max_tlp=TLP.parse(raw.get("max_tlp", "green")),
        digest_minutes=float(raw.get("digest_minutes", 5.0)),
        time_zone=time_zone,
        quiet_hours_override=int(raw.get("quiet_hours_override", 4)),
        retry_first_seconds=float(raw.get("retry_first_seconds", 5.0)),
        retry_hours=float(raw.get("retry_hours", 24.0)),
        smtp=Smtp(**smtp_raw) if smtp_raw is not None else None,
        webhooks=tuple(
            Webhook(id=wid, url=w["url"], stakeholders=tuple(w["stakeholders"]), format=w.get("format", "json"))
            for wid, w in raw.get("webhooks", {}).items()
        ),
        rules=Rules(
            default=overridden(Rule(), rules_raw.get("default", {})),
            stakeholders=MappingProxyType(dict(rules_raw.get("stakeholders", {}))),
            people=MappingProxyType(dict(rules_raw.get("people", {}))),
        ),
    )
