"""``crisis-hub serve`` and ``crisis-hub demo``: run a hub, listening where asked."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import socket
import ssl
from dataclasses import replace
from pathlib import Path

import orjson
from aiohttp import web

from hub.capacity import eviction_problem, size_text
from hub.cli.errors import CliError
from hub.cli.options import ENV, cluster
from hub.cli.store import open_redis
from hub.config import Config, load_config
from hub.errors import ConfigError, StoreUnavailable
from hub.store import TokenStore, connect
from hub.store.capacity import Capacity
from hub.tasks import cancel_and_wait
from hub.tokens import new_token

log = logging.getLogger("hub")

PRODUCTION = "production"


def serve_config(args: argparse.Namespace) -> Config:
    """The config ``serve`` runs: ``--config``, else the demo committee, said aloud and refused in production."""
    if args.config is None:
        if os.environ.get(ENV) == PRODUCTION:
            raise CliError(
                f"{ENV}={PRODUCTION} and no --config (or CRISIS_HUB_CONFIG): refusing to serve the built-in demo "
                "committee",
                2,
            )
        log.warning("no --config (or CRISIS_HUB_CONFIG): serving the built-in demo committee, not a real one")
    return load_config(args.config)


def cmd_serve(args: argparse.Namespace) -> int:
    from hub.app import create_app

    config = serve_config(args)
    log.info(
        "configuration: %s (%d stakeholders, %d channels)",
        config.source,
        len(config.stakeholders),
        len(config.channels),
    )
    _announce_fast_path()
    ssl_context = _ssl_context(args.cert, args.key)
    scheme = "https" if ssl_context else "http"
    _check_listen(args.host, args.port)
    with open_redis(args, args.appendfsync, args.maxmemory) as place:
        archive_dir = Path(args.data_dir).resolve() / "archive"  # retain_days archives here, with --redis-url too
        app = create_app(config, place.url, namespace=args.namespace, cluster=cluster(args), archive_dir=archive_dir)
        where = place.where.removeprefix("the ")
        refuse_evicting(place.url, cluster(args))
        if place.maxmemory is not None:
            print(f"Embedded Redis memory limit: {_limit_text(place.maxmemory)}", flush=True)
        print(f"Crisis Hub on {scheme}://{args.host}:{args.port}/  ({where}; config: {config.source})", flush=True)
        raise_file_limit()
        try:
            web.run_app(
                app, host=args.host, port=args.port, print=None, access_log=None, ssl_context=ssl_context, backlog=4096
            )
        except OSError as exc:
            raise _listen_error(exc, args.host, args.port) from None
    return 0


def refuse_evicting(url: str, on_cluster: bool) -> None:
    """Stop, saying why and how to fix it, if the Redis at ``url`` would evict stored objects once full.

    Where ``CONFIG`` is not allowed, or Redis does not answer yet, the hub starts and its capacity
    lifecycle says so (:func:`hub.monitoring.capacity_ctx`).
    """

    async def policy() -> str | None:
        client = connect(url, cluster=on_cluster)
        try:
            return await Capacity(client).eviction_policy()
        finally:
            await client.aclose()

    try:
        found = asyncio.run(policy())
    except StoreUnavailable:
        return
    problem = eviction_problem(found) if found is not None else None
    if problem is not None:
        raise CliError(problem, 2)


def _limit_text(maxmemory: int) -> str:
    """The embedded Redis's limit, said with what happens at it and how to change it."""
    if maxmemory == 0:
        return "none (maxmemory 0): it grows until the machine runs out of memory"
    return f"{size_text(maxmemory)} (--maxmemory); once full, writes are refused (507), nothing is evicted"


def _announce_fast_path() -> None:
    """Warn now, as the hub starts, if STIX validation will take the slow path (not at the first object)."""
    from hub.stix.fast import announce_fast_path, installed_problem  # the STIX libraries take a second to load

    announce_fast_path(installed_problem())


def _check_listen(host: str, port: int) -> None:
    """Fail at once, before Redis and the app start, if ``host:port`` cannot be listened on."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError):
        return  # the server says it when it binds
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as exc:
            raise _listen_error(exc, host, port) from None


def _listen_error(exc: OSError, host: str, port: int) -> Exception:
    """The sentence for a hub that cannot listen where it was asked to (or ``exc`` itself if not that)."""
    if exc.errno == errno.EADDRINUSE:
        return CliError(f"{host}:{port} is already in use (another hub?): stop it, or choose another --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return CliError(f"cannot listen on {host}:{port}: this machine has no address {host} (see --host)")
    if exc.errno == errno.EACCES:
        return CliError(f"cannot listen on {host}:{port}: permission denied (ports below 1024 need privileges)")
    return exc


def raise_file_limit(wanted: int = 65536) -> int:
    """Raise the soft limit on open files towards ``wanted`` (every stream holds one); warn if it stays low."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit from %d: %s", soft, exc)
    if soft < 4096:
        log.warning("the open-file limit is %d: the hub can hold at most about that many streams", soft)
    return soft


def _ssl_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """TLS 1.2+ with the given certificate chain and key, or None for plain HTTP."""
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("give both --cert and --key for HTTPS")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate {cert} or key {key}: {exc}") from None
    return context


def cmd_demo(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    # Escalations every few seconds, so the demo's overdue action is escalated while you watch.
    config = replace(config, crisis=replace(config.crisis, escalation_interval=5.0))
    _announce_fast_path()
    _check_listen(args.host, args.port)
    with open_redis(args) as place:
        asyncio.run(_run_demo(config, place.url, args))
    return 0


async def _run_demo(config: Config, redis_url: str, args: argparse.Namespace) -> None:
    from hub.app import create_app
    from hub.demo import Scenario

    app = create_app(config, redis_url, namespace=args.namespace, cluster=cluster(args))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise _listen_error(exc, args.host, args.port) from None
    url = f"http://{args.host}:{args.port}"
    tokens = await _demo_tokens(config, redis_url, args)
    token_file = Path(args.data_dir) / "demo-tokens.json"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_bytes(orjson.dumps(tokens, option=orjson.OPT_INDENT_2))
    token_file.chmod(0o600)
    print(f"Crisis Hub demo on {url}/  — sign in with a token below (also in {token_file})", flush=True)
    for stakeholder, text in tokens.items():
        print(f"  {stakeholder:<13} {config.stakeholders[stakeholder].name:<42} {text}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scenario = asyncio.create_task(Scenario(url, tokens, args.speed).run())
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({scenario, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if scenario in done and scenario.exception() is not None:
            log.error("the demo scenario failed", exc_info=scenario.exception())
            await stop.wait()
    finally:
        await cancel_and_wait(scenario, waiter)
        await runner.cleanup()


async def _demo_tokens(config: Config, redis_url: str, args: argparse.Namespace) -> dict[str, str]:
    """A new token for each stakeholder of the demo, by stakeholder."""
    client = connect(redis_url, cluster=cluster(args))
    tokens: dict[str, str] = {}
    try:
        store = TokenStore(client, args.namespace)
        for stakeholder in config.stakeholders:
            token = new_token()
            await store.add(stakeholder, token, "demo")
            tokens[stakeholder] = token.text
    finally:
        await client.aclose()
    return tokens
