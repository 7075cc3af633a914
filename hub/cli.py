"""The ``crisis-hub`` command line. The only place that configures logging."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from hub import __version__
from hub.config import Config, load_config
from hub.embedded import FSYNC_POLICIES, EmbeddedRedis
from hub.errors import ConfigError, HubError
from hub.logs import configure as configure_logging
from hub.store import TokenStore, connect
from hub.tasks import cancel_and_wait
from hub.tokens import new_token, split_token

log = logging.getLogger("hub")

DEFAULT_DATA_DIR = "./.crisis-hub"
DEFAULT_URL = "http://127.0.0.1:8080"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The server logs what it does; one-shot commands only warn, so their output stays clean.
    level = logging.INFO if args.command in ("serve", "demo") else logging.WARNING
    configure_logging(logging.DEBUG if getattr(args, "verbose", False) else level, getattr(args, "log_format", "text"))
    try:
        result: int = args.func(args)
        return result
    except HubError as exc:
        print(f"crisis-hub: {exc.description}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crisis-hub", description="Cyber crisis information-sharing hub.")
    parser.add_argument("--version", action="version", version=f"crisis-hub {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub")
    _store_options(serve)
    serve.add_argument("--host", default=os.environ.get("CRISIS_HUB_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("CRISIS_HUB_PORT", "8080")))
    serve.add_argument(
        "--appendfsync",
        choices=FSYNC_POLICIES,
        default="everysec",
        help="embedded Redis AOF fsync policy (default everysec: at most one second of writes at risk on power loss)",
    )
    serve.add_argument(
        "--cert", default=os.environ.get("CRISIS_HUB_CERT"), help="TLS certificate chain (PEM): serve HTTPS"
    )
    serve.add_argument("--key", default=os.environ.get("CRISIS_HUB_KEY"), help="TLS private key (PEM)")
    serve.add_argument("-v", "--verbose", action="store_true")
    _log_option(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the hub with the demo committee and play a crisis scenario on it")
    _store_options(demo)
    demo.add_argument("--host", default=os.environ.get("CRISIS_HUB_HOST", "127.0.0.1"))
    demo.add_argument("--port", type=int, default=int(os.environ.get("CRISIS_HUB_PORT", "8080")))
    demo.add_argument("--speed", type=float, default=1.0, help="play the scenario this many times faster")
    demo.add_argument("-v", "--verbose", action="store_true")
    _log_option(demo)
    demo.set_defaults(func=cmd_demo)

    sitrep = sub.add_parser("sitrep", help="print a crisis's newest sitrep as a briefing")
    sitrep.add_argument("crisis", help="the crisis's STIX id (incident--…)")
    sitrep.add_argument("--format", choices=("md", "stix"), default="md")
    _client_options(sitrep)
    sitrep.set_defaults(func=cmd_sitrep)

    audit = sub.add_parser("audit", help="check or export the hash-chained audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the whole chain; exit 1 at the first tampered entry")
    _store_options(verify)
    verify.set_defaults(func=cmd_audit_verify)
    export = audit_sub.add_parser("export", help="print the trail as JSON lines, oldest first")
    export.add_argument("--after", default="0", help="only entries after this entry id")
    _store_options(export)
    export.set_defaults(func=cmd_audit_export)

    token = sub.add_parser("token", help="create, list and revoke API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token for a stakeholder; prints it as the last line")
    create.add_argument("stakeholder")
    create.add_argument("--label", default="", help="a note to recognise the token by in listings")
    _store_options(create)
    create.set_defaults(func=cmd_token_create)
    listing = token_sub.add_parser("list", help="list tokens (never their secrets)")
    _store_options(listing)
    listing.set_defaults(func=cmd_token_list)
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id (or the token itself)")
    revoke.add_argument("token")
    _store_options(revoke)
    revoke.set_defaults(func=cmd_token_revoke)

    push = sub.add_parser("push", help="push a STIX 2.1 bundle file to a channel")
    push.add_argument("file", type=Path)
    push.add_argument("--channel", required=True)
    _client_options(push)
    push.add_argument("--batch", type=int, default=500, help="objects per request (default 500)")
    push.set_defaults(func=cmd_push)

    watch = sub.add_parser("watch", help="print a channel's events as they arrive, resuming after drops")
    watch.add_argument("--channel", action="append", required=True, help="repeat for several channels")
    watch.add_argument(
        "--since",
        action="append",
        default=[],
        help="resume after this event id (ID for every channel, or CHANNEL=ID; repeatable)",
    )
    watch.add_argument("--json", action="store_true", help="one JSON event per line")
    _client_options(watch)
    watch.set_defaults(func=cmd_watch)

    config_cmd = sub.add_parser("config", help="check a configuration file")
    config_sub = config_cmd.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a config file and explain each problem (exit 2 if any)")
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_config_check)

    # --- connectors: bundle import, and the TAXII pull/push connectors ---------------------
    importing = sub.add_parser("import", help="import STIX bundles from files and folders (*.json, *.json.gz)")
    importing.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files, or folders searched recursively")
    importing.add_argument("--channel", required=True)
    _client_options(importing)
    importing.add_argument("--batch", type=int, default=500, help="objects per request (default 500)")
    importing.set_defaults(func=cmd_import)

    connector = sub.add_parser("connector", help="TAXII connectors: show their status, run one alone")
    connector_sub = connector.add_subparsers(dest="connector_command", required=True)
    connector_list = connector_sub.add_parser("list", help="each connector's state, last success and error, lag")
    connector_list.add_argument("--json", action="store_true", help="one JSON document")
    _store_options(connector_list)
    connector_list.set_defaults(func=cmd_connector_list)
    connector_run = connector_sub.add_parser("run", help="run one configured connector against a hub's HTTP API")
    connector_run.add_argument("name", help="the connector's name in the config's [[connectors]]")
    connector_run.add_argument("--once", action="store_true", help="one poll or push pass, then exit (1 on failure)")
    _store_options(connector_run)  # the config that declares it; the hub's Redis keeps its checkpoint and status
    _client_options(connector_run)
    connector_run.add_argument("-v", "--verbose", action="store_true")
    connector_run.set_defaults(func=cmd_connector_run)
    return parser


def _log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("CRISIS_HUB_LOG_FORMAT", "text"),
        help="readable lines (default) or one JSON object per line",
    )


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", default=os.environ.get("CRISIS_HUB_CONFIG"), help="config TOML (default: built-in demo)"
    )
    parser.add_argument("--data-dir", default=os.environ.get("CRISIS_HUB_DATA_DIR", DEFAULT_DATA_DIR))
    parser.add_argument(
        "--redis-url", default=os.environ.get("CRISIS_HUB_REDIS_URL"), help="use this Redis instead of the embedded one"
    )
    parser.add_argument(
        "--redis-cluster",
        action="store_const",
        const="1",
        default=os.environ.get("CRISIS_HUB_REDIS_CLUSTER", "0"),
        help="the Redis at --redis-url is a Redis Cluster (7 or later), reached through any of its nodes",
    )
    parser.add_argument("--namespace", default=os.environ.get("CRISIS_HUB_NAMESPACE", "chub"), help=argparse.SUPPRESS)


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("CRISIS_HUB_URL", DEFAULT_URL))
    parser.add_argument(
        "--token", default=os.environ.get("CRISIS_HUB_TOKEN"), help="bearer token (or CRISIS_HUB_TOKEN)"
    )


def _cluster(args: argparse.Namespace) -> bool:
    """Whether --redis-url is a Redis Cluster (the option, or CRISIS_HUB_REDIS_CLUSTER=1, true or yes)."""
    return str(args.redis_cluster).lower() in ("1", "true", "yes")


@contextmanager
def redis_for(args: argparse.Namespace, appendfsync: str = "everysec") -> Iterator[str]:
    """The Redis URL to use: --redis-url, else the embedded server of --data-dir (started if needed)."""
    if _cluster(args) and not args.redis_url:
        raise ConfigError("--redis-cluster needs --redis-url, a node of the cluster: the embedded Redis is one server")
    if args.redis_url:
        yield args.redis_url
        return
    embedded = EmbeddedRedis(args.data_dir, appendfsync)
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    from hub.app import create_app

    config = _config(args)
    log.info(
        "configuration: %s (%d stakeholders, %d channels)",
        config.source,
        len(config.stakeholders),
        len(config.channels),
    )
    ssl_context = _ssl_context(args.cert, args.key)
    scheme = "https" if ssl_context else "http"
    with redis_for(args, args.appendfsync) as url:
        if not args.redis_url:
            where = "embedded Redis in " + str(Path(args.data_dir).resolve())
        else:
            where = ("Redis Cluster at " if _cluster(args) else "Redis at ") + url
        app = create_app(config, url, namespace=args.namespace, cluster=_cluster(args))
        print(f"Crisis Hub on {scheme}://{args.host}:{args.port}/  ({where}; config: {config.source})", flush=True)
        raise_file_limit()
        web.run_app(
            app, host=args.host, port=args.port, print=None, access_log=None, ssl_context=ssl_context, backlog=4096
        )
    return 0


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


def _on_redis(args: argparse.Namespace, make: Any, action: Any) -> Any:
    """Run ``action(make(client, namespace))`` against the hub's Redis, for a one-shot command."""

    async def run(url: str) -> Any:
        client = connect(url, cluster=_cluster(args))
        try:
            return await action(make(client, args.namespace))
        finally:
            await client.aclose()

    with redis_for(args) as url:
        return asyncio.run(run(url))


