"""``crisis-hub connector list|run``: the TAXII pull and push connectors' status, and one run alone."""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import signal
import time

import orjson

from hub.cli.errors import CliError, say
from hub.cli.language import headers
from hub.cli.signin import need_token
from hub.cli.store import with_redis
from hub.config import load_config
from hub.i18n import Translator
from hub.store import Client


def cmd_connector_list(args: argparse.Namespace) -> int:
    """Every configured connector and its last recorded status, from the hub's Redis."""
    from hub.store.connectors import connector_report, read_statuses

    tr: Translator = args.tr
    config = load_config(args.config)

    statuses = with_redis(args, lambda client: read_statuses(client, args.namespace))
    rows = connector_report(config.connectors, statuses, time.time())
    if args.json:
        print(orjson.dumps({"connectors": rows}, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not rows:
        print(tr("no connectors in {source}", source=config.source))
        return 0
    name, kind, channel, state, moved, withheld, lag, success = headers(
        tr("name|kind|channel|state|moved|withheld|lag|last success")
    )
    print(f"{name:16}  {kind:10}  {channel:14}  {state:11}  {moved:>7}  {withheld:>8}  {lag:>8}  {success}")
    for r in rows:
        lag = f"{r['lag_seconds']:.1f}s" if isinstance(r["lag_seconds"], int | float) else "-"
        print(
            f"{r['name']:16}  {r['kind']:10}  {r['channel']:14}  {r['state']:11}  {r['moved']:>7}  "
            f"{r['withheld']:>8}  {lag:>8}  {r['last_success'] or '-'}"
        )
        if r["last_error"]:
            print("  " + tr("last error ({when}): {error}", when=r["last_error_at"], error=r["last_error"]))
    return 0


def cmd_connector_run(args: argparse.Namespace) -> int:
    """Run one connector alone: TAXII on one side, the hub's HTTP API with a token on the other."""
    from connectors.client import HubClient
    from hub.federation.runner import ConnectorRunner, build_worker
    from hub.store.connectors import Connectors

    tr: Translator = args.tr
    logging.getLogger("connectors").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    config = load_config(args.config)
    spec = config.connector(args.name)
    if spec is None:
        known = ", ".join(c.name for c in config.connectors)
        if not known:
            raise CliError(
                tr("no connector {name!r} in {source}: it has none", name=args.name, source=config.source), 2
            )
        raise CliError(
            tr("no connector {name!r} in {source} (known: {known})", name=args.name, source=config.source, known=known),
            2,
        )
    need_token(args)

    async def run(client: Client) -> int:
        async with HubClient(args.url, args.token) as hub:
            make = functools.partial(build_worker, spec, config, environ=os.environ, client=hub)
            runner = ConnectorRunner(spec, Connectors(client, args.namespace), make)
            if args.once:
                try:
                    await runner.run_once()
                except Exception:  # noqa: BLE001 - said below, from the status
                    say(tr("connector {name}: {error}", name=spec.name, error=runner.status.last_error))
                    return 1
                s = runner.status
                print(
                    tr(
                        "connector {name}: {moved} moved, {duplicates} duplicates, {rejected} rejected, "
                        "{withheld} withheld; checkpoint {checkpoint}",
                        name=spec.name,
                        moved=s.moved,
                        duplicates=s.duplicates,
                        rejected=s.rejected,
                        withheld=s.withheld,
                        checkpoint=s.checkpoint or "-",
                    )
                )
                return 0
            task = asyncio.ensure_future(runner.run())
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
            print(
                tr(
                    "connector {name} ({kind}, channel {channel}) against {url}",
                    name=spec.name,
                    kind=spec.kind,
                    channel=spec.channel,
                    url=args.url,
                ),
                flush=True,
            )
            try:
                await task
            except asyncio.CancelledError:
                pass
            return 0

    result: int = with_redis(args, run)
    return result
