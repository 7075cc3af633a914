"""``crisis-hub config check``: every problem of a config file, each with a hint."""

from __future__ import annotations

import argparse

from hub.cli.errors import CliError
from hub.config import parse_config
from hub.configcheck import check_config
from hub.i18n import Translator
from hub.policy import may_administer


def cmd_config_check(args: argparse.Namespace) -> int:
    """Every problem of a config file with a hint (exit 2), or OK and what it declares (exit 0).

    The problems and hints are the hub's own (:mod:`hub.configcheck`), in English like the file's keys.
    """
    tr: Translator = args.tr
    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise CliError(tr("cannot read {path}: {reason}", path=args.file, reason=reason), 2) from None
    problems = check_config(text)
    if problems:
        print(tr.plural("{path}: {n} problem", "{path}: {n} problems", len(problems), path=args.file))
        for problem in problems:
            print(f"  {problem}")
            if problem.hint:
                print(f"      {problem.hint}")
        return 2
    config = parse_config(text, str(args.file))  # what the hub will load; a ConfigError still exits 2
    admins = [sid for sid, p in config.principals.items() if may_administer(p)]
    declared = dict(
        stakeholders=len(config.stakeholders),
        channels=len(config.channels),
        roles=len(config.roles),
        channel=config.crisis.channel,
        path=args.file,
    )
    if admins:
        print(
            tr(
                "OK: {stakeholders} stakeholders, {channels} channels, {roles} roles; admins: {admins}; "
                "crises on channel {channel!r} ({path})",
                admins=", ".join(admins),
                **declared,
            )
        )
    else:
        print(
            tr(
                "OK: {stakeholders} stakeholders, {channels} channels, {roles} roles; admins: none; "
                "crises on channel {channel!r} ({path})",
                **declared,
            )
        )
    return 0
