"""The language a command speaks: ``--lang``, else ``CRISIS_HUB_LANG``, else the system's locale, else English.

:func:`command_language` is the one place that decides it. ``main`` asks it
twice: once before the parser is built, from the raw arguments, so that
``--help`` is in the right language; then from what the parser read, and
hands the command its translator (``args.tr``). The system's locale is read
as the C library reads it for messages: the first of ``LC_ALL``,
``LC_MESSAGES`` and ``LANG`` that is set decides (``es_MX.UTF-8`` is Spanish;
``C`` or a language the hub does not have is English).

Only sentences change with the language: JSON output, tokens, ids and the
values of a listing are the same in both, so that scripts read them alike.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence

from hub.i18n import DEFAULT, LANGUAGES, Translator, language_of

OPTION = "--lang"
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def system_language(environ: Mapping[str, str]) -> str | None:
    """The hub's language the system's locale names, or None (unset, ``C``, or a language the hub lacks)."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            return language_of(value)
    return None


def given_language(argv: Sequence[str]) -> str | None:
    """What ``--lang`` says among raw arguments (the last one, as the parser reads it), before any parsing."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == OPTION and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith(f"{OPTION}="):
            found = arg.partition("=")[2]
    return found


def command_language(given: str | None, variable: str | None, environ: Mapping[str, str]) -> str:
    """The command's language: ``given`` (``--lang``), else ``variable`` (``CRISIS_HUB_LANG``), else the locale."""
    return language_of(given) or language_of(variable) or system_language(environ) or DEFAULT


def language_type(tr: Translator) -> Callable[[str], str]:
    """The ``--lang`` value's type: any tag of a language of the hub (``es``, ``es-MX``, ``es_MX.UTF-8``)."""

    def language(text: str) -> str:
        found = language_of(text)
        if found is None:
            raise argparse.ArgumentTypeError(
                tr(
                    "{value!r} is not a language of the hub: give one of {languages}",
                    value=text,
                    languages=", ".join(LANGUAGES),
                )
            )
        return found

    return language


def headers(text: str) -> list[str]:
    """The column headers of a listing, translated as one message (``"id|stakeholder|created"``)."""
    return text.split("|")
