"""The ``crisis-hub`` command line. The only place that configures logging.

No command prints a traceback: every failure is one sentence on stderr and an
exit status — 2 for a usage or configuration problem, 1 for a failure of the
work itself (the hub unreachable, an object rejected), 130 after Ctrl-C, and
141 when the reader of the output went away (``| head``), as a Unix tool
killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import ssl
import sys
from collections.abc import Iterator, Sequence
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import redis.exceptions
from aiohttp import web

from hub import __version__
from hub.config import Config, load_config
from hub.embedded import FSYNC_POLICIES, EmbeddedRedis
from hub.errors import ConfigError, HubError, StoreUnavailable
from hub.logs import configure as configure_logging
from hub.store import TokenStore, connect
from hub.tasks import cancel_and_wait
from hub.tokens import new_token, split_token

log = logging.getLogger("hub")

DEFAULT_DATA_DIR = "./.crisis-hub"
DEFAULT_URL = "http://127.0.0.1:8080"
EXIT_SIGPIPE = 128 + 13  # what a shell reports for a tool killed by SIGPIPE
RESUME = "run the same command again to finish (already stored objects count as duplicates)"


class CliError(Exception):
    """A failure the command explains in one sentence; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The server logs what it does; one-shot commands only warn, so their output stays clean.
    level = logging.INFO if args.command in ("serve", "demo") else logging.WARNING
    configure_logging(logging.DEBUG if getattr(args, "verbose", False) else level, getattr(args, "log_format", "text"))
    try:
        result: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not as an "Exception ignored" at exit
        return result
    except CliError as exc:
        _say(exc.message)
        return exc.code
    except HubError as exc:
        _say(exc.description)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_SIGPIPE
    except redis.exceptions.RedisError as exc:
        _say(f"Redis failed: {exc}")
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _say(f"{where}{exc.strerror or exc}")
        return 1
    except Exception as exc:  # noqa: BLE001 - the last resort: one sentence, and the traceback only with -v
        log.debug("unexpected error", exc_info=True)
        _say(f"unexpected error ({type(exc).__name__}: {exc}); please report it")
        return 70


def _say(message: str) -> None:
    try:
        print(f"crisis-hub: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr is gone too: nothing left to tell


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for a reader that has gone is dropped quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _out(line: str) -> None:
    """One line of a command's output, written at once (a long listing into ``head`` stops early)."""
    sys.stdout.write(line + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crisis-hub", description="Cyber crisis information-sharing hub.")
    parser.add_argument("--version", action="version", version=f"crisis-hub {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub")
    _store_options(serve)
    _listen_options(serve)
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
    _verbose_option(serve)
    _log_option(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the hub with the demo committee and play a crisis scenario on it")
    _store_options(demo)
    _listen_options(demo)
    demo.add_argument("--speed", type=float, default=1.0, help="play the scenario this many times faster")
    _verbose_option(demo)
    _log_option(demo)
    demo.set_defaults(func=cmd_demo)

    crises = sub.add_parser("crises", help="list the crises you may see, most severe first: their ids for sitrep")
    crises.add_argument("--all", action="store_true", help="closed crises too")
    crises.add_argument("--json", action="store_true", help="the hub's answer as one JSON document")
    _client_options(crises)
    crises.set_defaults(func=cmd_crises)

    sitrep = sub.add_parser("sitrep", help="print a crisis's newest sitrep as a briefing")
    sitrep.add_argument(
        "crisis", nargs="?", help="the crisis's STIX id (incident--…; see crisis-hub crises); default: the most severe"
    )
    sitrep.add_argument(
        "--format", choices=("md", "stix"), default="md", help="a Markdown briefing (default) or the STIX bundle"
    )
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
    create.add_argument("stakeholder", help="the stakeholder's id in the config ([stakeholders.ID])")
    create.add_argument("--label", default="", help="a note to recognise the token by in listings")
    _store_options(create)
    create.set_defaults(func=cmd_token_create)
    listing = token_sub.add_parser("list", help="list tokens (never their secrets)")
    _store_options(listing)
    listing.set_defaults(func=cmd_token_list)
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id (or the token itself)")
    revoke.add_argument("token", help="the token's id, as token list shows it, or the whole token")
    _store_options(revoke)
    revoke.set_defaults(func=cmd_token_revoke)

    push = sub.add_parser("push", help="push a STIX 2.1 bundle file to a channel")
    push.add_argument("file", type=Path, help="a STIX 2.1 bundle, or one object, as JSON")
    push.add_argument("--channel", required=True, help="the channel to write to")
    _client_options(push)
    push.add_argument("--batch", type=int, default=500, help="objects per request (default 500)")
    push.set_defaults(func=cmd_push)

    watch = sub.add_parser("watch", help="print a channel's events as they arrive, resuming after drops")
    watch.add_argument("--channel", action="append", required=True, help="a channel to read; repeat for several")
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
    check.add_argument("file", type=Path, help="the config TOML to check")
    check.set_defaults(func=cmd_config_check)

    # --- connectors: bundle import, and the TAXII pull/push connectors ---------------------
    importing = sub.add_parser("import", help="import STIX bundles from files and folders (*.json, *.json.gz)")
    importing.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files, or folders searched recursively")
    importing.add_argument("--channel", required=True, help="the channel to write to")
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
    _verbose_option(connector_run)
    connector_run.set_defaults(func=cmd_connector_run)
    return parser


def _listen_options(parser: argparse.ArgumentParser) -> None:
    """``--host`` and ``--port``, for the commands that run a hub."""
    parser.add_argument(
        "--host",
        default=os.environ.get("CRISIS_HUB_HOST", "127.0.0.1"),
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("CRISIS_HUB_PORT", "8080")), help="port (default 8080)"
    )


def _verbose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


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
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("CRISIS_HUB_DATA_DIR", DEFAULT_DATA_DIR),
        help=f"folder of the embedded Redis (default {DEFAULT_DATA_DIR}): the hub's and its commands' must match",
    )
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


def hub_url(text: str) -> str:
    """An ``--url`` value: an http(s) URL, or a usage error that says the form."""
    if not text.startswith(("http://", "https://")) or len(text.split("//", 1)[1].strip("/")) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a hub URL: give http://HOST:PORT or https://HOST")
    return text


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        type=hub_url,
        default=os.environ.get("CRISIS_HUB_URL", DEFAULT_URL),
        help=f"the hub's base URL (or CRISIS_HUB_URL; default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--token", default=os.environ.get("CRISIS_HUB_TOKEN"), help="bearer token (or CRISIS_HUB_TOKEN)"
    )


