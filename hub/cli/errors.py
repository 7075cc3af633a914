"""How a command fails: one sentence on stderr and an exit status.

The sentence is in the command's language: whoever raises a :class:`CliError`
or calls :func:`say` writes it with the command's translator (``args.tr``).
"""

from __future__ import annotations

import sys


class CliError(Exception):
    """A failure the command explains in one sentence, already in its language; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def say(message: str) -> None:
    """One sentence on stderr, as ``crisis-hub: …``."""
    try:
        print(f"crisis-hub: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr is gone too: nothing left to tell
