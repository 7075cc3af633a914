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
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import orjson
from aiohttp import web

from hub.capacity import eviction_problem, size_text
from hub.cli.errors import CliError
from hub.cli.options import ENV, cluster
from hub.cli.store import open_redis
from hub.config import Config, load_config
from hub.errors import ConfigError, StoreUnavailable
from hub.i18n import Translator, translator
from hub.store import TokenStore, connect
from hub.store.capacity import Capacity
from hub.tasks import cancel_and_wait, signals_held
from hub.tokens import new_token

log = logging.getLogger("hub")

T = TypeVar("T")

PRODUCTION = "production"


def serve_config(args: argparse.Namespace) -> Config:
    """The config ``serve`` runs: ``--config``, else the demo committee, said aloud and refused in production."""
    tr: Translator = args.tr
    if args.config is None:
        if os.environ.get(ENV) == PRODUCTION:
            raise CliError(
                tr(
                    "{variable}={value} and no --config (or CRISIS_HUB_CONFIG): refusing to serve the built-in demo "
                    "committee",
                    variable=ENV,
                    value=PRODUCTION,
                ),
                2,
            )
        log.warning("%s", tr("no --config (or CRISIS_HUB_CONFIG): serving the built-in demo committee, not a real one"))
    return load_config(args.config)


def cmd_serve(args: argparse.Namespace) -> int:
    from hub.app import create_app

    tr: Translator = args.tr
    config = serve_config(args)
    log.info(
        "%s",
        tr(
            "configuration: {source} ({stakeholders} stakeholders, {channels} channels)",
            source=config.source,
            stakeholders=len(config.stakeholders),
            channels=len(config.channels),
        ),
    )
    _announce_fast_path()
    ssl_context = _ssl_context(args.cert, args.key, tr)
    scheme = "https" if ssl_context else "http"
    _check_listen(args.host, args.port, tr)
    _stop_on_sigterm()
    with open_redis(args, args.appendfsync, args.maxmemory) as place:
        archive_dir = Path(args.data_dir).resolve() / "archive"  # retain_days archives here, with --redis-url too
        app = create_app(config, place.url, namespace=args.namespace, cluster=cluster(args), archive_dir=archive_dir)
        where = place.where.removeprefix("the ")
        refuse_evicting(place.url, cluster(args))
        if place.maxmemory is not None:
            print(tr("Embedded Redis memory limit: {limit}", limit=_limit_text(place.maxmemory, tr)), flush=True)
        url = f"{scheme}://{args.host}:{args.port}/"
        print(tr("Crisis Hub on {url}  ({where}; config: {source})", url=url, where=where, source=config.source),
              flush=True)  # fmt: skip
        raise_file_limit(tr=tr)
        try:
            web.run_app(
                app, host=args.host, port=args.port, print=None, access_log=None, ssl_context=ssl_context, backlog=4096
            )
        except OSError as exc:
            raise _listen_error(exc, args.host, args.port, tr) from None
    return 0


def _stop_on_sigterm() -> None:
    """Until the server's own handlers take over, SIGTERM stops the command as Ctrl-C does: through the
    ``with`` blocks, so that an embedded Redis already started is stopped too, not left running alone."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_stoppable(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, where SIGTERM does what ``asyncio.run`` makes Ctrl-C do: it cancels ``main``, and
    reaches its handler (:func:`_stop_on_sigterm`'s ``KeyboardInterrupt``) once the loop is closed.

    Raised inside the loop, the interrupt would land in whichever task was running, which then dies mid-step
    and is logged, traceback and all, as never retrieved.
    """
    task: asyncio.Task[T] | None = None

    def cancel(_signum: int) -> None:
        if task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(task.cancel)

    async def run() -> T:
        nonlocal task
        task = asyncio.current_task()
        if held:
            raise asyncio.CancelledError
        return await main

    with signals_held(signal.SIGTERM, then=cancel) as held:
        try:
            return asyncio.run(run())
        except asyncio.CancelledError:
            if not held:
                raise
    raise KeyboardInterrupt  # reached only where SIGTERM's handler did not stop the command itself


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
        found = run_stoppable(policy())
    except StoreUnavailable:
        return
    problem = eviction_problem(found) if found is not None else None
    if problem is not None:
        raise CliError(problem, 2)


def _limit_text(maxmemory: int, tr: Translator) -> str:
    """The embedded Redis's limit, said with what happens at it and how to change it."""
    if maxmemory == 0:
        return tr("none (maxmemory 0): it grows until the machine runs out of memory")
    return tr(
        "{size} (--maxmemory); once full, writes are refused (507), nothing is evicted", size=size_text(maxmemory)
    )


