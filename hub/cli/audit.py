"""``crisis-hub audit verify|export``: the hash-chained audit trail, read from the hub's Redis."""

from __future__ import annotations

import argparse
import sys

import orjson

from hub.cli.store import on_redis
from hub.events import parse_event_id
from hub.i18n import Translator
from hub.store.audit import AuditLog

PAGE = 5000  # entries read at a time


def cmd_audit_verify(args: argparse.Namespace) -> int:
    tr: Translator = args.tr
    verdict = on_redis(args, AuditLog, lambda audit: audit.verify())
    if verdict.ok:
        print(tr.plural("audit trail intact: {n} entry verified", "audit trail intact: {n} entries verified",
                        verdict.entries))  # fmt: skip
        return 0
    if verdict.entry_id:
        print(
            tr.plural(
                "audit trail BROKEN at entry {entry} after {n} good entry: {problem}",
                "audit trail BROKEN at entry {entry} after {n} good entries: {problem}",
                verdict.entries,
                entry=verdict.entry_id,
                problem=verdict.problem,
            )
        )
    else:
        print(
            tr.plural(
                "audit trail BROKEN after {n} good entry: {problem}",
                "audit trail BROKEN after {n} good entries: {problem}",
                verdict.entries,
                problem=verdict.problem,
            )
        )
    return 1


def cmd_audit_export(args: argparse.Namespace) -> int:
    after = parse_event_id(args.after)

    async def export(audit: AuditLog) -> int:
        count = 0
        cursor = after
        while True:
            batch = await audit.entries(cursor, PAGE)
            for entry_id, body, previous, digest in batch:
                line = {"id": entry_id, "record": orjson.Fragment(body), "previous": previous, "hash": digest}
                sys.stdout.write(orjson.dumps(line).decode() + "\n")
            count += len(batch)
            if len(batch) < PAGE:
                return count
            cursor = batch[-1][0]

    on_redis(args, AuditLog, export)
    return 0
