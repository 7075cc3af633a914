"""Every message the hub writes for people exists in each of its languages, with the same fields.

Python messages are extracted from the code as Babel's ``pybabel extract``
does (calls of ``tr(...)`` and ``tr.plural(...)``); the page's are its JSON
catalogs (``web/i18n/<lang>.json``), used through ``t('key')`` and
``tp('key', n)`` in its modules.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.i18n import LANGUAGES, from_accept_language, language_of, translator

ROOT = Path(__file__).parent.parent
KEYWORDS = {"tr": None, "plural": (1, 2)}


def code_messages() -> dict[str | tuple[str, ...], list[str]]:
    """Every message of the hub's Python code, with where it is written."""
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT / "hub"), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()
    ):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, []).append(f"hub/{filename}:{lineno}")
    return found


def catalog(lang: str) -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
    out: dict[str | tuple[str, ...], str | tuple[str, ...]] = {}
    folder = importlib.resources.files("hub").joinpath(f"locale/{lang}")
    for source in folder.iterdir():
        if source.name.endswith(".po"):
            with source.open("rb") as handle:
                for message in read_po(handle):
                    if message.id:
                        key = message.id if isinstance(message.id, str) else tuple(message.id)
                        assert key not in out, f"{key!r} is in two catalogs of {lang}"
                        assert not message.fuzzy, f"{key!r} is marked fuzzy in {source.name}: check it"
                        string = message.string
                        out[key] = string if isinstance(string, str) else tuple(string or ())
    return out


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_python_message_is_translated_with_the_same_fields(lang: str) -> None:
    messages, translated = code_messages(), catalog(lang)
    missing = {m: where for m, where in messages.items() if not translated.get(m)}
    assert not missing, f"not translated to {lang}: {missing}"
    for message, text in translated.items():
        originals = message if isinstance(message, tuple) else (message,)
        forms = text if isinstance(text, tuple) else (text,)
        for form in forms:
            assert fields(form) == fields(originals[-1]), (message, form)
    unused = set(translated) - set(messages)
    assert not unused, f"in the {lang} catalogs but nowhere in the code: {unused}"


def test_the_page_catalogs_have_the_same_keys_and_fields_and_every_key_used_exists() -> None:
    catalogs = {lang: json.loads((ROOT / "web" / "i18n" / f"{lang}.json").read_text()) for lang in LANGUAGES}
    english = catalogs["en"]
    for lang, strings in catalogs.items():
        assert set(strings) == set(english), (lang, set(strings) ^ set(english))
        for key, text in strings.items():
            assert text.strip(), (lang, key)
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", english[key])), (lang, key)
    used = set()
    for path in (ROOT / "web").rglob("*.js"):
        used |= set(re.findall(r"\bt\('([a-zA-Z0-9_.-]+)'", path.read_text()))
        used |= {f"{k}.one" for k in re.findall(r"\btp\('([a-zA-Z0-9_.-]+)'", path.read_text())}
    used |= set(re.findall(r'data-i18n(?:-[a-z]+)?="([a-zA-Z0-9_.-]+)"', (ROOT / "web" / "index.html").read_text()))
    assert not used - set(english), f"used by the page but in no catalog: {used - set(english)}"


def test_a_language_is_read_from_any_tag_and_the_header_picks_the_preferred_one() -> None:
    assert language_of("es-MX") == language_of("es_MX.UTF-8") == language_of("ES") == "es"
    assert language_of("fr") is None and language_of("") is None
    assert from_accept_language("fr-CA, es-MX;q=0.8, en;q=0.5") == "es"
    assert from_accept_language("en-GB,en;q=0.9,es;q=0.8") == "en"
    assert from_accept_language("de, fr;q=0.5") is None


def test_times_are_written_as_each_language_says_them() -> None:
    assert translator("es").relative(-300) == "hace 5 min"
    assert translator("en").relative(-300) == "5 min. ago"
    assert translator("fr").lang == "en"  # a language the hub does not have: English
