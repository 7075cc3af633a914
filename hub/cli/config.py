"""``crisis-hub config check``: every problem of a config file, each with a hint."""

from __future__ import annotations

import argparse

from hub.cli.errors import CliError
from hub.config import parse_config
from hub.configcheck import check_config
from hub.policy import may_administer


def cmd_config_check(args: argparse.Namespace) -> int:
    """Every problem of a config file with a hint (exit 2), or OK and what it declares (exit 0)."""
    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}", 2) from None
    problems = check_config(text)
    if problems:
        print(f"{args.file}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")
        for problem in problems:
            print(f"  {problem}")
            if problem.hint:
                print(f"      {problem.hint}")
        return 2
    config = parse_config(text, str(args.file))  # what the hub will load; a ConfigError still exits 2
    admins = [sid for sid, p in config.principals.items() if may_administer(p)]
    print(
        f"OK: {len(config.stakeholders)} stakeholders, {len(config.channels)} channels, {len(config.roles)} roles; "
        f"admins: {', '.join(admins) or 'none'}; crises on channel {config.crisis.channel!r} ({args.file})"
    )
    return 0
