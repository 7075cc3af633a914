"""``crisis-hub crises`` and ``crisis-hub sitrep``: the crises a token may see, and a crisis's briefing."""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.parse
from typing import Any

import orjson

from hub.cli.errors import CliError
from hub.cli.language import headers
from hub.cli.signin import need_token
from hub.cli.watch import column
from hub.i18n import Translator


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


def crisis_name(crisis: dict[str, Any], tr: Translator) -> str:
    """A crisis's name as people read it: an exercise's marked ``EXERCISE ·``."""
    return tr("EXERCISE · {name}", name=crisis["name"]) if crisis.get("exercise") else str(crisis["name"])


def cmd_crises(args: argparse.Namespace) -> int:
    """The crises the token may see, most severe first: the ids ``sitrep`` takes."""
    tr: Translator = args.tr
    need_token(args)
    crises = _hub_call(args, "/api/v1/crises" + ("?include_closed=1" if args.all else ""))["crises"]
    if args.json:
        print(orjson.dumps({"crises": crises}, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not crises:
        print(tr("no crises") if args.all else tr("no active crises (--all shows closed ones too)"))
        return 0
    head = headers(tr("id|severity|status|updated|name"))
    print(f"{head[0]:45}  {column(head[1], 12)}  {head[2]:10}  {head[3]:24}  {head[4]}")
    for c in crises:
        severity = f"{c['severity']['level']} {c['severity']['name']}"
        print(f"{c['id']:45}  {column(severity, 12)}  {c['status']:10}  {c['updated']:24}  {crisis_name(c, tr)}")
    return 0


def cmd_sitrep(args: argparse.Namespace) -> int:
    """The newest sitrep of a crisis as the hub writes it, in the command's language."""
    from connectors.client import HubClient, HubClientError

    tr: Translator = args.tr
    need_token(args)
    crisis = args.crisis
    if crisis is None:
        crises = _hub_call(args, "/api/v1/crises")["crises"]  # most severe first, then most recently updated
        # A real crisis before any exercise, however severe the exercise (a stable sort keeps the hub's order).
        crises.sort(key=lambda c: bool(c.get("exercise")))
        if not crises:
            raise CliError(tr("no active crisis that this token may see: give a crisis id (crisis-hub crises --all)"))
        crisis = crises[0]["id"]
        print(f"# {crisis_name(crises[0], tr)} ({crisis})", file=sys.stderr, flush=True)
    query = urllib.parse.urlencode({"format": args.format, "lang": args.lang})

    async def run() -> str:
        async with HubClient(args.url, args.token) as client:
            return await client.text(f"/api/v1/crises/{crisis}/sitrep?{query}")

    try:
        print(asyncio.run(run()))
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    return 0
