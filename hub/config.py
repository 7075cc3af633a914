"""The hub's configuration: a TOML file validated once at start-up.

Loading goes in three steps: TOML syntax, the JSON Schema in
``schemas/config.schema.json`` (shape and types), then cross-references
(a stakeholder's role exists, a role names channels that exist). Every error
names the key at fault, e.g. ``stakeholders.banxico.roles[1]``. The result is
frozen: nothing changes it after start-up.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import fastjsonschema

from hub.admission import Limits
from hub.crisis.taxonomy import NCISS, SeverityLevel
from hub.errors import ConfigError
from hub.forwarded import Network, network_error, parse_networks
from hub.notify import NotificationSettings, settings_from_config
from hub.people import Person, person_errors
from hub.people import from_config as person_from_config
from hub.policy import ACCESS_KINDS, HUB, ChannelRule, Grant, Principal, may_write_channel, principal_from_roles
from hub.tlp import TLP

DEMO_SOURCE = "built-in demo configuration"


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    title: str
    default_tlp: TLP
    max_tlp: TLP = TLP.RED
    description: str = ""
    sector: str | None = None
    retain_events: int | None = None
    retain_days: float | None = None

    @property
    def rule(self) -> ChannelRule:
        return ChannelRule(self.name, self.max_tlp)


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    tlp: TLP = TLP.CLEAR
    admin: bool = False
    access: frozenset[str] = ACCESS_KINDS


@dataclass(frozen=True, slots=True)
class Stakeholder:
    id: str
    name: str
    roles: tuple[str, ...]
    sector: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """A named group of stakeholders: a plan's ``group`` agent, assigned to every member."""

    id: str
    name: str
    members: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class PlanTrigger:
    """One ``[[plans]]`` entry: start playbook ``plan`` for a crisis when the trigger matches."""

    name: str
    plan: str
    """The CACAO playbook id, ``playbook--<UUID>``."""
    channel: str
    """Where the plan's course-of-action is stored."""
    on: frozenset[str] = frozenset({"declared"})
    """``declared`` and/or ``raised``."""
    min_severity: int = 0
    categories: frozenset[str] | None = None
    """None: any category."""
    exercises: bool = False
    """Also for crises declared as exercises."""


@dataclass(frozen=True, slots=True)
class HubSettings:
    title: str = "Crisis Hub"
    time_zone: str = "UTC"
    """The hub's time zone: of the times its sitreps, reports and notifications show, and of quiet hours."""
    language: str = "en"
    """The language of what the hub writes for someone whose own is not known."""
    max_body_bytes: int = 16 * 1024 * 1024
    validation_workers: int = 0
    """Processes that validate submitted objects beside the hub process (:mod:`hub.stix.pool`); 0: a thread."""
    page_limit: int = 1000
    stream_queue: int = 1000
    stream_send_buffer: int = 262144
    ingest_hold_fill: float = 0.25
    ingest_hold_lag_ms: int = 500
    ingest_hold_seconds: float = 2.0
    stream_auth_timeout: float = 5.0
    stream_heartbeat: float = 15.0
    stream_token_recheck: float = 5.0
    stream_connections_per_stakeholder: int = 50
    auth_failures_per_minute: int = 20
    metrics_public: bool = False
    redis_wait_replicas: int = 0
    """Replicas that must confirm an append (Redis ``WAIT``) before it is acknowledged; 0: none."""
    redis_wait_timeout_ms: int = 1000
    trusted_proxies: tuple[Network, ...] = ()
    """Peers whose ``X-Forwarded-For`` says who the client is (see :mod:`hub.forwarded`)."""

    @property
    def ingest_limits(self) -> Limits:
        """When producers wait for the live streams (see :mod:`hub.admission`)."""
        return Limits(self.ingest_hold_fill, self.ingest_hold_lag_ms / 1000, self.ingest_hold_seconds)


