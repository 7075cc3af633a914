"""Every option and argument of every command says what it is for in ``--help``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from hub.cli import build_parser
from tests.test_cli import crisis_hub


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree, with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def test_every_option_of_every_command_has_a_help_text() -> None:
    undocumented = [
        f"crisis-hub {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
        for path, parser in commands(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert undocumented == []


def test_the_installed_command_shows_each_help_text() -> None:
    """What the tree holds is what a user sees: ``crisis-hub CMD --help`` prints every option's text."""
    leaves = [(path, parser) for path, parser in commands(build_parser()) if path and not parser._subparsers]
    assert ("crises",) in [path for path, _ in leaves]
    for path, parser in leaves:
        shown = " ".join(crisis_hub(*path, "--help").stdout.split())
        for action in parser._actions:
            if action.help and action.help != argparse.SUPPRESS and "%(" not in action.help:
                assert " ".join(action.help.split())[:30] in shown, (path, action.dest)
