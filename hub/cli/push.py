"""``crisis-hub push`` and ``crisis-hub import``: STIX objects from files into a channel, over the HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

import orjson

from hub.cli.errors import CliError
from hub.cli.signin import need_token
from hub.i18n import Translator

SHOWN_REJECTIONS = 50


def cmd_push(args: argparse.Namespace) -> int:
    from tqdm import tqdm  # type: ignore[import-untyped]

    from connectors.client import HubClient, HubClientError, PushSummary

    tr: Translator = args.tr
    need_token(args)
    try:
        data = orjson.loads(args.file.read_bytes())
    except OSError as exc:
        raise CliError(tr("cannot read {path}: {reason}", path=args.file, reason=exc.strerror), 2) from None
    except orjson.JSONDecodeError as exc:
        raise CliError(tr("{path} is not JSON: {reason}", path=args.file, reason=exc), 2) from None
    objects = data.get("objects") if isinstance(data, dict) and data.get("type") == "bundle" else [data]
    if not isinstance(objects, list):
        raise CliError(tr("{path} is a bundle without an objects list", path=args.file), 2)
    summary = PushSummary()

    async def run() -> None:
        async with HubClient(args.url, args.token) as client:
            await client.me()  # the hub answers and knows the token: before any progress bar
            with tqdm(total=len(objects), unit="obj", desc=f"push {args.channel}", file=sys.stderr) as bar:
                client.on_wait = _show_wait(tr, bar)
                await client.push_objects(args.channel, objects, batch=args.batch, progress=bar.update, summary=summary)

    try:
        asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        sent = tr.plural("{sent} of {n} object sent", "{sent} of {n} objects sent", len(objects), sent=summary.total)
        raise CliError(tr("stopped: {sent}; {resume}", sent=sent, resume=_resume(tr)), 130) from None
    _report(tr, args.file.name, args.channel, len(summary.accepted), len(summary.duplicates), summary.rejected)
    return 0 if not summary.rejected else 1


def cmd_import(args: argparse.Namespace) -> int:
    """Stream files and folders of bundles into a channel; exit 1 if anything was rejected or unreadable."""
    from tqdm import tqdm

    from connectors.client import HubClient, HubClientError
    from connectors.importer import ImportSummary, expand, import_paths

    tr: Translator = args.tr
    need_token(args)
    files = expand(args.paths)
    missing = [str(p) for p in files if not p.is_file()]
    if missing or not files:
        where = ", ".join(missing) or " ".join(map(str, args.paths))
        raise CliError(tr("nothing to import at {where}", where=where), 2)
    summary = ImportSummary()

    async def run() -> None:
        async with HubClient(args.url, args.token) as client:
            await client.me()  # the hub answers and knows the token: before any progress bar
            size = sum(p.stat().st_size for p in files)
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"import {args.channel}", file=sys.stderr) as bar:
                client.on_wait = _show_wait(tr, bar)
                await import_paths(client, args.channel, files, batch=args.batch, on_bytes=bar.update, summary=summary)

    try:
        asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        sent = tr.plural("{sent} of {n} file ({objects} objects) sent", "{sent} of {n} files ({objects} objects) sent",
                         len(files), sent=summary.files, objects=summary.total)  # fmt: skip
        raise CliError(tr("stopped: {sent}; {resume}", sent=sent, resume=_resume(tr)), 130) from None
    source = tr.plural("{n} file", "{n} files", len(files))
    _report(tr, source, args.channel, summary.accepted, summary.duplicates, summary.rejected)
    for path, reason in summary.failed_files:
        print("  " + tr("not imported {path}: {reason}", path=path, reason=reason))
    return 0 if not summary.rejected and not summary.failed_files else 1


def _show_wait(tr: Translator, bar: Any) -> Callable[[float, str], None]:
    """Say on the progress bar that the hub asked to wait (its streams are behind) and for how long."""

    def show(seconds: float, why: str) -> None:
        bar.set_postfix_str(tr("the hub asks to wait {seconds} s; sending again", seconds=f"{seconds:g}"))

    return show


def _resume(tr: Translator) -> str:
    return tr("run the same command again to finish (already stored objects count as duplicates)")


def _report(
    tr: Translator, source: str, channel: str, accepted: int, duplicates: int, rejected: list[dict[str, Any]]
) -> None:
    """The summary of a push or an import: counts, then each rejection with its reason (the first 50)."""
    print(
        tr(
            "{source} → {channel}: {total} objects: {accepted} accepted, {duplicates} duplicates, {rejected} rejected",
            source=source,
            channel=channel,
            total=accepted + duplicates + len(rejected),
            accepted=accepted,
            duplicates=duplicates,
            rejected=len(rejected),
        )
    )
    for r in rejected[:SHOWN_REJECTIONS]:
        origin = f"{r['file']} " if "file" in r else ""
        what = f"{origin}#{r['index']} {r.get('id') or tr('(no id)')}"
        print("  " + tr("rejected {id}: {reason}", id=what, reason=r["reason"]))
    if len(rejected) > SHOWN_REJECTIONS:
        print("  " + tr("… and {n} more rejected", n=len(rejected) - SHOWN_REJECTIONS))
