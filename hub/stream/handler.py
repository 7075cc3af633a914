"""``GET /api/v1/stream``: the WebSocket endpoint, and the admin view of its connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence

from aiohttp import WSMsgType, web
from prometheus_client.core import GaugeMetricFamily, Metric

from hub import keys
from hub.auth import (
    SESSION_COOKIE,
    bearer_token,
    principal_for_token,
    require_access,
    require_admin,
    session_for_request,
    uses_session,
)
from hub.errors import Forbidden, HubError, Unauthorized
from hub.events import id_key
from hub.gate import IngestGate, watch_load
from hub.metrics import gauge
from hub.middleware import check_throttle, client_address, note_auth_failure
from hub.people.service import People
from hub.policy import Principal
from hub.requests import authenticate, json_response
from hub.stream.connection import Connection
from hub.stream.fanout import Dispatcher
from hub.stream.protocol import MAX_CLIENT_MESSAGE
from hub.stream.session import Action, CheckToken, Close, Limits, Phase, Send, Session
from hub.tasks import cancel_and_wait

log = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/stream", stream)
    app.router.add_get("/api/v1/admin/connections", admin_connections)


async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """The live stream's dispatcher, and the gate that holds producers while its streams are behind."""
    metrics, audit = app[keys.METRICS], app[keys.AUDIT]
    dispatcher = Dispatcher(app[keys.STORE], app[keys.CONFIG].channels, audit=audit, metrics=metrics)

    def refused(principal: Principal, channel: str, via: str) -> None:
        metrics.producers_refused.inc()
        audit.record_for(principal, "write.refused", via=via, channel=channel, reason="overloaded")

    gate = IngestGate(app[keys.CONFIG].hub.ingest_limits, dispatcher.backlog, refused)
    metrics.observe_state(lambda: _state_metrics(dispatcher, gate))
    await dispatcher.start()
    app[keys.DISPATCHER] = dispatcher
    app[keys.GATE] = gate
    tasks = app[keys.TASKS]
    tasks.start("ingest-gate", watch_load(gate, app[keys.STORE].load, tasks.guard("ingest-gate")))
    yield
    await tasks.stop("ingest-gate")
    await dispatcher.stop()


def _state_metrics(dispatcher: Dispatcher, gate: IngestGate) -> Iterator[Metric]:
    """Stream and admission gauges, computed when Prometheus scrapes."""
    yield gauge(
        "chub_ingest_pressure",
        "How far behind the live streams are, against their limits (ingest_hold_*): from 1, producers wait",
        gate.pressure,
    )
    yield gauge("chub_ingest_held", "Producer requests waiting for the live streams to catch up", gate.held)
    conns = list(dispatcher.connections)
    depths = [c.depth for c in conns]
    yield gauge("chub_stream_connections", "Open stream connections", len(conns))
    yield gauge("chub_stream_queued_messages", "Messages waiting in stream queues", sum(depths))
    yield gauge("chub_stream_queue_depth_max", "Deepest stream queue", max(depths, default=0))
    lag = GaugeMetricFamily("chub_stream_lag_seconds", "Largest delivery lag of a live subscriber", labels=["channel"])
    for channel in dispatcher.channels:
        head_ms = id_key(dispatcher.cursor(channel))[0]
        behind = [
            head_ms - id_key(s.delivered or s.cursor)[0]
            for c in conns
            for s in c.subs.values()
            if s.channel == channel and s.live
        ]
        lag.add_metric([channel], max(behind, default=0) / 1000)
    yield lag


def _bound_send_buffer(transport: asyncio.Transport, size: int) -> None:
    """Keep at most about ``size`` bytes of the stream in the kernel (0: as much as the system tunes).

    What a slow client has not read yet then waits in the connection's queue, where the hub sees it
    (:meth:`Connection.load`) and holds its producers; in a socket buffer the system grew to megabytes,
    seconds of events would wait unseen.
    """
    sock = transport.get_extra_info("socket")
    if size and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


async def close_streams(app: web.Application) -> None:
    """On shutdown tell every client to reconnect elsewhere (1001: going away)."""
    dispatcher = app[keys.DISPATCHER]
    for conn in list(dispatcher.connections):
        conn.apply(conn.session.shutdown())
    writers = [conn.writer for conn in dispatcher.connections]
    if writers:
        await asyncio.wait(writers, timeout=5)


