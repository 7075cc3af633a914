"""``crisis-hub report``: a crisis's after-action report, over the hub's HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.parse

import orjson

from hub.cli.errors import CliError
from hub.cli.signin import need_token


def cmd_report(args: argparse.Namespace) -> int:
    """Print the report (or write it to --out): Markdown, or the hub's JSON indented."""
    from connectors.client import HubClient, HubClientError

    need_token(args)
    path = f"/api/v1/crises/{urllib.parse.quote(args.crisis, safe='')}/report?format={args.format}"

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
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"after-action report of {args.crisis} written to {args.out}", file=sys.stderr)
    return 0