def _audit(args: argparse.Namespace, action: Any) -> Any:
    from hub.audit import AuditLog

    return _on_redis(args, AuditLog, action)


async def _note(audit: Any, action: str, **fields: Any) -> None:
    """Record an operator's action made from the command line, at once."""
    import getpass

    audit.record(action, f"cli:{getpass.getuser()}", **fields)
    await audit.flush()


def cmd_audit_verify(args: argparse.Namespace) -> int:
    verdict = _audit(args, lambda audit: audit.verify())
    if verdict.ok:
        print(f"audit trail intact: {verdict.entries} entries verified")
        return 0
    where = f" at entry {verdict.entry_id}" if verdict.entry_id else ""
    print(f"audit trail BROKEN{where} after {verdict.entries} good entries: {verdict.problem}")
    return 1


def cmd_audit_export(args: argparse.Namespace) -> int:
    from hub.events import parse_event_id

    after = parse_event_id(args.after)

    async def export(audit: Any) -> int:
        count = 0
        cursor = after
        while True:
            batch = await audit.entries(cursor, 5000)
            for entry_id, body, previous, digest in batch:
                line = {"id": entry_id, "record": orjson.Fragment(body), "previous": previous, "hash": digest}
                sys.stdout.write(orjson.dumps(line).decode() + "\n")
            count += len(batch)
            if len(batch) < 5000:
                return count
            cursor = batch[-1][0]

    _audit(args, export)
    return 0


