"""``crisis-hub report``: a crisis's after-action report, over the hub's HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.parse

import orjson

from hub.cli.errors import CliError
from hub.cli.signin import need_token
from hub.i18n import Translator


def cmd_report(args: argparse.Namespace) -> int:
    """Print the report (or write it to --out): Markdown in the command's language, or the hub's JSON indented."""
    from connectors.client import HubClient, HubClientError

    tr: Translator = args.tr
    need_token(args)
    query = urllib.parse.urlencode({"format": args.format, "lang": args.lang})
    path = f"/api/v1/crises/{urllib.parse.quote(args.crisis, safe='')}/report?{query}"

    async def run() -> str:
        async with HubClient(args.url, args.token) as client:
            return await client.text(path)

    try:
        text = asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        text = orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    if args.out is None:
        print(text)
        return 0
    try:
        args.out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise CliError(tr("cannot write {path}: {reason}", path=args.out, reason=exc.strerror)) from None
    print(tr("after-action report of {crisis} written to {path}", crisis=args.crisis, path=args.out), file=sys.stderr)
    return 0
