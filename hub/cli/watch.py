"""``crisis-hub watch``: a channel's events as they arrive, one readable line (or JSON) each."""

from __future__ import annotations

import argparse
import asyncio
import select
import sys
from collections.abc import Sequence
from contextlib import aclosing
from typing import Any

import orjson

from hub.cli.errors import CliError
from hub.cli.signin import need_token
from hub.i18n import Translator
from hub.tasks import cancel_and_wait


def since_ids(values: Sequence[str], channels: Sequence[str]) -> dict[str, str]:
    """The ``--since`` values by channel: ``ID`` for every channel, or ``CHANNEL=ID`` for one."""
    since: dict[str, str] = {}
    for value in values:
        channel, sep, event_id = value.rpartition("=")
        for name in [channel] if sep else channels:
            since[name] = event_id
    return since


def column(text: str, width: int) -> str:
    """``text`` in exactly ``width`` characters: padded, or cut with an ellipsis so the columns stay aligned."""
    return f"{text[: width - 1]}…" if len(text) > width else f"{text:<{width}}"


def format_event(event: dict[str, Any]) -> str:
    """One readable line: time, channel, TLP, source, type, id and the object's name if any."""
    obj = event.get("object", {})
    label = obj.get("name") or obj.get("abstract") or obj.get("content") or obj.get("pattern") or ""
    label = " ".join(str(label).split())[:80]
    return (
        f"{event['time']}  {column(event['channel'], 15)} {column(event['tlp'].upper(), 12)} "
        f"{column(event['source'], 12)} {column(event['type'], 20)} {obj.get('id', '')}  {label}"
    ).rstrip()


def cmd_watch(args: argparse.Namespace) -> int:
    from connectors.stream import StreamClient, StreamError, StreamState

    tr: Translator = args.tr
    need_token(args)

    def note(text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    def status(msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "subscribed" and msg.get("resumed_from"):
            note(tr("live on {channel}, {n} replayed", channel=msg["channel"], n=msg["replayed"]))
        elif op == "subscribed":
            note(tr("live on {channel}", channel=msg["channel"]))
        elif op == "gap":
            note(tr("gap on {channel}: history before {oldest} is no longer kept", channel=msg["channel"],
                    oldest=msg["oldest"]))  # fmt: skip
        elif op == "error":
            note(tr("error {code}: {detail}", code=msg.get("code"), detail=msg.get("message")))

    def state(change: StreamState) -> None:
        if change.state == "connecting":
            note(tr("connecting to {url}", url=change.url))
        elif change.state == "disconnected":
            note(tr("disconnected: {reason}; reconnecting in {seconds} s", reason=change.reason,
                    seconds=format(change.retry_in, ".1f")))  # fmt: skip

    client = StreamClient(
        args.url, args.token, args.channel, since_ids(args.since, args.channel), on_message=status, on_state=state
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
    try:
        poller = select.poll()
        poller.register(stream.fileno(), 0)  # no events asked for: a pipe's write end still reports POLLERR
    except (OSError, ValueError, AttributeError):
        await asyncio.Event().wait()  # not a file (a test's capture): never
    while not any(mask & select.POLLERR for _, mask in poller.poll(0)):
        await asyncio.sleep(0.5)
