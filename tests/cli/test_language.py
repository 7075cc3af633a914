"""The command's language: --lang, else CRISIS_HUB_LANG, else the system's locale, else English; and what it says in it.

The rules are pure and tested without a process; then the installed command is
run as a user runs it, with ``--lang`` and with ``LANG=es_MX.UTF-8`` in its
environment, for a failure (one sentence on stderr), a normal output line and
the help.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest

from hub.cli.language import command_language, given_language, headers, language_type, system_language
from hub.i18n import translator
from tests.cli.test_cli import crisis_hub, no_traceback
from tests.test_i18n import code_messages

DEMO_CONFIG = Path(__file__).parents[2] / "hub" / "demo.toml"
NO_HUB = "http://127.0.0.1:9"  # nothing listens there; the commands below fail before they would call it


def test_the_option_beats_the_variable_which_beats_the_locale_and_english_comes_last() -> None:
    spanish = {"LANG": "es_MX.UTF-8"}
    assert command_language("en", "es", spanish) == "en"
    assert command_language(None, "en", spanish) == "en"
    assert command_language(None, None, spanish) == "es"
    assert command_language(None, None, {}) == "en"
    assert command_language("es-MX", None, {}) == command_language(None, "es_MX.UTF-8", {}) == "es"
    assert command_language("fr", "de", {"LANG": "it_IT.UTF-8"}) == "en"  # none the hub has


def test_the_locale_is_read_as_the_c_library_reads_it_for_messages() -> None:
    """The first of LC_ALL, LC_MESSAGES and LANG that is set decides, even when it names no language of the hub."""
    assert system_language({"LC_ALL": "es_MX.UTF-8", "LANG": "en_US.UTF-8"}) == "es"
    assert system_language({"LC_MESSAGES": "es_ES", "LANG": "en_GB.UTF-8"}) == "es"
    assert system_language({"LC_ALL": "", "LANG": "es_MX.UTF-8"}) == "es"  # set but empty: not set
    assert system_language({"LC_ALL": "C", "LANG": "es_MX.UTF-8"}) is None  # the C locale: English
    assert system_language({}) is None


def test_the_raw_arguments_name_the_language_before_parsing_wherever_it_is_given() -> None:
    assert given_language(["--lang", "es", "crises"]) == "es"
    assert given_language(["crises", "--all", "--lang=es"]) == "es"
    assert given_language(["--lang", "es", "crises", "--lang", "en"]) == "en"  # the last one, as argparse reads
    assert given_language(["push", "--", "--lang", "es"]) is None  # after --, a file name
    assert given_language(["crises"]) is None


def test_the_option_takes_any_tag_of_a_language_and_refuses_others_in_the_commands_language() -> None:
    kind = language_type(translator("es"))
    assert kind("es_MX.UTF-8") == "es" and kind("EN") == "en"
    with pytest.raises(argparse.ArgumentTypeError, match="'fr' no es un idioma del hub: indique uno de en, es"):
        kind("fr")


def test_every_listings_headers_have_as_many_columns_in_each_language() -> None:
    """A listing's header is one message, its columns separated by |: a translation keeps their number."""
    listings = [m for m in code_messages() if isinstance(m, str) and "|" in m and " " not in m.split("|")[0]]
    assert len(listings) >= 4  # crises, tokens, people, connectors
    for message in listings:
        assert len(headers(translator("es")(message))) == len(headers(message)), message


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without any language or CRISIS_HUB_* setting, then ``extra``."""
    drop = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRISIS_HUB_") and k not in drop}
    return base | extra


SPANISH_ERROR = (
    "crisis-hub: indique --token o defina CRISIS_HUB_TOKEN, o inicie sesión como usted mismo con crisis-hub login "
    "(crisis-hub token create muestra el token de una institución)\n"
)
ENGLISH_ERROR = (
    "crisis-hub: give --token or set CRISIS_HUB_TOKEN, or sign in as yourself with crisis-hub login "
    "(crisis-hub token create prints a stakeholder's token)\n"
)


@pytest.mark.parametrize(
    ("how", "env", "error"),
    [
        (["--lang", "es"], environment(), SPANISH_ERROR),
        ([], environment(LANG="es_MX.UTF-8"), SPANISH_ERROR),
        ([], environment(CRISIS_HUB_LANG="es"), SPANISH_ERROR),
        ([], environment(), ENGLISH_ERROR),
        (["--lang", "en"], environment(LANG="es_MX.UTF-8"), ENGLISH_ERROR),
        ([], environment(LANG="es_MX.UTF-8", CRISIS_HUB_LANG="en"), ENGLISH_ERROR),
    ],
    ids=["option", "locale", "variable", "default", "option-beats-locale", "variable-beats-locale"],
)
def test_a_failure_is_one_sentence_in_the_commands_language(how: list[str], env: dict[str, str], error: str) -> None:
    result = crisis_hub("crises", "--url", NO_HUB, *how, env=env)
    no_traceback(result.stderr)
    assert result.returncode == 2 and result.stderr == error and result.stdout == ""


def test_a_summary_is_in_the_commands_language_and_its_values_are_the_same() -> None:
    english = crisis_hub("config", "check", str(DEMO_CONFIG), env=environment())
    spanish = crisis_hub("config", "check", str(DEMO_CONFIG), env=environment(LANG="es_MX.UTF-8"))
    also = crisis_hub("--lang", "es", "config", "check", str(DEMO_CONFIG), env=environment())
    assert english.returncode == spanish.returncode == also.returncode == 0, spanish.stderr
    assert english.stdout.startswith("OK: 10 stakeholders, 5 channels, 6 roles; admins: cidge; crises on channel ")
    assert spanish.stdout.startswith("OK: 10 instituciones, 5 canales, 6 roles; administradores: cidge; crisis en ")
    assert also.stdout == spanish.stdout
    numbers = [re.findall(r"\d+|'[^']*'", result.stdout) for result in (english, spanish)]
    assert numbers[0] == numbers[1]  # the counts and the channel's name do not change with the language


def test_a_usage_error_and_the_help_are_in_the_commands_language() -> None:
    helped = crisis_hub("crises", "--help", env=environment(LANG="es_MX.UTF-8"))
    assert helped.returncode == 0 and "también las crisis cerradas" in " ".join(helped.stdout.split())
    refused = crisis_hub("push", "file.json", "--channel", "c", "--url", "ftp://x", env=environment())
    assert refused.returncode == 2 and "'ftp://x' is not a hub URL" in refused.stderr
    refused = crisis_hub("push", "f.json", "--channel", "c", "--url", "ftp://x", "--lang", "es", env=environment())
    assert refused.returncode == 2 and "'ftp://x' no es la URL de un hub" in refused.stderr
    unknown = crisis_hub("crises", env=environment(CRISIS_HUB_LANG="fr"))
    no_traceback(unknown.stderr)
    assert unknown.returncode == 2 and "'fr' is not a language of the hub: give one of en, es" in unknown.stderr
