"""The hub's connectors: run inside the hub process, and their status for administrators.

``add_routes(app)`` registers ``GET /api/v1/admin/connectors`` and a
``cleanup_ctx`` that runs every ``[[connectors]]`` entry of the configuration
on the hub's own store for as long as the application runs (see
:mod:`hub.federation.runner`; with several hub processes on one Redis, a lease
lets one of them run each connector).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import AsyncIterator

from aiohttp import web

from hub import keys
from hub.auth import require_admin
from hub.federation.runner import ConnectorRunner, ConnectorRuntime, build_worker
from hub.requests import authenticate, json_response
from hub.store.connectors import connector_report


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/connectors", list_connectors)


async def connectors_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the configured connectors while the hub runs; a missing credential stops start-up (ConfigError)."""
    config, store = app[keys.CONFIG], app[keys.STORE]
    runners = [
        ConnectorRunner(
            spec,
            store.connectors,
            functools.partial(
                build_worker,
                spec,
                config,
                environ=os.environ,
                store=store,
                audit=app[keys.AUDIT],
                metrics=app[keys.METRICS],
                admit=app[keys.GATE].admit,
            ),
        )
        for spec in config.connectors
    ]
    runtime = ConnectorRuntime(runners)
    app[keys.CONNECTORS] = runtime
    await runtime.start()
    yield
    await runtime.stop()


async def list_connectors(request: web.Request) -> web.Response:
    """Every configured connector: state, last success and error, objects moved, lag (admins only)."""
    require_admin(await authenticate(request))
    statuses = await request.app[keys.STORE].connectors.statuses()
    rows = connector_report(request.app[keys.CONFIG].connectors, statuses, time.time())
    return json_response({"connectors": rows})
