"""``create_app(config, redis_url)``: the hub's aiohttp application. Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from hub import api, keys, monitoring, owners, retention
from hub.config import Config
from hub.crisis import escalation
from hub.crisis import routes as crisis_routes
from hub.federation import routes as federation_routes
from hub.metrics import Metrics
from hub.middleware import (
    HANDLER_ARGS,
    add_security_headers,
    error_middleware,
    request_middleware,
    serve_protocol_errors_as_json,
    throttle_middleware,
)
from hub.notify import routes as notify_routes
from hub.people import cli_login
from hub.people import providers as oidc_providers
from hub.people import routes as people_routes
from hub.people.service import People
from hub.plans import routes as plan_routes
from hub.stix.pool import Validator
from hub.store import Store, TokenStore, connect, upgrade
from hub.store.audit import AuditLog
from hub.store.outbox import Outbox
from hub.store.people import PeopleStore
from hub.stream import handler as stream_handler
from hub.tasks import BackgroundTasks, cancel_and_wait
from hub.taxii import routes as taxii_routes
from hub.taxii.catalog import Catalog
from hub.taxii.cursors import CursorSecret
from hub.throttle import FailureThrottle
from hub.webui import add_routes as add_webui_routes

log = logging.getLogger(__name__)


def create_app(
    config: Config, redis_url: str, *, namespace: str = "chub", cluster: bool = False, archive_dir: Path | None = None
) -> web.Application:
    """Build the hub application on the Redis server at ``redis_url``.

    ``namespace`` prefixes every Redis key, so that several hubs (or test
    runs) can share one Redis server without seeing each other's data.
    ``cluster``: ``redis_url`` is a node of a Redis Cluster (see :func:`hub.store.connect`).
    ``archive_dir``: where channels with ``retain_days`` are archived (see :mod:`hub.retention`).
    """
    app = web.Application(
        middlewares=[request_middleware, error_middleware, throttle_middleware],
        client_max_size=config.hub.max_body_bytes,
        handler_args=HANDLER_ARGS,
    )
    serve_protocol_errors_as_json(app)  # what aiohttp cannot parse gets a JSON error too
    app[keys.CONFIG] = config
    metrics = app[keys.METRICS] = Metrics()
    app[keys.TASKS] = BackgroundTasks(on_failure=lambda task: metrics.task_failures.labels(task=task).inc())
    app[keys.THROTTLE] = FailureThrottle(limit=config.hub.auth_failures_per_minute, window=60.0)
    app[keys.TRUSTED_PROXIES] = config.hub.trusted_proxies
    if archive_dir is not None:
        app[keys.ARCHIVE_DIR] = archive_dir

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        client = connect(redis_url, cluster=cluster)
        settings = config.hub
        app[keys.STORE] = Store(
            client, namespace, wait_replicas=settings.redis_wait_replicas, wait_ms=settings.redis_wait_timeout_ms
        )
        app[keys.TOKENS] = TokenStore(client, namespace)
        app[keys.PEOPLE] = People(config, PeopleStore(client, namespace))
        app[keys.OUTBOX] = Outbox(client, namespace)
        upgrading = await upgrade.at_start(app[keys.STORE], list(config.channels))  # see hub.store.upgrade
        await owners.backfill(app[keys.STORE], list(config.channels))  # once per store: see hub.owners
        app[keys.AUDIT] = AuditLog(client, namespace)
        await app[keys.AUDIT].start()
        app[keys.TASKS].watch("audit", app[keys.AUDIT].writer)
        yield
        if upgrading is not None:
            await cancel_and_wait(upgrading)
        app[keys.TASKS].forget("audit")
        await app[keys.AUDIT].stop()
        await client.aclose()

    async def validator_ctx(app: web.Application) -> AsyncIterator[None]:
        validator = app[keys.VALIDATOR] = Validator(config.hub.validation_workers)
        validator.start()
        yield
        await validator.close()

    # Lifecycles, in start-up order (shut down in reverse): each finds what it needs already set.
    app.cleanup_ctx.extend(
        [
            redis_ctx,  # store, tokens, people, outbox, audit
            validator_ctx,  # the validation workers, if any
            monitoring.capacity_ctx,  # refuses an evicting Redis before anything else starts
            retention.retention_ctx,
            stream_handler.dispatcher_ctx,
            crisis_routes.service_ctx,
            escalation.escalation_ctx,  # needs the crisis service
            plan_routes.plans_ctx,  # needs the crisis service
            notify_routes.notify_ctx,  # needs the dispatcher and the people
            federation_routes.connectors_ctx,  # runs [[connectors]] in this process
            oidc_providers.oidc_ctx,  # the institutions' identity providers, if any
        ]
    )
    app.on_shutdown.append(stream_handler.close_streams)
    app.on_response_prepare.append(add_security_headers)
    app[keys.CATALOG] = Catalog(config.channels.values())
    app[keys.CURSOR_SECRET] = CursorSecret()  # fetched from the store on first use

    api.add_routes(app)
    taxii_routes.add_routes(app)
    stream_handler.add_routes(app)
    crisis_routes.add_routes(app)
    plan_routes.add_routes(app)
    monitoring.add_routes(app)
    federation_routes.add_routes(app)
    people_routes.add_routes(app)
    cli_login.add_routes(app)
    notify_routes.add_routes(app)
    oidc_providers.add_routes(app)
    add_webui_routes(app)
    return app
