"""The hub's languages: English (the source of every message) and Mexican Spanish.

What the hub writes for people — sitreps, the after-action report,
notifications, the command line's sentences — is written in English in the
code and translated from gettext catalogs (``hub/locale/es/*.po``, read with
Babel). A :class:`Translator` is one language::

    tr = translator("es")
    tr("Crisis declared: {name}", name=crisis_name)    # "Crisis declarada: …"
    tr.plural("{n} action item open", "{n} action items open", n)

Times and durations are Babel's, in the hub's time zone (``hub.time_zone``):
``tr.relative(-300)`` is "5 min ago" or "hace 5 min". A message missing from
the catalog is shown in English (never an empty string); a test keeps the
catalog complete (every message of the code translated).

The page has its own catalogs (``web/i18n/<lang>.json``): it runs in the
browser, with the browser's ``Intl`` for times.
"""

from __future__ import annotations

import importlib.resources
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.messages.pofile import read_po

LANGUAGES: Final = ("en", "es")
DEFAULT: Final = "en"
LOCALES: Final = {"en": "en", "es": "es_MX"}
"""The Babel locale of each language: how numbers, dates and durations are written."""


def language_of(text: str | None) -> str | None:
    """The hub's language a tag names (``es``, ``es-MX``, ``es_MX.UTF-8``, ``EN``), or None."""
    if not text:
        return None
    primary = text.strip().replace("_", "-").split(".")[0].split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The hub's language an ``Accept-Language`` header prefers most, or None if it names neither."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        found = language_of(tag)
        if found is not None and weight > 0 and (best is None or weight > best[0]):
            best = (weight, found)
    return best[1] if best else None


@cache
def _catalog(lang: str) -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
    """``msgid`` → translation (a tuple of forms for a plural) of a language's catalogs; empty for English.

    A language's catalogs are every ``hub/locale/<lang>/*.po`` (one per part of the hub: briefings, the
    command line, the demo), read together.
    """
    out: dict[str | tuple[str, ...], str | tuple[str, ...]] = {}
    if lang == DEFAULT:
        return out
    folder = importlib.resources.files("hub").joinpath(f"locale/{lang}")
    for source in sorted((f for f in folder.iterdir() if f.name.endswith(".po")), key=lambda f: f.name):
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=LOCALES[lang])
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple | list):
                forms = tuple(message.string or ())
                if forms and all(forms):
                    out[tuple(message.id)] = forms
            elif isinstance(message.string, str) and message.string:
                out[message.id] = message.string
    return out


class Translator:
    """The hub's messages in one language, with its ways of writing times."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.locale = LOCALES[self.lang]
        self._messages = _catalog(self.lang)

    def __call__(self, message: str, **params: Any) -> str:
        """``message`` in this language, its ``{name}`` fields filled from ``params``."""
        found = self._messages.get(message)
        text = found if isinstance(found, str) else message
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """The form for ``n`` (``{n}`` is filled with it) of a message with a singular and a plural."""
        forms = self._messages.get((singular, plural))
        if isinstance(forms, tuple) and forms:
            text = forms[0] if n == 1 or len(forms) == 1 else forms[1]
        else:
            text = singular if n == 1 else plural
        return text.format(n=n, **params)

    def relative(self, seconds: float) -> str:
        """``seconds`` from now as people say it: "5 min ago", "in 2 h"; "hace 5 min", "dentro de 2 h"."""
        return format_timedelta(timedelta(seconds=seconds), add_direction=True, format="short", locale=self.locale,
                                threshold=1.5)  # fmt: skip

    def moment(self, when: datetime, zone: str, pattern: str = "d MMM HH:mm") -> str:
        """An absolute time in the hub's time zone, with the zone: "6 Dec 14:53 CST", "6 dic 14:53 CST"."""
        tz = ZoneInfo(zone)
        local = when.astimezone(tz)
        return f"{format_datetime(local, pattern, tzinfo=tz, locale=self.locale)} {local.tzname()}"


@cache
def translator(lang: str | None) -> Translator:
    """The translator of ``lang`` (any tag :func:`language_of` reads); English for anything else."""
    return Translator(language_of(lang) or DEFAULT)
