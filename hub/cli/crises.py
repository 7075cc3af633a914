"""``crisis-hub crises`` and ``crisis-hub sitrep``: the crises a token may see, and a crisis's briefing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from hub.cli.errors import CliError
from hub.cli.signin import need_token
from hub.cli.watch import column


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


def cmd_crises(args: argparse.Namespace) -> int:
    """The crises the token may see, most severe first: the ids ``sitrep`` takes."""
    need_token(args)
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
        name = f"EXERCISE · {c['name']}" if c.get("exercise") else c["name"]
        print(f"{c['id']:45}  {column(severity, 12)}  {c['status']:10}  {c['updated']:24}  {name}")
    return 0


def cmd_sitrep(args: argparse.Namespace) -> int:
    from connectors.client import HubClient, HubClientError

    need_token(args)
    crisis = args.crisis
    if crisis is None:
        crises = _hub_call(args, "/api/v1/crises")["crises"]  # most severe first, then most recently updated
        # A real crisis before any exercise, however severe the exercise (a stable sort keeps the hub's order).
        crises.sort(key=lambda c: bool(c.get("exercise")))
        if not crises:
            raise CliError("no active crisis that this token may see: give a crisis id (crisis-hub crises --all)")
        crisis = crises[0]["id"]
        print(
            f"# {'EXERCISE · ' if crises[0].get('exercise') else ''}{crises[0]['name']} ({crisis})",
            file=sys.stderr,
            flush=True,
        )

    async def run() -> str:
        async with HubClient(args.url, args.token) as client:
            return await client.text(f"/api/v1/crises/{crisis}/sitrep?format={args.format}")

    try:
        print(asyncio.run(run()))
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    return 0
