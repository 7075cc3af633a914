"""``GET /api/v1/stream``: the WebSocket endpoint, and the admin view of its connections."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
from collections.abc import AsyncIterator, Iterator

from aiohttp import WSMsgType, web
from prometheus_client.core import GaugeMetricFamily, Metric

from hub import keys
from hub.api import authenticate, json_response
from hub.auth import bearer_token, principal_for_token, require_access, require_admin
from hub.errors import Forbidden, HubError, Unauthorized
from hub.events import id_key
from hub.metrics import gauge
from hub.middleware import check_throttle, client_address, note_auth_failure
from hub.policy import Principal, may_read_channel
from hub.stream.connection import Connection
from hub.stream.fanout import Dispatcher
from hub.stream.protocol import (
    MAX_CLIENT_MESSAGE,
    Auth,
    Ping,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    error_message,
    message,
    parse_client_message,
)
from hub.tasks import cancel_and_wait

log = logging.getLogger(__name__)

_ids = itertools.count(1)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/stream", stream)
    app.router.add_get("/api/v1/admin/connections", admin_connections)


async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    dispatcher = Dispatcher(
        app[keys.STORE], app[keys.CONFIG].channels, audit=app[keys.AUDIT], metrics=app[keys.METRICS]
    )
    app[keys.METRICS].observe_state(lambda: _state_metrics(dispatcher))
    await dispatcher.start()
    app[keys.DISPATCHER] = dispatcher
    yield
    await dispatcher.stop()


def _state_metrics(dispatcher: Dispatcher) -> Iterator[Metric]:
    """Stream gauges, computed when Prometheus scrapes."""
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


async def close_streams(app: web.Application) -> None:
    """On shutdown tell every client to reconnect elsewhere (1001: going away)."""
    dispatcher = app[keys.DISPATCHER]
    for conn in list(dispatcher.connections):
        conn.close_soon(1001, "server shutting down", message("bye", reason="server shutting down"))
    writers = [conn.writer for conn in dispatcher.connections]
    if writers:
        await asyncio.wait(writers, timeout=5)


def _new_id() -> str:
    return f"{os.getpid():x}-{next(_ids)}"


async def _authenticate_first_message(
    ws: web.WebSocketResponse, request: web.Request, timeout: float
) -> tuple[Principal, str]:
    """Browsers cannot set headers on a WebSocket: they send ``{"op": "auth", "token"}`` first."""
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError:
        raise ProtocolError("unauthorized", f"send {{'op': 'auth', 'token': …}} within {timeout:g} seconds") from None
    if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        raise ProtocolError("unauthorized", "the connection closed before authenticating")
    parsed = parse_client_message(msg.data)
    if not isinstance(parsed, Auth):
        raise ProtocolError("unauthorized", "authenticate first: {'op': 'auth', 'token': …}")
    try:
        check_throttle(request)
        principal = await principal_for_token(parsed.token, request.app[keys.TOKENS], request.app[keys.CONFIG])
    except Unauthorized as exc:
        note_auth_failure(request)
        raise ProtocolError("unauthorized", exc.description) from None
    except HubError as exc:
        raise ProtocolError("unauthorized", exc.description) from None
    return principal, parsed.token


async def stream(request: web.Request) -> web.StreamResponse:
    config = request.app[keys.CONFIG]
    settings = config.hub
    principal: Principal | None = None
    token = ""
    if "Authorization" in request.headers:
        # A bad header gets a plain HTTP 401 before the upgrade, like any other route.
        token = bearer_token(request)
        principal = await principal_for_token(token, request.app[keys.TOKENS], config)
        require_access(principal, "stream")
    ws = web.WebSocketResponse(heartbeat=30, compress=False, max_msg_size=MAX_CLIENT_MESSAGE)
    await ws.prepare(request)
    if principal is None:
        try:
            principal, token = await _authenticate_first_message(ws, request, settings.stream_auth_timeout)
            require_access(principal, "stream")
        except (ProtocolError, Forbidden) as exc:
            code = exc.code if isinstance(exc, ProtocolError) else "forbidden"
            text = exc.message if isinstance(exc, ProtocolError) else exc.description
            await ws.send_str(error_message(code, text).decode())
            await ws.close(code=1008, message=b"unauthorized")
            return ws
    dispatcher = request.app[keys.DISPATCHER]
    held = sum(1 for c in dispatcher.connections if c.principal.id == principal.id)
    if held >= settings.stream_connections_per_stakeholder:
        text = f"{principal.id} already holds {held} streams, the most allowed"
        await ws.send_str(error_message("too-many-connections", text).decode())
        await ws.close(code=1008, message=b"too many connections")
        return ws
    transport = request.transport
    if transport is None:  # the client left during the handshake
        return ws
    conn = Connection(
        _new_id(),
        ws,
        principal,
        dispatcher,
        settings.stream_queue,
        client_address(request),
        transport,
        request.protocol,
    )
    dispatcher.connections.add(conn)
    log.info("stream %s opened by %s from %s", conn.id, principal.id, conn.peer)
    conn.send(message("welcome", connection=conn.id, stakeholder=principal.id, heartbeat=settings.stream_heartbeat))
    replays: dict[str, asyncio.Task[None]] = {}
    beat = asyncio.create_task(_heartbeat(conn, settings.stream_heartbeat))
    guard = asyncio.create_task(_watch_token(conn, token, request, settings.stream_token_recheck))
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    conn.send(error_message("bad-message", "send JSON text frames"))
                continue
            try:
                parsed = parse_client_message(msg.data)
            except ProtocolError as exc:
                conn.send(error_message(exc.code, exc.message, exc.channel))
                continue
            if isinstance(parsed, Subscribe):
                for channel in parsed.channels:
                    refusal = _refusal(request, principal, channel)
                    if refusal is not None:
                        conn.send(refusal)
                        continue
                    # Subscribing again replaces the previous replay: floods cost one replay per channel.
                    previous = replays.pop(channel, None)
                    if previous is not None:
                        previous.cancel()
                    replays[channel] = asyncio.create_task(_subscribe(conn, channel, parsed.since.get(channel)))
            elif isinstance(parsed, Unsubscribe):
                for channel in parsed.channels:
                    if conn.unsubscribe(channel):
                        conn.send(message("unsubscribed", channel=channel))
            elif isinstance(parsed, Ping):
                conn.send(message("pong"))
            elif isinstance(parsed, Auth):
                conn.send(error_message("bad-message", "already authenticated"))
    finally:
        dispatcher.connections.discard(conn)
        conn.drop()
        # The token watch and replays call Redis: a plain cancel() could be lost (see cancel_and_wait).
        await cancel_and_wait(beat, guard, *replays.values())
        await asyncio.wait({conn.writer})  # drop() cancelled it
        log.info("stream %s closed (%s, %d messages sent)", conn.id, principal.id, conn.sent)
    return ws


def _refusal(request: web.Request, principal: Principal, channel: str) -> bytes | None:
    if request.app[keys.CONFIG].channel(channel) is None:
        return error_message("unknown-channel", f"no channel named {channel!r}", channel)
    decision = may_read_channel(principal, channel)
    if not decision:
        return error_message("forbidden", decision.reason, channel)
    return None


async def _subscribe(conn: Connection, channel: str, since: str | None) -> None:
    try:
        await conn.subscribe(channel, since)
    except HubError as exc:
        conn.send(error_message("unavailable", exc.description, channel))


async def _heartbeat(conn: Connection, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        conn.send(message("heartbeat"))


async def _watch_token(conn: Connection, token: str, request: web.Request, interval: float) -> None:
    """Close the stream soon after its token is revoked (or its stakeholder leaves the config)."""
    # Streams opened together would otherwise all check together: spread the first check.
    await asyncio.sleep(interval * random.random())
    while True:
        try:
            await principal_for_token(token, request.app[keys.TOKENS], request.app[keys.CONFIG])
        except Unauthorized as exc:
            log.info("stream %s: token no longer valid (%s); closing", conn.id, exc.description)
            conn.close_soon(1008, "token revoked", error_message("unauthorized", exc.description))
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
