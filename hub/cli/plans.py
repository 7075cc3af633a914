"""``crisis-hub plan check``, ``plan push`` and ``plan export``: CACAO playbooks in and out of the hub."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from hub.cli.errors import CliError
from hub.cli.signin import need_token
from hub.i18n import Translator
from hub.tlp import TLP

if TYPE_CHECKING:
    from hub.plans.check import Verdict


def tlp_level(tr: Translator) -> Callable[[str], TLP]:
    """The ``--tlp`` value's type (``amber``, ``TLP:GREEN``, …): a usage error that lists the levels if not one."""

    def level(text: str) -> TLP:
        try:
            return TLP.parse(text)
        except ValueError:
            levels = ", ".join(level.token for level in TLP)
            raise argparse.ArgumentTypeError(
                tr("{value!r} is not a TLP level: give one of {levels}", value=text, levels=levels)
            ) from None

    return level


def _read(path: Path, tr: Translator) -> tuple[bytes, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(tr("cannot read {path}: {reason}", path=path, reason=exc.strerror), 2) from None
    try:
        return data, orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CliError(tr("{path} is not JSON: {reason}", path=path, reason=exc), 2) from None


def _verdicts(path: Path, document: Any, args: argparse.Namespace) -> list[tuple[str, Verdict]]:
    """(what was checked, its verdict) for a playbook, a course-of-action, or each course-of-action of a bundle."""
    from hub.config import load_config
    from hub.plans.carrier import extension_of
    from hub.plans.check import check_carried, check_playbook, is_playbook
    from hub.stix import tlp_of

    config = load_config(args.config) if args.config else None
    if is_playbook(document):
        return [("", check_playbook(document, config))]
    candidates = [document]
    if isinstance(document, dict) and document.get("type") == "bundle" and isinstance(document.get("objects"), list):
        candidates = document["objects"]
    carried = [o for o in candidates if isinstance(o, dict) and extension_of(o) is not None]
    if not carried:
        raise CliError(args.tr("{path} holds no CACAO playbook, nor a course-of-action that carries one", path=path), 2)
    return [(str(o.get("id", "?")), check_carried(o, config, tlp=tlp_of(o))) for o in carried]


def cmd_plan_check(args: argparse.Namespace) -> int:
    """Print every problem of the plans in a file, one a line; exit 2 if any is an error."""
    tr: Translator = args.tr
    _, document = _read(args.file, tr)
    verdicts = _verdicts(args.file, document, args)
    errors = warnings = 0
    for label, verdict in verdicts:
        for problem in verdict.problems:
            print(f"{label}: {problem}" if label else str(problem))
        errors += len(verdict.errors)
        warnings += len(verdict.warnings)
    counts = ", ".join(
        (
            tr.plural("{n} plan", "{n} plans", len(verdicts)),
            tr.plural("{n} error", "{n} errors", errors),
            tr.plural("{n} warning", "{n} warnings", warnings),
        )
    )
    print(f"{args.file.name}: {counts}")
    return 2 if errors else 0


def cmd_plan_push(args: argparse.Namespace) -> int:
    """Check a playbook, wrap it in a course-of-action and push it (with the extension's definition) to a channel."""
    from connectors.client import HubClient, HubClientError, PushSummary
    from hub.plans.carrier import extension_definition, wrap
    from hub.plans.check import check_bytes

    tr: Translator = args.tr
    need_token(args)
    data, _ = _read(args.file, tr)
    verdict = check_bytes(data)  # what the hub itself checks: the hub's own agents are not the file's business
    for problem in verdict.problems:
        print(problem)
    if verdict.plan is None:
        raise CliError(
            tr.plural("{path} has {n} error: not pushed", "{path} has {n} errors: not pushed", len(verdict.errors),
                      path=args.file),
            2,
        )  # fmt: skip
    coa = wrap(data, args.tlp if args.tlp is not None else verdict.plan.tlp)
    summary = PushSummary()

    async def run() -> None:
        async with HubClient(args.url, args.token) as client:
            await client.push_objects(args.channel, [extension_definition(), coa], summary=summary)

    try:
        asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    stored = {a["id"] for a in (*summary.accepted, *summary.duplicates)}
    for rejection in summary.rejected:
        print("  " + tr("rejected {id}: {reason}", id=rejection.get("id") or tr("(no id)"), reason=rejection["reason"]))
    if coa["id"] not in stored:
        return 1
    where = dict(plan=verdict.plan.name, id=verdict.plan.id, channel=args.channel, coa=coa["id"])
    if coa["id"] in {a["id"] for a in summary.accepted}:
        print(tr("{plan} ({id}) → {channel}: stored as {coa}", **where))
    else:
        print(tr("{plan} ({id}) → {channel}: already stored as {coa}", **where))
    return 0 if not summary.rejected else 1


def cmd_plan_export(args: argparse.Namespace) -> int:
    """Write the playbook a stored course-of-action carries, its exact bytes, to --out or stdout."""
    from connectors.client import HubClient, HubClientError
    from hub.plans.carrier import NotAPlaybook, coa_id, unwrap

    tr: Translator = args.tr
    need_token(args)
    wanted: str = args.id
    if wanted.startswith("playbook--"):
        wanted = coa_id(wanted)
    elif not wanted.startswith("course-of-action--"):
        raise CliError(tr("{id!r} is neither a playbook id (playbook--…) nor a course-of-action id", id=args.id), 2)

    async def run() -> Any:
        async with HubClient(args.url, args.token) as client:
            return await client.call("GET", f"/api/v1/objects/{wanted}")

    try:
        found = asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    try:
        data = unwrap(found["events"][0]["object"])
    except NotAPlaybook as exc:
        raise CliError(exc.description) from None
    if args.out is None:
        sys.stdout.buffer.write(data)
        return 0
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise CliError(tr("cannot write {path}: {reason}", path=args.out, reason=exc.strerror)) from None
    print(tr.plural("{id}: {n} byte written to {path}", "{id}: {n} bytes written to {path}", len(data), id=wanted,
                    path=args.out))  # fmt: skip
    return 0