def _tokens(args: argparse.Namespace, action: Any) -> Any:
    return _on_redis(args, TokenStore, action)


def cmd_token_create(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.stakeholder not in config.stakeholders:
        known = ", ".join(config.stakeholders)
        print(f"crisis-hub: no stakeholder {args.stakeholder!r} in {config.source} (known: {known})", file=sys.stderr)
        return 2
    token = new_token()
    _tokens(args, lambda tokens: tokens.add(args.stakeholder, token, args.label))
    _audit(args, lambda audit: _note(audit, "token.create", stakeholder=args.stakeholder, token=token.token_id))
    print(f"token {token.token_id} for {args.stakeholder} (shown once; only its hash is stored):", file=sys.stderr)
    print(token.text, flush=True)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    def when(ts: float | None) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"

    records = _tokens(args, lambda tokens: tokens.list())
    print(f"{'id':12}  {'stakeholder':16}  {'created':20}  {'revoked':20}  label")
    for r in records:
        print(f"{r.token_id:12}  {r.stakeholder:16}  {when(r.created):20}  {when(r.revoked):20}  {r.label}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    parts = split_token(args.token)
    token_id = parts[0] if parts else args.token
    record = _tokens(args, lambda tokens: tokens.revoke(token_id))
    _audit(args, lambda audit: _note(audit, "token.revoke", stakeholder=record.stakeholder, token=token_id))
    print(f"token {record.token_id} of {record.stakeholder} revoked")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from tqdm import tqdm  # type: ignore[import-untyped]

    from connectors.client import HubClient, HubClientError

    if not args.token:
        print("crisis-hub: give --token or set CRISIS_HUB_TOKEN", file=sys.stderr)
        return 2
    try:
        data = orjson.loads(args.file.read_bytes())
    except OSError as exc:
        print(f"crisis-hub: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except orjson.JSONDecodeError as exc:
        print(f"crisis-hub: {args.file} is not JSON: {exc}", file=sys.stderr)
        return 2
    objects = data.get("objects") if isinstance(data, dict) and data.get("type") == "bundle" else [data]
    if not isinstance(objects, list):
        print(f"crisis-hub: {args.file} is a bundle without an objects list", file=sys.stderr)
        return 2

    async def run() -> Any:
        async with HubClient(args.url, args.token) as client:
            with tqdm(total=len(objects), unit="obj", desc=f"push {args.channel}", file=sys.stderr) as bar:
                return await client.push_objects(args.channel, objects, batch=args.batch, progress=bar.update)

    try:
        summary = asyncio.run(run())
    except HubClientError as exc:
        print(f"crisis-hub: {exc}", file=sys.stderr)
        return 1
    _report(args.file.name, args.channel, len(summary.accepted), len(summary.duplicates), summary.rejected)
    return 0 if not summary.rejected else 1


def _report(source: str, channel: str, accepted: int, duplicates: int, rejected: list[dict[str, Any]]) -> None:
    """The summary of a push or an import: counts, then each rejection with its reason (the first 50)."""
    print(
        f"{source} → {channel}: {accepted + duplicates + len(rejected)} objects: "
        f"{accepted} accepted, {duplicates} duplicates, {len(rejected)} rejected"
    )
    for r in rejected[:50]:
        origin = f"{r['file']} " if "file" in r else ""
        print(f"  rejected {origin}#{r['index']} {r.get('id') or '(no id)'}: {r['reason']}")
    if len(rejected) > 50:
        print(f"  … and {len(rejected) - 50} more rejected")


def _since(values: Sequence[str], channels: Sequence[str]) -> dict[str, str]:
    since: dict[str, str] = {}
    for value in values:
        channel, sep, event_id = value.rpartition("=")
        for name in [channel] if sep else channels:
            since[name] = event_id
    return since


def format_event(event: dict[str, Any]) -> str:
    """One readable line: time, channel, TLP, source, type, id and the object's name if any."""
    obj = event.get("object", {})
    label = obj.get("name") or obj.get("abstract") or obj.get("content") or obj.get("pattern") or ""
    label = " ".join(str(label).split())[:80]
    return (
        f"{event['time']}  {event['channel']:<15} {event['tlp'].upper():<12} {event['source']:<12} "
        f"{event['type']:<16} {obj.get('id', '')}  {label}"
    ).rstrip()


def cmd_watch(args: argparse.Namespace) -> int:
    from connectors.stream import StreamClient, StreamError

    if not args.token:
        print("crisis-hub: give --token or set CRISIS_HUB_TOKEN", file=sys.stderr)
        return 2

    def status(msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "subscribed":
            replayed = f", {msg['replayed']} replayed" if msg.get("resumed_from") else ""
            print(f"# live on {msg['channel']}{replayed}", file=sys.stderr, flush=True)
        elif op == "gap":
            print(
                f"# gap on {msg['channel']}: history before {msg['oldest']} is no longer kept",
                file=sys.stderr,
                flush=True,
            )
        elif op == "error":
            print(f"# error {msg.get('code')}: {msg.get('message')}", file=sys.stderr, flush=True)

    client = StreamClient(args.url, args.token, args.channel, _since(args.since, args.channel), on_message=status)

    async def run() -> None:
        async for event in client.events():
            if args.json:
                sys.stdout.write(orjson.dumps(event).decode() + "\n")
            else:
                sys.stdout.write(format_event(event) + "\n")
            sys.stdout.flush()

    try:
        asyncio.run(run())
    except StreamError as exc:
        print(f"crisis-hub: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    config = load_config(args.config)
    # Escalations every few seconds, so the demo's overdue action is escalated while you watch.
    config = replace(config, crisis=replace(config.crisis, escalation_interval=5.0))
    with redis_for(args) as url:
        asyncio.run(_run_demo(config, url, args))
    return 0


async def _run_demo(config: Config, redis_url: str, args: argparse.Namespace) -> None:
    import signal

    from hub.app import create_app
    from hub.demo import Scenario

    app = create_app(config, redis_url, namespace=args.namespace, cluster=_cluster(args))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    url = f"http://{args.host}:{args.port}"
    client = connect(redis_url, cluster=_cluster(args))
    tokens: dict[str, str] = {}
    try:
        store = TokenStore(client, args.namespace)
        for stakeholder in config.stakeholders:
            token = new_token()
            await store.add(stakeholder, token, "demo")
            tokens[stakeholder] = token.text
    finally:
        await client.aclose()
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


def cmd_sitrep(args: argparse.Namespace) -> int:
    from connectors.client import HubClient, HubClientError

    if not args.token:
        print("crisis-hub: give --token or set CRISIS_HUB_TOKEN", file=sys.stderr)
        return 2

    async def run() -> str:
        async with HubClient(args.url, args.token) as client:
            return await client.text(f"/api/v1/crises/{args.crisis}/sitrep?format={args.format}")

    try:
        print(asyncio.run(run()))
    except HubClientError as exc:
        print(f"crisis-hub: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    """Every problem of a config file with a hint (exit 2), or OK and what it declares (exit 0)."""
    from hub.config import parse_config
    from hub.configdoc import check_config

    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"crisis-hub: cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    problems = check_config(text)
    if problems:
        print(f"{args.file}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")
        for problem in problems:
            print(f"  {problem}")
            if problem.hint:
                print(f"      {problem.hint}")
        return 2
    config = parse_config(text, str(args.file))  # what the hub will load; a ConfigError still exits 2
    admins = [sid for sid, p in config.principals.items() if p.admin]
    print(
        f"OK: {len(config.stakeholders)} stakeholders, {len(config.channels)} channels, {len(config.roles)} roles; "
        f"admins: {', '.join(admins) or 'none'}; crises on channel {config.crisis.channel!r} ({args.file})"
    )
    return 0


# --- connectors: bundle import, and the TAXII pull/push connectors -------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Stream files and folders of bundles into a channel; exit 1 if anything was rejected or unreadable."""
    from tqdm import tqdm

    from connectors.client import HubClient, HubClientError
    from connectors.importer import expand, import_paths

    if not args.token:
        print("crisis-hub: give --token or set CRISIS_HUB_TOKEN", file=sys.stderr)
        return 2
    files = expand(args.paths)
    missing = [str(p) for p in files if not p.is_file()]
    if missing or not files:
        where = ", ".join(missing) or " ".join(map(str, args.paths))
        print(f"crisis-hub: nothing to import at {where}", file=sys.stderr)
        return 2

    async def run() -> Any:
        async with HubClient(args.url, args.token) as client:
            size = sum(p.stat().st_size for p in files)
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"import {args.channel}", file=sys.stderr) as bar:
                return await import_paths(client, args.channel, files, batch=args.batch, on_bytes=bar.update)

    try:
        summary = asyncio.run(run())
    except HubClientError as exc:
        print(f"crisis-hub: {exc}", file=sys.stderr)
        return 1
    source = f"{len(files)} file{'s' if len(files) != 1 else ''}"
    _report(source, args.channel, summary.accepted, summary.duplicates, summary.rejected)
    for path, reason in summary.failed_files:
        print(f"  not imported {path}: {reason}")
    return 0 if not summary.rejected and not summary.failed_files else 1


def cmd_connector_list(args: argparse.Namespace) -> int:
    """Every configured connector and its last recorded status, from the hub's Redis."""
    import time

    from connectors.state import connector_report, read_statuses

    config = _config(args)

    async def statuses(url: str) -> Any:
        client = connect(url, cluster=_cluster(args))
        try:
            return await read_statuses(client, args.namespace)
        finally:
            await client.aclose()

    with redis_for(args) as url:
        rows = connector_report(config.connectors, asyncio.run(statuses(url)), time.time())
    if args.json:
        print(orjson.dumps({"connectors": rows}, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not rows:
        print(f"no connectors in {config.source}")
        return 0
    header = f"{'name':16}  {'kind':10}  {'channel':14}  {'state':11}  {'moved':>7}  {'withheld':>8}  {'lag':>8}"
    print(header + "  last success")
    for r in rows:
        lag = f"{r['lag_seconds']:.1f}s" if isinstance(r["lag_seconds"], int | float) else "-"
        print(
            f"{r['name']:16}  {r['kind']:10}  {r['channel']:14}  {r['state']:11}  {r['moved']:>7}  "
            f"{r['withheld']:>8}  {lag:>8}  {r['last_success'] or '-'}"
        )
        if r["last_error"]:
            print(f"  last error ({r['last_error_at']}): {r['last_error']}")
    return 0


def cmd_connector_run(args: argparse.Namespace) -> int:
    """Run one connector alone: TAXII on one side, the hub's HTTP API with a token on the other."""
    import functools
    import signal

    from connectors.client import HubClient
    from connectors.runner import ConnectorRunner, build_worker

    logging.getLogger("connectors").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    config = _config(args)
    spec = config.connector(args.name)
    if spec is None:
        known = ", ".join(c.name for c in config.connectors) or "none"
        print(f"crisis-hub: no connector {args.name!r} in {config.source} (known: {known})", file=sys.stderr)
        return 2
    if not args.token:
        print("crisis-hub: give --token or set CRISIS_HUB_TOKEN", file=sys.stderr)
        return 2

    async def run(redis_url: str) -> int:
        client = connect(redis_url, cluster=_cluster(args))
        try:
            async with HubClient(args.url, args.token) as hub:
                make = functools.partial(build_worker, spec, config, environ=os.environ, client=hub)
                runner = ConnectorRunner(spec, client, args.namespace, make)
                if args.once:
                    try:
                        await runner.run_once()
                    except Exception:  # noqa: BLE001 - said below, from the status
                        print(f"crisis-hub: connector {spec.name}: {runner.status.last_error}", file=sys.stderr)
                        return 1
                    s = runner.status
                    print(
                        f"connector {spec.name}: {s.moved} moved, {s.duplicates} duplicates, {s.rejected} rejected, "
                        f"{s.withheld} withheld; checkpoint {s.checkpoint or '-'}"
                    )
                    return 0
                task = asyncio.ensure_future(runner.run())
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, task.cancel)
                print(f"connector {spec.name} ({spec.kind}, channel {spec.channel}) against {args.url}", flush=True)
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                return 0
        finally:
            await client.aclose()

    with redis_for(args) as url:
        return asyncio.run(run(url))
