"""``create_app(config, redis_url)``: the hub's aiohttp application. Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub import admin, api, connectors_api, owners, retention, taxii
from hub.audit import AuditLog
from hub.config import Config
from hub.crisis import escalation
from hub.crisis import routes as crisis_routes
from hub.metrics import Metrics
from hub.middleware import (
    HANDLER_ARGS,
    METRICS,
    THROTTLE,
    TRUSTED_PROXIES,
    add_security_headers,
    error_middleware,
    request_middleware,
    serve_protocol_errors_as_json,
    throttle_middleware,
)
from hub.store import Store, TokenStore, connect
from hub.stream import handler as stream_handler
from hub.tasks import BackgroundTasks
from hub.throttle import FailureThrottle
from hub.webui import add_routes as add_webui_routes

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
TOKENS = web.AppKey("tokens", TokenStore)
AUDIT = web.AppKey("audit", AuditLog)
TASKS = web.AppKey("tasks", BackgroundTasks)
"""The process's long-running background tasks, watched: health reports one that died."""


def create_app(config: Config, redis_url: str, *, namespace: str = "chub", cluster: bool = False) -> web.Application:
    """Build the hub application on the Redis server at ``redis_url``.

    ``namespace`` prefixes every Redis key, so that several hubs (or test
    runs) can share one Redis server without seeing each other's data.
    ``cluster``: ``redis_url`` is a node of a Redis Cluster (see :func:`hub.store.connect`).
    """
    app = web.Application(
        middlewares=[request_middleware, error_middleware, throttle_middleware],
        client_max_size=config.hub.max_body_bytes,
        handler_args=HANDLER_ARGS,
    )
    serve_protocol_errors_as_json(app)  # what aiohttp cannot parse gets a JSON error too
    app[CONFIG] = config
    metrics = app[METRICS] = Metrics()
    app[TASKS] = BackgroundTasks(on_failure=lambda task: metrics.task_failures.labels(task=task).inc())
    app[THROTTLE] = FailureThrottle(limit=config.hub.auth_failures_per_minute, window=60.0)
    app[TRUSTED_PROXIES] = config.hub.trusted_proxies

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        client = connect(redis_url, cluster=cluster)
        settings = config.hub
        app[STORE] = Store(
            client, namespace, wait_replicas=settings.redis_wait_replicas, wait_ms=settings.redis_wait_timeout_ms
        )
        app[TOKENS] = TokenStore(client, namespace)
        await owners.backfill(app[STORE], list(config.channels))  # once per store: see hub.owners
        app[AUDIT] = AuditLog(client, namespace)
        await app[AUDIT].start()
        app[TASKS].watch("audit", app[AUDIT].writer)
        yield
        app[TASKS].forget("audit")
        await app[AUDIT].stop()
        await client.aclose()

    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(retention.retention_ctx)
    app.on_response_prepare.append(add_security_headers)
    api.add_routes(app)
    taxii.add_routes(app)
    stream_handler.add_routes(app)
    crisis_routes.add_routes(app)
    admin.add_routes(app)
    connectors_api.add_routes(app)  # GET /api/v1/admin/connectors, and runs [[connectors]] in this process
    app.cleanup_ctx.append(escalation.escalation_ctx)
    add_webui_routes(app)
    return app