def _cluster(args: argparse.Namespace) -> bool:
    """Whether --redis-url is a Redis Cluster (the option, or CRISIS_HUB_REDIS_CLUSTER=1, true or yes)."""
    return str(args.redis_cluster).lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class RedisPlace:
    """Where a command's data lives: its Redis ``url``, said for people as ``where``.

    ``started``: the embedded Redis was not running, so this command started it
    for a moment (no hub is running on that data dir); ``new``: the data dir did
    not exist before.
    """

    url: str
    where: str
    started: bool = False
    new: bool = False


@contextmanager
def open_redis(args: argparse.Namespace, appendfsync: str = "everysec") -> Iterator[RedisPlace]:
    """The Redis to use: --redis-url, else the embedded server of --data-dir (started if needed)."""
    if _cluster(args) and not args.redis_url:
        raise ConfigError("--redis-cluster needs --redis-url, a node of the cluster: the embedded Redis is one server")
    if args.redis_url:
        yield RedisPlace(args.redis_url, ("Redis Cluster at " if _cluster(args) else "Redis at ") + args.redis_url)
        return
    data_dir = Path(args.data_dir).resolve()
    new = not data_dir.exists()
    embedded = EmbeddedRedis(data_dir, appendfsync)
    url = embedded.start()
    try:
        yield RedisPlace(url, f"the embedded Redis of {data_dir}", started=embedded.owned, new=new)
    finally:
        embedded.stop()


@contextmanager
def redis_for(args: argparse.Namespace, appendfsync: str = "everysec") -> Iterator[str]:
    """The Redis URL to use: --redis-url, else the embedded server of --data-dir (started if needed)."""
    with open_redis(args, appendfsync) as place:
        yield place.url


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
    _check_listen(args.host, args.port)
    with open_redis(args, args.appendfsync) as place:
        app = create_app(config, place.url, namespace=args.namespace, cluster=_cluster(args))
        where = place.where.removeprefix("the ")
        print(f"Crisis Hub on {scheme}://{args.host}:{args.port}/  ({where}; config: {config.source})", flush=True)
        raise_file_limit()
        try:
            web.run_app(
                app, host=args.host, port=args.port, print=None, access_log=None, ssl_context=ssl_context, backlog=4096
            )
        except OSError as exc:
            raise _listen_error(exc, args.host, args.port) from None
    return 0


def _check_listen(host: str, port: int) -> None:
    """Fail at once, before Redis and the app start, if ``host:port`` cannot be listened on."""
    import socket

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


