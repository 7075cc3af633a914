"""Every option and argument of every command says what it is for in ``--help``."""

from __future__ import annotations

import argparse

from hub.cli.parser import build_parser, commands, options
from tests.cli.test_cli import crisis_hub


def test_every_option_of_every_command_has_a_help_text() -> None:
    tree = [((), build_parser()), *commands(build_parser())]
    undocumented = [
        f"crisis-hub {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
        for path, parser in tree
        for action in options(parser)
        if not action.help
    ]
    assert undocumented == []


def test_the_installed_command_shows_each_help_text() -> None:
    """What the tree holds is what a user sees: ``crisis-hub CMD --help`` prints every option's text."""
    tree = list(commands(build_parser()))
    parents = {path[:-1] for path, _ in tree}
    leaves = [(path, parser) for path, parser in tree if path not in parents]
    assert ("crises",) in [path for path, _ in leaves]
    for path, parser in leaves:
        shown = " ".join(crisis_hub(*path, "--help").stdout.split())
        for action in options(parser):
            if action.help and action.help != argparse.SUPPRESS and "%(" not in action.help:
                assert " ".join(action.help.split())[:30] in shown, (path, action.dest)
