"""``crisis-hub archive``: a channel's versions added before a time, into a verified file, then out of the store.

The file is written and verified before anything is removed, and the removal
only takes what the file holds (:mod:`hub.archive`); a run stopped at any
point is finished by running the same command again.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from hub import archive
from hub.cli.errors import CliError
from hub.cli.store import note, with_redis
from hub.config import load_config
from hub.i18n import Translator
from hub.store import Client, Store, upgrade
from hub.store.audit import AuditLog


def bound_of(text: str, tr: Translator) -> int:
    """The millisecond of an RFC 3339 time with its offset (``2026-11-01T00:00:00Z``), or a usage error."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            tr("--before {value!r} is not an RFC 3339 time: give e.g. 2026-11-01T00:00:00Z", value=text), 2
        ) from None
    if when.tzinfo is None:
        raise CliError(tr("--before {value!r} has no offset: end it with Z or +HH:MM", value=text), 2)
    return int(when.timestamp() * 1000)


def cmd_archive(args: argparse.Namespace) -> int:
    """Archive, verify, record, remove; exit 0 once every archived version is out of the store."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    tr: Translator = args.tr
    config = load_config(args.config)
    if config.channel(args.channel) is None:
        raise CliError(tr("no channel {channel!r} in {source}", channel=args.channel, source=config.source), 2)
    if args.batch < 1:
        raise CliError(tr("--batch must be 1 or more"), 2)
    bound_ms = bound_of(args.before, tr)
    out: Path = args.out

    async def run(client: Client) -> tuple[archive.Verified, int, bool]:
        store = Store(client, args.namespace)
        await upgrade.upgrade(store, [args.channel])  # a store an older hub wrote: its versions are where we look
        audit = AuditLog(client, args.namespace)
        now_ms, _ = await store.clock_and_last_id(args.channel)
        if bound_ms > now_ms:
            raise CliError(
                tr("--before {value} is in the future: only what was added before now can go", value=args.before), 2
            )
        resumed = out.exists()
        if resumed:  # an earlier run wrote it: finish that run, if the file is whole and holds what is left
            verified = archive.verify(out)
            archive.drop_partial(out)
            missing = await archive.missing_from(store, args.channel, bound_ms, verified.versions, args.batch)
            if missing:
                raise CliError(
                    tr.plural(
                        "{path} exists and lacks {n} version of {channel} added before {before}: give another --out",
                        "{path} exists and lacks {n} versions of {channel} added before {before}: give another --out",
                        missing,
                        path=out,
                        channel=args.channel,
                        before=args.before,
                    )
                )
        else:
            with tqdm(unit="obj", desc=tr("archive {channel}", channel=args.channel), file=sys.stderr) as bar:
                verified = await archive.write(store, args.channel, bound_ms, out, args.batch, bar.update)
        await note(
            audit,
            "archive.verified",
            channel=args.channel,
            before=args.before,
            file=str(out),
            objects=verified.count,
            sha256=verified.sha256,
            resumed=resumed,
        )
        with tqdm(
            total=verified.count, unit="obj", desc=tr("remove {channel}", channel=args.channel), file=sys.stderr
        ) as bar:
            removed = await archive.remove(store, args.channel, bound_ms, verified.versions, args.batch, bar.update)
        await note(audit, "archive.removed", channel=args.channel, before=args.before, file=str(out), removed=removed)
        return verified, removed, resumed

    verified, removed, resumed = with_redis(args, run)
    done = tr.plural(
        "{path}: {n} version of {channel} added before {before}, sha256 {sha256}; {removed} removed from the store",
        "{path}: {n} versions of {channel} added before {before}, sha256 {sha256}; {removed} removed from the store",
        verified.count,
        path=out,
        channel=args.channel,
        before=args.before,
        sha256=verified.sha256,
        removed=removed,
    )
    print(done + (tr(" (finishing an earlier run)") if resumed else ""))
    return 0