def _with_redis(args: argparse.Namespace, action: Any) -> Any:
    """Run ``action(client)`` against the hub's Redis, for a one-shot command."""
    with open_redis(args) as place:
        return _run_on(place, args, action)


def _on_redis(args: argparse.Namespace, make: Any, action: Any) -> Any:
    """Run ``action(make(client, namespace))`` against the hub's Redis, for a one-shot command."""
    return _with_redis(args, lambda client: action(make(client, args.namespace)))


def _run_on(place: RedisPlace, args: argparse.Namespace, action: Any) -> Any:
    """Run ``action(client)`` on the Redis at ``place``; a Redis that does not answer is one sentence."""

    async def run() -> Any:
        client = connect(place.url, cluster=_cluster(args))
        try:
            return await action(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(run())
    except redis.exceptions.AuthenticationError as exc:
        raise CliError(f"{place.where} refused the credentials ({exc}): check --redis-url") from None
    except (StoreUnavailable, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        hint = "is it running, and is --redis-url right?" if args.redis_url else "see redis.log in --data-dir"
        raise CliError(f"{place.where} does not answer: {hint}") from None


def _audit(args: argparse.Namespace, action: Any) -> Any:
    from hub.store.audit import AuditLog

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
    """Store a new token; stderr says where, and warns when no hub uses that Redis. The token is stdout's last line."""
    from hub.store.audit import AuditLog

    config = _config(args)
    if args.stakeholder not in config.stakeholders:
        known = ", ".join(config.stakeholders)
        raise CliError(f"no stakeholder {args.stakeholder!r} in {config.source} (known: {known})", 2)
    token = new_token()

    async def create(client: Any) -> bool | None:
        await TokenStore(client, args.namespace).add(args.stakeholder, token, args.label)
        audit = AuditLog(client, args.namespace)
        await _note(audit, "token.create", stakeholder=args.stakeholder, token=token.token_id)
        return await hub_listening(client)

    with open_redis(args) as place:
        listening = _run_on(place, args, create)
    warning = _no_hub_warning(args, place, listening)
    if warning:
        print(f"crisis-hub: warning: {warning}", file=sys.stderr)
    print(
        f"token {token.token_id} for {args.stakeholder} stored in {place.where} (shown once; only its hash is kept):",
        file=sys.stderr,
        flush=True,
    )
    print(token.text, flush=True)
    return 0


async def hub_listening(client: Any) -> bool | None:
    """Whether a hub process is connected to this Redis (None: cannot tell, on a cluster).

    Every running hub holds a subscription to live notifications (:mod:`hub.store.notifications`),
    so a client with a pattern (or plain) subscription is taken for one.
    """
    from redis.asyncio.cluster import RedisCluster

    if isinstance(client, RedisCluster):
        return None
    clients = await client.client_list()
    return any(int(c.get("psub", 0) or 0) or int(c.get("sub", 0) or 0) for c in clients)


def _no_hub_warning(args: argparse.Namespace, place: RedisPlace, listening: bool | None) -> str:
    """Why a new token may not work, or "": the hub answers 401 to a token stored in another Redis."""
    if args.redis_url:
        if listening is False:
            return (
                f"no hub is connected to Redis at {args.redis_url}: the token works with a hub started with "
                f"--redis-url {args.redis_url}; any other hub answers 401 unknown token"
            )
        return ""
    if place.started:
        data_dir = Path(args.data_dir).resolve()
        new = " (a new, empty data dir)" if place.new else ""
        return (
            f"no hub is running on {data_dir}{new}: the token works with a hub started with --data-dir {data_dir}; "
            "a hub on another --data-dir or --redis-url answers 401 unknown token"
        )
    return ""


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
    from datetime import UTC, datetime

    from hub.errors import NotFound
    from hub.store.audit import AuditLog

    parts = split_token(args.token)
    token_id = parts[0] if parts else args.token

    async def revoke(client: Any) -> tuple[Any, bool]:
        tokens = TokenStore(client, args.namespace)
        record = await tokens.get(token_id)
        if record is None:
            raise NotFound(f"no token with id {token_id}")
        if record.revoked is not None:
            return record, False
        record = await tokens.revoke(token_id)
        await _note(AuditLog(client, args.namespace), "token.revoke", stakeholder=record.stakeholder, token=token_id)
        return record, True

    record, revoked = _with_redis(args, revoke)
    if revoked:
        print(f"token {record.token_id} of {record.stakeholder} revoked")
    else:
        when = datetime.fromtimestamp(record.revoked, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        print(f"token {record.token_id} of {record.stakeholder} was already revoked ({when}): nothing to do")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from tqdm import tqdm  # type: ignore[import-untyped]

    from connectors.client import HubClient, HubClientError, PushSummary

    _need_token(args)
    try:
        data = orjson.loads(args.file.read_bytes())
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}", 2) from None
    except orjson.JSONDecodeError as exc:
        raise CliError(f"{args.file} is not JSON: {exc}", 2) from None
    objects = data.get("objects") if isinstance(data, dict) and data.get("type") == "bundle" else [data]
    if not isinstance(objects, list):
        raise CliError(f"{args.file} is a bundle without an objects list", 2)
    summary = PushSummary()

    async def run() -> None:
        async with HubClient(args.url, args.token) as client:
            await client.me()  # the hub answers and knows the token: before any progress bar
            with tqdm(total=len(objects), unit="obj", desc=f"push {args.channel}", file=sys.stderr) as bar:
                await client.push_objects(args.channel, objects, batch=args.batch, progress=bar.update, summary=summary)

    try:
        asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        raise CliError(f"stopped: {summary.total} of {len(objects)} objects sent; {RESUME}", 130) from None
    _report(args.file.name, args.channel, len(summary.accepted), len(summary.duplicates), summary.rejected)
    return 0 if not summary.rejected else 1


def _need_token(args: argparse.Namespace) -> None:
    if not args.token:
        raise CliError("give --token or set CRISIS_HUB_TOKEN (crisis-hub token create prints one)", 2)


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


def _column(text: str, width: int) -> str:
    """``text`` in exactly ``width`` characters: padded, or cut with an ellipsis so the columns stay aligned."""
    return f"{text[: width - 1]}…" if len(text) > width else f"{text:<{width}}"


def format_event(event: dict[str, Any]) -> str:
    """One readable line: time, channel, TLP, source, type, id and the object's name if any."""
    obj = event.get("object", {})
    label = obj.get("name") or obj.get("abstract") or obj.get("content") or obj.get("pattern") or ""
    label = " ".join(str(label).split())[:80]
    return (
        f"{event['time']}  {_column(event['channel'], 15)} {_column(event['tlp'].upper(), 12)} "
        f"{_column(event['source'], 12)} {_column(event['type'], 20)} {obj.get('id', '')}  {label}"
    ).rstrip()


def cmd_watch(args: argparse.Namespace) -> int:
    from connectors.stream import StreamClient, StreamError, StreamState

    _need_token(args)

    def note(text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    def status(msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "subscribed":
            replayed = f", {msg['replayed']} replayed" if msg.get("resumed_from") else ""
            note(f"live on {msg['channel']}{replayed}")
        elif op == "gap":
            note(f"gap on {msg['channel']}: history before {msg['oldest']} is no longer kept")
        elif op == "error":
            note(f"error {msg.get('code')}: {msg.get('message')}")

    def state(change: StreamState) -> None:
        if change.state == "connecting":
            note(f"connecting to {change.url}")
        elif change.state == "disconnected":
            note(f"disconnected: {change.reason}; reconnecting in {change.retry_in:.1f} s")

    client = StreamClient(
        args.url, args.token, args.channel, _since(args.since, args.channel), on_message=status, on_state=state
    )

    async def stream() -> None:
        # aclosing: on a closed pipe or Ctrl-C the stream is closed here, not left to the garbage collector.
        async with aclosing(client.events()) as events:
            async for event in events:
                sys.stdout.write((orjson.dumps(event).decode() if args.json else format_event(event)) + "\n")
                sys.stdout.flush()

    async def run() -> None:
        streaming = asyncio.create_task(stream())
        gone = asyncio.create_task(reader_gone(sys.stdout))
        done, _ = await asyncio.wait({streaming, gone}, return_when=asyncio.FIRST_COMPLETED)
        await cancel_and_wait(streaming, gone)
        if gone in done:
            raise BrokenPipeError  # "| head -1" has its line: stop now, not at the next event
        streaming.result()

    try:
        asyncio.run(run())
    except StreamError as exc:
        raise CliError(str(exc)) from None
    return 0


async def reader_gone(stream: Any) -> None:
    """Return once nobody reads ``stream`` any more: a pipe whose reader has exited (checked twice a second)."""
    import select

    try:
        poller = select.poll()
        poller.register(stream.fileno(), 0)  # no events asked for: a pipe's write end still reports POLLERR
    except (OSError, ValueError, AttributeError):
        await asyncio.Event().wait()  # not a file (a test's capture): never
    while not any(mask & select.POLLERR for _, mask in poller.poll(0)):
        await asyncio.sleep(0.5)


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    config = load_config(args.config)
    # Escalations every few seconds, so the demo's overdue action is escalated while you watch.
    config = replace(config, crisis=replace(config.crisis, escalation_interval=5.0))
    _check_listen(args.host, args.port)
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
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise _listen_error(exc, args.host, args.port) from None
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


def cmd_crises(args: argparse.Namespace) -> int:
    """The crises the token may see, most severe first: the ids ``sitrep`` takes."""
    _need_token(args)
    crises = _hub_call(args, "/api/v1/crises" + ("?include_closed=1" if args.all else ""))["crises"]
    if args.json:
        print(orjson.dumps({"crises": crises}, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not crises:
        print("no crises" if args.all else "no active crises (--all shows closed ones too)")
        return 0
    print(f"{'id':45}  {'severity':12}  {'status':10}  {'updated':24}  name")
    for c in crises:
        severity = f"{c['severity']['level']} {c['severity']['name']}"
        print(f"{c['id']:45}  {_column(severity, 12)}  {c['status']:10}  {c['updated']:24}  {c['name']}")
    return 0


def _hub_call(args: argparse.Namespace, path: str) -> Any:
    """``GET path`` on the hub at --url with --token; an error is one sentence."""
    from connectors.client import HubClient, HubClientError

    async def run() -> Any:
        async with HubClient(args.url, args.token) as client:
            return await client.call("GET", path)

    try:
        return asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None


def cmd_sitrep(args: argparse.Namespace) -> int:
    from connectors.client import HubClient, HubClientError

    _need_token(args)
    crisis = args.crisis
    if crisis is None:
        crises = _hub_call(args, "/api/v1/crises")["crises"]  # most severe first, then most recently updated
        if not crises:
            raise CliError("no active crisis that this token may see: give a crisis id (crisis-hub crises --all)")
        crisis = crises[0]["id"]
        print(f"# {crises[0]['name']} ({crisis})", file=sys.stderr, flush=True)

    async def run() -> str:
        async with HubClient(args.url, args.token) as client:
            return await client.text(f"/api/v1/crises/{crisis}/sitrep?format={args.format}")

    try:
        print(asyncio.run(run()))
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    """Every problem of a config file with a hint (exit 2), or OK and what it declares (exit 0)."""
    from hub.config import parse_config
    from hub.configdoc import check_config

    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}", 2) from None
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
    from connectors.importer import ImportSummary, expand, import_paths

    _need_token(args)
    files = expand(args.paths)
    missing = [str(p) for p in files if not p.is_file()]
    if missing or not files:
        where = ", ".join(missing) or " ".join(map(str, args.paths))
        raise CliError(f"nothing to import at {where}", 2)
    summary = ImportSummary()

    async def run() -> None:
        async with HubClient(args.url, args.token) as client:
            await client.me()  # the hub answers and knows the token: before any progress bar
            size = sum(p.stat().st_size for p in files)
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"import {args.channel}", file=sys.stderr) as bar:
                await import_paths(client, args.channel, files, batch=args.batch, on_bytes=bar.update, summary=summary)

    try:
        asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        sent = f"{summary.files} of {len(files)} files ({summary.total} objects) sent"
        raise CliError(f"stopped: {sent}; {RESUME}", 130) from None
    source = f"{len(files)} file{'s' if len(files) != 1 else ''}"
    _report(source, args.channel, summary.accepted, summary.duplicates, summary.rejected)
    for path, reason in summary.failed_files:
        print(f"  not imported {path}: {reason}")
    return 0 if not summary.rejected and not summary.failed_files else 1


def cmd_connector_list(args: argparse.Namespace) -> int:
    """Every configured connector and its last recorded status, from the hub's Redis."""
    import time

    from hub.store.connectors import connector_report, read_statuses

    config = _config(args)

    statuses = _with_redis(args, lambda client: read_statuses(client, args.namespace))
    rows = connector_report(config.connectors, statuses, time.time())
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
    from hub.federation.runner import ConnectorRunner, build_worker

    logging.getLogger("connectors").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    config = _config(args)
    spec = config.connector(args.name)
    if spec is None:
        known = ", ".join(c.name for c in config.connectors) or "none"
        raise CliError(f"no connector {args.name!r} in {config.source} (known: {known})", 2)
    _need_token(args)

    async def run(client: Any) -> int:
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

    result: int = _with_redis(args, run)
    return result