def _announce_fast_path() -> None:
    """Warn now, as the hub starts, if STIX validation will take the slow path (not at the first object)."""
    from hub.stix.fast import announce_fast_path, installed_problem  # the STIX libraries take a second to load

    announce_fast_path(installed_problem())


def _check_listen(host: str, port: int, tr: Translator) -> None:
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
            raise _listen_error(exc, host, port, tr) from None


def _listen_error(exc: OSError, host: str, port: int, tr: Translator) -> Exception:
    """The sentence for a hub that cannot listen where it was asked to (or ``exc`` itself if not that)."""
    if exc.errno == errno.EADDRINUSE:
        return CliError(
            tr(
                "{host}:{port} is already in use (another hub?): stop it, or choose another --port",
                host=host,
                port=port,
            )
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return CliError(
            tr("cannot listen on {host}:{port}: this machine has no address {host} (see --host)", host=host, port=port)
        )
    if exc.errno == errno.EACCES:
        return CliError(
            tr("cannot listen on {host}:{port}: permission denied (ports below 1024 need privileges)", host=host,
               port=port)
        )  # fmt: skip
    return exc


def raise_file_limit(wanted: int = 65536, tr: Translator | None = None) -> int:
    """Raise the soft limit on open files towards ``wanted`` (every stream holds one); warn if it stays low."""
    import resource

    tr = tr or translator("en")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("%s", tr("cannot raise the open-file limit from {limit}: {error}", limit=soft, error=exc))
    if soft < 4096:
        log.warning("%s", tr("the open-file limit is {limit}: the hub can hold at most about that many streams",
                             limit=soft))  # fmt: skip
    return soft


def _ssl_context(cert: str | None, key: str | None, tr: Translator) -> ssl.SSLContext | None:
    """TLS 1.2+ with the given certificate chain and key, or None for plain HTTP."""
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError(tr("give both --cert and --key for HTTPS"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            tr("cannot load the TLS certificate {cert} or key {key}: {error}", cert=cert, key=key, error=exc)
        ) from None
    return context


def cmd_demo(args: argparse.Namespace) -> int:
    """The hub with the demo committee, in the language of ``--lang``, and the crisis scenario played on it."""
    tr: Translator = args.tr
    config = load_config(args.config)
    # Escalations every few seconds, so the demo's overdue action is escalated while you watch; the hub writes
    # (sitreps, notifications) in the demo's language.
    config = replace(
        config,
        crisis=replace(config.crisis, escalation_interval=5.0),
        hub=replace(config.hub, language=tr.lang),
    )
    _announce_fast_path()
    _check_listen(args.host, args.port, tr)
    _stop_on_sigterm()
    with open_redis(args) as place:
        run_stoppable(_run_demo(config, place.url, args))
    return 0


async def _run_demo(config: Config, redis_url: str, args: argparse.Namespace) -> None:
    """Serve the demo hub where asked and play the demo on it, until stopped."""
    from hub.app import create_app

    tr: Translator = args.tr
    app = create_app(config, redis_url, namespace=args.namespace, cluster=cluster(args))
    runner = web.AppRunner(app, access_log=None)
    try:  # cleaned up however it ends, a stop while it starts included
        await runner.setup()
        try:
            await web.TCPSite(runner, args.host, args.port).start()
        except OSError as exc:
            raise _listen_error(exc, args.host, args.port, tr) from None
        await _play_demo(config, redis_url, args)
    finally:
        await runner.cleanup()


async def _play_demo(config: Config, redis_url: str, args: argparse.Namespace) -> None:
    """Hand out the demo's tokens, then play the scenario on the hub listening where asked, until stopped."""
    from hub.demo import Scenario

    tr: Translator = args.tr
    url = f"http://{args.host}:{args.port}"
    tokens = await _demo_tokens(config, redis_url, args)
    token_file = Path(args.data_dir) / "demo-tokens.json"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_bytes(orjson.dumps(tokens, option=orjson.OPT_INDENT_2))
    token_file.chmod(0o600)
    print(tr("Crisis Hub demo on {url}/  — sign in with a token below (also in {file})", url=url, file=token_file),
          flush=True)  # fmt: skip
    for stakeholder, text in tokens.items():
        print(f"  {stakeholder:<13} {config.stakeholders[stakeholder].name:<42} {text}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scenario = asyncio.create_task(Scenario(url, tokens, args.speed, lang=tr.lang).run())
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({scenario, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if scenario in done and scenario.exception() is not None:
            log.error("%s", tr("the demo scenario failed"), exc_info=scenario.exception())
            await stop.wait()
    finally:
        await cancel_and_wait(scenario, waiter)


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
