"""Every key under which the hub application keeps a shared object.

A leaf of the web layer: handlers, lifecycles and tests import their keys from
here, never from the composition root (``hub.app``), so nothing imports back
into it. The types are imported for the type checker only: importing this
module loads nothing but aiohttp.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub import forwarded
    from hub.config import Config
    from hub.crisis.service import CrisisService
    from hub.federation.runner import ConnectorRuntime
    from hub.gate import IngestGate
    from hub.metrics import Metrics
    from hub.monitoring import CapacityMonitor
    from hub.oidc import OidcClient, RelyingParty
    from hub.people.service import People
    from hub.plans.service import PlanService
    from hub.stix.pool import Validator
    from hub.store import Store, TokenStore
    from hub.store.audit import AuditLog
    from hub.store.outbox import Outbox
    from hub.stream.fanout import Dispatcher
    from hub.tasks import BackgroundTasks
    from hub.taxii.catalog import Catalog
    from hub.taxii.cursors import CursorSecret
    from hub.throttle import FailureThrottle

CONFIG: web.AppKey[Config] = web.AppKey("config")
STORE: web.AppKey[Store] = web.AppKey("store")
TOKENS: web.AppKey[TokenStore] = web.AppKey("tokens")
PEOPLE: web.AppKey[People] = web.AppKey("people")
"""Who may sign in as a person, their credentials and web sessions."""
RELYING_PARTY: web.AppKey[RelyingParty] = web.AppKey("oidc_relying_party")
OIDC_CLIENTS: web.AppKey[dict[str, OidcClient]] = web.AppKey("oidc_clients")
"""The hub as registered at each configured identity provider (set when ``[sign_in.oidc]`` names any)."""
AUDIT: web.AppKey[AuditLog] = web.AppKey("audit")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
TASKS: web.AppKey[BackgroundTasks] = web.AppKey("tasks")
"""The process's long-running background tasks, watched: health reports one that died."""

CAPACITY: web.AppKey[CapacityMonitor] = web.AppKey("capacity")
"""The latest reading of the store's memory (set by the capacity lifecycle)."""

ARCHIVE_DIR: web.AppKey[Path] = web.AppKey("archive_dir")
"""Where ``retain_days`` archives channels (the data folder's ``archive``); unset: nothing is archived."""

THROTTLE: web.AppKey[FailureThrottle] = web.AppKey("auth_throttle")
TRUSTED_PROXIES: web.AppKey[tuple[forwarded.Network, ...]] = web.AppKey("trusted_proxies")

DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher")
GATE: web.AppKey[IngestGate] = web.AppKey("ingest_gate")
VALIDATOR: web.AppKey[Validator] = web.AppKey("validator")
CRISIS_SERVICE: web.AppKey[CrisisService] = web.AppKey("crisis_service")
OUTBOX: web.AppKey[Outbox] = web.AppKey("outbox")
"""The notifications' outbox (set by the notifications lifecycle)."""
PLANS: web.AppKey[PlanService] = web.AppKey("plans")
"""The crisis plans: runs started by triggers or by hand (set by the plans lifecycle)."""
CONNECTORS: web.AppKey[ConnectorRuntime] = web.AppKey("connectors")
CATALOG: web.AppKey[Catalog] = web.AppKey("taxii_catalog")
CURSOR_SECRET: web.AppKey[CursorSecret] = web.AppKey("cursor_secret")
WEB_ROOT: web.AppKey[Path] = web.AppKey("web_root")