async def stream(request: web.Request) -> web.StreamResponse:
    """The WebSocket: authenticate, then carry out what the session asks until the client leaves."""
    config = request.app[keys.CONFIG]
    settings = config.hub
    dispatcher = request.app[keys.DISPATCHER]
    session = Session(config.channels, Limits(settings.stream_connections_per_stakeholder, settings.stream_heartbeat))
    principal: Principal | None = None
    token = ""
    recheck: Recheck | None = None
    if "Authorization" in request.headers:
        # A bad header gets a plain HTTP 401 before the upgrade, like any other route.
        token = bearer_token(request)
        principal = await principal_for_token(token, request.app[keys.TOKENS], request.app[keys.PEOPLE])
        require_access(principal, "stream")
    elif uses_session(request):
        # A signed-in person's page: its session cookie, sent only by the hub's own pages (SameSite=Strict),
        # from the hub's own origin (checked too: a WebSocket is not bound by the same-origin policy).
        _check_origin(request)
        people = request.app[keys.PEOPLE]
        _web_session, principal = await session_for_request(request, people)
        require_access(principal, "stream")
        recheck = _session_recheck(people, request.cookies[SESSION_COOKIE])
    ws = web.WebSocketResponse(heartbeat=30, compress=False, max_msg_size=MAX_CLIENT_MESSAGE)
    out = await ws.prepare(request)
    if principal is None:
        principal = await _authenticate_first_message(ws, request, session, settings.stream_auth_timeout)
        if principal is None:
            return ws
        token = session.token
    if recheck is None:
        recheck = _token_recheck(request, token)
    held = sum(1 for c in dispatcher.connections if c.principal.id == principal.id)
    welcome = session.accept(principal, token, dispatcher.next_connection_id(), held)
    if session.phase is not Phase.OPEN:
        await _close_unopened(ws, welcome)
        return ws
    transport = request.transport
    if transport is None:  # the client left during the handshake
        return ws
    _bound_send_buffer(transport, settings.stream_send_buffer)
    conn = Connection(session, ws, dispatcher, settings.stream_queue, client_address(request), out, transport)
    dispatcher.connections.add(conn)
    log.info("stream %s opened by %s from %s", conn.id, principal.id, conn.peer)
    conn.apply(welcome)
    beat = asyncio.create_task(_heartbeat(conn, settings.stream_heartbeat))
    guard = asyncio.create_task(_watch_credentials(conn, recheck, settings.stream_token_recheck))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                conn.apply(session.receive(msg.data))
            elif msg.type == WSMsgType.BINARY:
                conn.apply(session.receive_binary())
    finally:
        dispatcher.connections.discard(conn)
        conn.drop()
        # The token watch and replays call Redis: a plain cancel() could be lost (see cancel_and_wait).
        await cancel_and_wait(beat, guard, *conn.replays.values())
        await asyncio.wait({conn.writer})  # drop() cancelled it
        log.info("stream %s closed (%s, %d messages sent)", conn.id, principal.id, conn.sent)
    return ws


async def _authenticate_first_message(
    ws: web.WebSocketResponse, request: web.Request, session: Session, timeout: float
) -> Principal | None:
    """Browsers cannot set headers on a WebSocket: they send ``{"op": "auth", "token"}`` first.

    The principal its token names, or None once the client was told why not and the socket closed.
    """
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError:
        actions = session.auth_timed_out(timeout)
    else:
        actions = session.authenticate(msg.data if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY) else None)
    check = next((action for action in actions if isinstance(action, CheckToken)), None)
    if check is not None:
        try:
            check_throttle(request)
            return await principal_for_token(check.token, request.app[keys.TOKENS], request.app[keys.PEOPLE])
        except Unauthorized as exc:
            note_auth_failure(request)
            actions = session.refuse("unauthorized", exc.description)
        except HubError as exc:
            actions = session.refuse("unauthorized", exc.description)
    await _close_unopened(ws, actions)
    return None


async def _close_unopened(ws: web.WebSocketResponse, actions: Sequence[Action]) -> None:
    """Carry out a refusal on a socket that has no connection (and so no queue) yet."""
    for action in actions:
        if isinstance(action, Send):
            await ws.send_str(action.data.decode())
        elif isinstance(action, Close):
            if action.message is not None:
                await ws.send_str(action.message.decode())
            await ws.close(code=action.code, message=action.reason.encode())


async def _heartbeat(conn: Connection, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        conn.apply(conn.session.heartbeat())


Recheck = Callable[[], Awaitable[object]]
"""Checks again that a stream's credentials hold: Unauthorized once they no longer do."""


def _token_recheck(request: web.Request, token: str) -> Recheck:
    return lambda: principal_for_token(token, request.app[keys.TOKENS], request.app[keys.PEOPLE])


def _session_recheck(people: People, cookie: str) -> Recheck:
    async def check() -> None:
        if await people.session(cookie) is None:
            raise Unauthorized("the session has ended")

    return check


def _check_origin(request: web.Request) -> None:
    """Forbidden unless a browser's WebSocket comes from a page of this hub (its ``Origin`` is the hub's)."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise Forbidden(f"a stream signed in with a session must be opened from this hub's page, not {origin[:80]}")


async def _watch_credentials(conn: Connection, recheck: Recheck, interval: float) -> None:
    """Close the stream soon after its token is revoked or its session ends (a person signed out, disabled)."""
    # Streams opened together would otherwise all check together: spread the first check.
    await asyncio.sleep(interval * random.random())
    while True:
        try:
            await recheck()
        except Unauthorized as exc:
            log.info("stream %s: credentials no longer valid (%s); closing", conn.id, exc.description)
            conn.apply(conn.session.token_revoked(exc.description))
            return
        except HubError:
            pass  # Redis unavailable: keep the stream, check again later
        await asyncio.sleep(interval)


async def admin_connections(request: web.Request) -> web.Response:
    require_admin(await authenticate(request))
    dispatcher = request.app[keys.DISPATCHER]
    return json_response(
        {
            "connections": [conn.describe() for conn in sorted(dispatcher.connections, key=lambda c: c.opened)],
            "channels": {name: {"head": dispatcher.cursor(name)} for name in dispatcher.channels},
        }
    )
