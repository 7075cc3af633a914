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
from hub.store import Client, Store
from hub.store.audit import AuditLog


def bound_of(text: str) -> int:
    """The millisecond of an RFC 3339 time with its offset (``2026-11-01T00:00:00Z``), or a usage error."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--before {text!r} is not an RFC 3339 time: give e.g. 2026-11-01T00:00:00Z", 2) from None
    if when.tzinfo is None:
        raise CliError(f"--before {text!r} has no offset: end it with Z or +HH:MM", 2)
    return int(when.timestamp() * 1000)


def cmd_archive(args: argparse.Namespace) -> int:
    """Archive, verify, record, remove; exit 0 once every archived version is out of the store."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    config = load_config(args.config)
    if config.channel(args.channel) is None:
        raise CliError(f"no channel {args.channel!r} in {config.source}", 2)
    if args.batch < 1:
        raise CliError("--batch must be 1 or more", 2)
    bound_ms = bound_of(args.before)
    out: Path = args.out

    async def run(client: Client) -> tuple[archive.Verified, int, bool]:
        store = Store(client, args.namespace)
        audit = AuditLog(client, args.namespace)
        now_ms, _ = await store.clock_and_last_id(args.channel)
        if bound_ms > now_ms:
            raise CliError(f"--before {args.before} is in the future: only what was added before now can go", 2)
        resumed = out.exists()
        if resumed:  # an earlier run wrote it: finish that run, if the file is whole and holds what is left
            verified = archive.verify(out)
            archive.drop_partial(out)
            missing = await archive.missing_from(store, args.channel, bound_ms, verified.versions, args.batch)
            if missing:
                raise CliError(
                    f"{out} exists and lacks {missing} versions of {args.channel} added before {args.before}: "
                    "give another --out"
                )
        else:
            with tqdm(unit="obj", desc=f"archive {args.channel}", file=sys.stderr) as bar:
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
        with tqdm(total=verified.count, unit="obj", desc=f"remove {args.channel}", file=sys.stderr) as bar:
            removed = await archive.remove(store, args.channel, bound_ms, verified.versions, args.batch, bar.update)
        await note(audit, "archive.removed", channel=args.channel, before=args.before, file=str(out), removed=removed)
        return verified, removed, resumed

    verified, removed, resumed = with_redis(args, run)
    again = " (finishing an earlier run)" if resumed else ""
    print(
        f"{out}: {verified.count} versions of {args.channel} added before {args.before}, sha256 {verified.sha256}; "
        f"{removed} removed from the store{again}"
    )
    return 0