@dataclass(frozen=True, slots=True)
class CrisisSettings:
    channel: str = "committee"
    escalation_interval: float = 30.0
    severity: tuple[SeverityLevel, ...] = NCISS


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    """One ``[[connectors]]`` entry: a partner TAXII 2.1 collection pulled into, or pushed from, a channel.

    Secrets are never in the file: ``password_env`` and ``token_env`` name
    environment variables, read when the connector starts.
    """

    name: str
    kind: str
    """``taxii-pull`` or ``taxii-push``."""
    url: str
    """A collection URL, or a discovery / API root URL together with ``collection``."""
    channel: str
    """The channel pulled objects go to, or whose events are pushed."""
    collection: str | None = None
    username: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    stakeholder: str | None = None
    """Pull: the source of the pulled objects. Push: the partner's own stakeholder, never echoed back to it."""
    interval: float = 60.0
    timeout: float = 30.0
    page_size: int = 1000
    assume_tlp: TLP | None = None
    """Pull: the TLP of unmarked objects (default: the channel's ``default_tlp``)."""
    tlp_ceiling: TLP = TLP.GREEN
    """Push: the highest TLP every recipient at the partner is cleared for."""
    verify_tls: bool = True
    exercises: bool = False
    """Push: also send what belongs to exercise crises."""


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """One ``[sign_in.oidc.<id>]``: an institution's identity provider, whose people sign in for ``stakeholder``."""

    id: str
    label: str
    issuer: str
    client_id: str
    client_secret_env: str | None
    stakeholder: str
    claim: str = "email"


@dataclass(frozen=True, slots=True)
class SignInSettings:
    token_on_page: bool = False
    session_idle_minutes: float = 30.0
    session_max_hours: float = 12.0
    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    cli_token_days: int = 30
    oidc: tuple[OidcProvider, ...] = ()

    def provider(self, provider_id: str) -> OidcProvider | None:
        return next((p for p in self.oidc if p.id == provider_id), None)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration, with every stakeholder's rights precomputed."""

    hub: HubSettings
    channels: Mapping[str, Channel]
    roles: Mapping[str, Role]
    stakeholders: Mapping[str, Stakeholder]
    principals: Mapping[str, Principal]
    source: str
    crisis: CrisisSettings = CrisisSettings()
    connectors: tuple[ConnectorConfig, ...] = ()
    groups: Mapping[str, Group] = field(default_factory=lambda: MappingProxyType({}))
    plans: tuple[PlanTrigger, ...] = ()
    people: Mapping[str, Person] = field(default_factory=lambda: MappingProxyType({}))
    """The people of ``[people]``; those admins add at run time are in the store (see :mod:`hub.people`)."""
    sign_in: SignInSettings = SignInSettings()
    notifications: NotificationSettings = NotificationSettings()

    def channel(self, name: str) -> Channel | None:
        return self.channels.get(name)

    def connector(self, name: str) -> ConnectorConfig | None:
        return next((c for c in self.connectors if c.name == name), None)


@cache
def config_schema() -> dict[str, Any]:
    text = importlib.resources.files("hub.schemas").joinpath("config.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _schema_check() -> Any:
    return fastjsonschema.compile(config_schema())


def load_config(path: str | Path | None) -> Config:
    """Load and validate a config file; ``None`` loads the built-in demo configuration."""
    if path is None:
        text = importlib.resources.files("hub").joinpath("demo.toml").read_text("utf-8")
        return parse_config(text, DEMO_SOURCE)
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    return parse_config(text, str(path))


def parse_config(text: str, source: str) -> Config:
    """Parse TOML text into a :class:`Config`, or raise :class:`ConfigError` naming the key at fault."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    errors = config_errors(raw)
    if errors:
        raise ConfigError(f"{source}: " + "; ".join(errors))
    return _build(raw, source)


def config_errors(raw: Mapping[str, Any], *, schema: bool = True) -> list[str]:
    """Every problem of a decoded config, each naming its key; empty when valid.

    The schema's first error (fastjsonschema stops there) comes first, then
    every cross-reference problem, which are checked whatever the shape of the
    rest: a file with a bad value and a misspelt role name hears of both.
    ``schema=False``: the cross-references only (``config check`` finds every
    schema problem itself).
    """
    problems: list[str] = []
    valid = True
    try:
        _schema_check()(raw)
    except fastjsonschema.JsonSchemaValueException as err:
        valid = False
        if schema:
            problems.append(f"{_key_path(str(err.name))}: {_schema_message(err)}")

    def table(value: Any) -> Mapping[str, Any]:
        return value if isinstance(value, Mapping) else {}

    def strings(value: Any) -> list[tuple[int, str]]:
        return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []

    # A section that is missing or not a table is the schema's problem: names are checked only against a real one.
    channels, roles = raw.get("channels"), raw.get("roles")
    for role_name, role in table(roles).items():
        for verb in ("read", "write"):
            for i, pattern in strings(table(role).get(verb)):
                if isinstance(channels, Mapping) and not _is_pattern(pattern) and pattern not in channels:
                    problems.append(f"roles.{role_name}.{verb}[{i}]: no channel named {pattern!r}")
    for sid, holder in table(raw.get("stakeholders")).items():
        if sid == HUB:
            problems.append(f"stakeholders.{sid}: the id {HUB!r} is the hub's own (the source of what it writes)")
        for i, role_name in strings(table(holder).get("roles")):
            if isinstance(roles, Mapping) and role_name not in roles:
                problems.append(f"stakeholders.{sid}.roles[{i}]: no role named {role_name!r}")
    crisis = table(raw.get("crisis"))
    crisis_channel = crisis.get("channel")
    if isinstance(crisis_channel, str) and isinstance(channels, Mapping) and crisis_channel not in channels:
        problems.append(f"crisis.channel: no channel named {crisis_channel!r}")
    levels = (
        [table(s).get("level") for s in crisis.get("severity", [])] if isinstance(crisis.get("severity"), list) else []
    )
    if levels and levels != list(range(len(levels))):
        problems.append("crisis.severity: levels must be 0, 1, 2, … in order")
    for name, channel in table(channels).items():
        try:
            if "max_tlp" in channel and TLP.parse(channel["default_tlp"]) > TLP.parse(channel["max_tlp"]):
                problems.append(f"channels.{name}.default_tlp: above the channel's max_tlp")
        except (TypeError, KeyError, ValueError, AttributeError):
            pass  # a TLP that is missing or not one: the schema says so
    stakeholder_ids = table(raw.get("stakeholders"))
    for gid, group in table(raw.get("groups")).items():
        if gid in stakeholder_ids:
            problems.append(f"groups.{gid}: a stakeholder has the same id; a plan's agent would name both")
        for i, member in strings(table(group).get("members")):
            if member not in stakeholder_ids:
                problems.append(f"groups.{gid}.members[{i}]: no stakeholder named {member!r}")
    for i, trigger in enumerate(raw.get("plans", []) if isinstance(raw.get("plans"), list) else []):
        plan_channel = table(trigger).get("channel")
        if isinstance(plan_channel, str) and isinstance(channels, Mapping) and plan_channel not in channels:
            problems.append(f"plans[{i}].channel: no channel named {plan_channel!r}")
    for i, entry in strings(table(raw.get("hub")).get("trusted_proxies")):
        problem = network_error(entry)
        if problem is not None:
            problems.append(f"hub.trusted_proxies[{i}]: {problem}")
    try:
        problems += _connector_errors(raw)
    except (TypeError, KeyError, AttributeError, ValueError):
        if valid:
            raise
        # The connectors' cross-checks need the shape the schema ensures: they wait for a valid file.
    if valid and not problems:  # a person's rights are checked against the built stakeholders
        principals = _build(raw, "").principals
        for pid, entry in table(raw.get("people")).items():
            problems += person_errors(pid, entry, principals)
        for pid, entry in table(table(raw.get("sign_in")).get("oidc")).items():
            holder = table(entry).get("stakeholder")
            if holder not in principals:
                problems.append(f"sign_in.oidc.{pid}.stakeholder: no stakeholder named {holder!r}")
        problems += _notification_errors(table(raw.get("notifications")), principals)
        zone = table(raw.get("hub")).get("time_zone", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"hub.time_zone: {zone!r} is not a time zone name such as America/Mexico_City")
    return problems


def _notification_errors(raw: Mapping[str, Any], stakeholders: Mapping[str, Any]) -> list[str]:
    """Cross-checks of ``[notifications]`` that the schema cannot express."""
    problems: list[str] = []
    for wid, hook in raw.get("webhooks", {}).items():
        for i, holder in enumerate(hook["stakeholders"]):
            if holder not in stakeholders:
                problems.append(f"notifications.webhooks.{wid}.stakeholders[{i}]: no stakeholder named {holder!r}")
    for holder in raw.get("rules", {}).get("stakeholders", {}):
        if holder not in stakeholders:
            problems.append(f"notifications.rules.stakeholders.{holder}: no stakeholder named {holder!r}")
    smtp = raw.get("smtp", {})
    if "@" not in smtp.get("sender", "@"):
        problems.append("notifications.smtp.sender: not an e-mail address (such as Crisis Hub <hub@example.mx>)")
    if smtp.get("username") and not smtp.get("password_env"):
        problems.append("notifications.smtp.password_env: a username needs the variable that holds its password")
    return problems


def _connector_errors(raw: Mapping[str, Any]) -> list[str]:
    """Cross-checks of ``[[connectors]]`` that the schema cannot express."""
    problems: list[str] = []
    channels, stakeholders, roles = raw["channels"], raw["stakeholders"], raw["roles"]
    seen: set[str] = set()
    for i, c in enumerate(raw.get("connectors", [])):
        key = f"connectors[{i}]"
        if c["name"] in seen:
            problems.append(f"{key}.name: another connector is already named {c['name']!r}")
        seen.add(c["name"])
        if "@" in c["url"].split("//", 1)[-1].split("/", 1)[0]:
            problems.append(f"{key}.url: put no credentials in the URL; use username and password_env, or token_env")
        if "token_env" in c and ("username" in c or "password_env" in c):
            problems.append(f"{key}.token_env: give either token_env (Bearer) or username and password_env (Basic)")
        elif ("username" in c) != ("password_env" in c):
            problems.append(f"{key}.{'password_env' if 'username' in c else 'username'}: Basic needs both")
        pull = c["kind"] == "taxii-pull"
        # Not tlp_ceiling: the schema check fills in its default, so its presence says nothing.
        if "assume_tlp" in c and not pull:
            problems.append(f"{key}.assume_tlp: only for taxii-pull connectors")
        channel = channels.get(c["channel"])
        if channel is None:
            problems.append(f"{key}.channel: no channel named {c['channel']!r}")
        elif "assume_tlp" in c and TLP.parse(c["assume_tlp"]) > TLP.parse(channel.get("max_tlp", "red")):
            problems.append(f"{key}.assume_tlp: above channel {c['channel']}'s max_tlp")
        holder = c.get("stakeholder")
        if holder is None:
            if pull:
                problems.append(f"{key}.stakeholder: required for taxii-pull (the source of what it pulls)")
        elif holder not in stakeholders:
            problems.append(f"{key}.stakeholder: no stakeholder named {holder!r}")
        elif pull and channel is not None:
            sector = stakeholders[holder].get("sector")
            # The file is not built yet: resolve the roles' write patterns here, let the policy combine them.
            grants = [
                Grant(write=tuple(expand_channels(tuple(roles[r].get("write", ())), sector, channels)))
                for r in stakeholders[holder]["roles"]
                if r in roles
            ]
            rights = principal_from_roles(holder, holder, sector, (), grants)
            if not may_write_channel(rights, c["channel"]):
                problems.append(f"{key}.stakeholder: {holder!r} may not write channel {c['channel']!r}")
    return problems


def _schema_message(err: Any) -> str:
    """fastjsonschema's message without its ``data.x.y`` prefix (the key is said separately)."""
    message = str(err.message)
    return message.split(" ", 1)[1] if message.startswith("data") else message


def _key_path(name: str) -> str:
    """``connectors[0].kind`` for fastjsonschema's ``data.connectors[0].kind`` (its ``path`` loses the brackets)."""
    return name.removeprefix("data").lstrip(".") or "(top level)"


def _is_pattern(entry: str) -> bool:
    return any(ch in entry for ch in "*?[{")


def expand_channels(patterns: tuple[str, ...], sector: str | None, channels: Mapping[str, Any]) -> list[str]:
    """Channel names matched by ``patterns`` for a stakeholder of ``sector``."""
    matched: list[str] = []
    for pattern in patterns:
        if "{sector}" in pattern:
            if sector is None:
                continue
            pattern = pattern.replace("{sector}", sector)
        matched.extend(name for name in channels if fnmatch.fnmatchcase(name, pattern) and name not in matched)
    return matched


def _build(raw: Mapping[str, Any], source: str) -> Config:
    hub_raw = raw.get("hub", {})
    hub = HubSettings(**{**hub_raw, "trusted_proxies": parse_networks(hub_raw.get("trusted_proxies", ()))})
    channels = {
        name: Channel(
            name=name,
            title=c["title"],
            default_tlp=TLP.parse(c["default_tlp"]),
            max_tlp=TLP.parse(c.get("max_tlp", "red")),
            description=c.get("description", ""),
            sector=c.get("sector"),
            retain_events=c.get("retain_events"),
            retain_days=c.get("retain_days"),
        )
        for name, c in raw["channels"].items()
    }
    roles = {
        name: Role(
            name=name,
            read=tuple(r.get("read", ())),
            write=tuple(r.get("write", ())),
            tlp=TLP.parse(r.get("tlp", "clear")),
            admin=bool(r.get("admin", False)),
            access=frozenset(r.get("access", ACCESS_KINDS)),
        )
        for name, r in raw["roles"].items()
    }
    stakeholders = {
        sid: Stakeholder(id=sid, name=s["name"], roles=tuple(s["roles"]), sector=s.get("sector"))
        for sid, s in raw["stakeholders"].items()
    }
    principals = {sid: _principal(s, roles, channels) for sid, s in stakeholders.items()}
    crisis_raw = raw.get("crisis", {})
    severity = tuple(SeverityLevel(**level) for level in crisis_raw.get("severity", [])) or NCISS
    crisis = CrisisSettings(
        # Without a choice: the committee's channel if there is one, else the first declared.
        channel=crisis_raw.get("channel", "committee" if "committee" in channels else next(iter(channels))),
        escalation_interval=crisis_raw.get("escalation_interval", 30.0),
        severity=severity,
    )
    connectors = tuple(_connector(c) for c in raw.get("connectors", []))
    groups = {
        gid: Group(id=gid, name=g["name"], members=tuple(g["members"]), description=g.get("description", ""))
        for gid, g in raw.get("groups", {}).items()
    }
    plans = tuple(
        PlanTrigger(
            name=t["name"],
            plan=t["plan"],
            channel=t.get("channel", crisis.channel),
            on=frozenset(t.get("on", ("declared",))),
            min_severity=int(t.get("min_severity", 0)),
            categories=frozenset(t["categories"]) if "categories" in t else None,
            exercises=bool(t.get("exercises", False)),
        )
        for t in raw.get("plans", [])
    )
    sign_in_raw = raw.get("sign_in", {})
    sign_in = SignInSettings(
        **{k: v for k, v in sign_in_raw.items() if k != "oidc"},
        oidc=tuple(
            OidcProvider(
                id=pid,
                label=o.get("label") or stakeholders[o["stakeholder"]].name,
                issuer=o["issuer"],
                client_id=o["client_id"],
                client_secret_env=o.get("client_secret_env"),
                stakeholder=o["stakeholder"],
                claim=o.get("claim", "email"),
            )
            for pid, o in sign_in_raw.get("oidc", {}).items()
            if o["stakeholder"] in stakeholders
        ),
    )
    people = {pid: person_from_config(pid, entry) for pid, entry in raw.get("people", {}).items()}
    return Config(
        people=MappingProxyType(people),
        notifications=settings_from_config(raw.get("notifications", {}), hub.time_zone),
        sign_in=sign_in,
        groups=MappingProxyType(groups),
        plans=plans,
        connectors=connectors,
        crisis=crisis,
        hub=hub,
        channels=MappingProxyType(channels),
        roles=MappingProxyType(roles),
        stakeholders=MappingProxyType(stakeholders),
        principals=MappingProxyType(principals),
        source=source,
    )


def _connector(c: Mapping[str, Any]) -> ConnectorConfig:
    return ConnectorConfig(
        name=c["name"],
        kind=c["kind"],
        url=c["url"],
        channel=c["channel"],
        collection=c.get("collection"),
        username=c.get("username"),
        password_env=c.get("password_env"),
        token_env=c.get("token_env"),
        stakeholder=c.get("stakeholder"),
        interval=float(c.get("interval", 60.0)),
        timeout=float(c.get("timeout", 30.0)),
        page_size=int(c.get("page_size", 1000)),
        assume_tlp=TLP.parse(c["assume_tlp"]) if "assume_tlp" in c else None,
        tlp_ceiling=TLP.parse(c.get("tlp_ceiling", "green")),
        verify_tls=bool(c.get("verify_tls", True)),
        exercises=bool(c.get("exercises", False)),
    )


def _principal(holder: Stakeholder, roles: Mapping[str, Role], channels: Mapping[str, Channel]) -> Principal:
    """``holder``'s rights. The configuration only resolves each role's channel patterns for the holder (its
    sector, the declared channels); how roles combine into rights is the policy's rule
    (:func:`hub.policy.principal_from_roles`)."""
    grants = [_grant(roles[name], holder.sector, channels) for name in holder.roles]
    return principal_from_roles(holder.id, holder.name, holder.sector, holder.roles, grants)


def _grant(role: Role, sector: str | None, channels: Mapping[str, Any]) -> Grant:
    """What ``role`` grants a stakeholder of ``sector``: its patterns matched against ``channels``."""
    return Grant(
        read=tuple(expand_channels(role.read, sector, channels)),
        write=tuple(expand_channels(role.write, sector, channels)),
        tlp=role.tlp,
        admin=role.admin,
        access=role.access,
    )
