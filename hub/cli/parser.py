"""The ``crisis-hub`` argument parser: one small function per command, each naming the function that runs it.

The parser is built in the command's language (:mod:`hub.cli.language`): its
descriptions and help texts are the translator's; argparse's own words
("usage", "options") stay English.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeAlias

from hub import __version__
from hub.cli.archive import cmd_archive
from hub.cli.audit import cmd_audit_export, cmd_audit_verify
from hub.cli.config import cmd_config_check
from hub.cli.connectors import cmd_connector_list, cmd_connector_run
from hub.cli.crises import cmd_crises, cmd_sitrep
from hub.cli.exercise import cmd_exercise_run
from hub.cli.language import OPTION as LANG_OPTION
from hub.cli.language import language_type
from hub.cli.options import (
    ENV,
    client_options,
    env_default,
    language_option,
    listen_options,
    log_option,
    memory_size,
    store_options,
    url_option,
    verbose_option,
)
from hub.cli.people import (
    cmd_person_add,
    cmd_person_disable,
    cmd_person_enable,
    cmd_person_list,
    cmd_person_set_password,
)
from hub.cli.plans import cmd_plan_check, cmd_plan_export, cmd_plan_push, tlp_level
from hub.cli.push import cmd_import, cmd_push
from hub.cli.report import cmd_report
from hub.cli.serve import PRODUCTION, cmd_demo, cmd_serve
from hub.cli.signin import cmd_login, cmd_logout
from hub.cli.tokens import cmd_token_create, cmd_token_list, cmd_token_revoke
from hub.cli.watch import cmd_watch
from hub.embedded import FSYNC_POLICIES
from hub.i18n import Translator, translator

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[[argparse.Namespace], int]


def build_parser(tr: Translator | None = None) -> argparse.ArgumentParser:
    """The whole command line, its help in ``tr``'s language (English by default)."""
    tr = tr or translator("en")
    parser = argparse.ArgumentParser(prog="crisis-hub", description=tr("Cyber crisis information-sharing hub."))
    parser.add_argument(
        "--version", action="version", version=f"crisis-hub {__version__}", help=tr("print the version")
    )
    # --lang before the command too (crisis-hub --lang es crises); after it, the command's own says the same.
    parser.add_argument(
        LANG_OPTION,
        dest="main_lang",
        type=language_type(tr),
        metavar="en|es",
        help=tr("language of the messages: en or es (or CRISIS_HUB_LANG; default: the system's, else en)"),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _serve,
        _demo,
        _crises,
        _sitrep,
        _report,
        _exercise,
        _audit,
        _token,
        _person,
        _login,
        _logout,
        _push,
        _watch,
        _config,
        _import,
        _archive,
        _connector,
        _plan,
    ):
        add(sub, tr)
    return parser


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree below ``parser``, with the words that reach it (``("token", "create")``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from commands(sub, (*path, name))


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options and arguments of one command (``--help`` too), without its subcommands."""
    return [action for action in parser._actions if not isinstance(action, argparse._SubParsersAction)]


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    """The option ``flag`` (``--port``) of one command, or None if it has no such option."""
    return next((action for action in options(parser) if flag in action.option_strings), None)


def _command(
    sub: Commands, tr: Translator, name: str, help: str, run: Command, about: str | None = None
) -> argparse.ArgumentParser:
    """A command ``name`` that ``run`` carries out, speaking the language ``--lang`` names."""
    parser = sub.add_parser(name, help=help, description=about)
    parser.set_defaults(func=run)
    language_option(parser, tr)
    return parser


def _group(sub: Commands, name: str, help: str) -> Commands:
    """A command ``name`` made of subcommands (``token create``, ``token list``, …)."""
    return sub.add_parser(name, help=help).add_subparsers(dest=f"{name}_command", required=True)


def _serve(sub: Commands, tr: Translator) -> None:
    serve = _command(
        sub,
        tr,
        "serve",
        tr("run the hub"),
        cmd_serve,
        about=tr(
            "Run the hub. Without --config it serves the built-in demo committee and says so; "
            "with {variable}={value} it refuses to.",
            variable=ENV,
            value=PRODUCTION,
        ),
    )
    store_options(serve, tr)
    listen_options(serve, tr)
    serve.add_argument(
        "--appendfsync",
        choices=FSYNC_POLICIES,
        default="everysec",
        help=tr(
            "embedded Redis AOF fsync policy (default everysec: at most one second of writes at risk on power loss)"
        ),
    )
    serve.add_argument(
        "--maxmemory",
        type=memory_size(tr),
        default=env_default("--maxmemory"),
        metavar="SIZE",
        help=tr(
            "memory limit of the embedded Redis, e.g. 512mb or 2gb (default: half of this machine's memory); "
            "once full, writes are refused with 507 and nothing stored is evicted"
        ),
    )
    serve.add_argument("--cert", default=env_default("--cert"), help=tr("TLS certificate chain (PEM): serve HTTPS"))
    serve.add_argument("--key", default=env_default("--key"), help=tr("TLS private key (PEM)"))
    verbose_option(serve, tr)
    log_option(serve, tr)


def _demo(sub: Commands, tr: Translator) -> None:
    demo = _command(
        sub,
        tr,
        "demo",
        tr("run the hub with the demo committee and play a crisis scenario on it"),
        cmd_demo,
        about=tr(
            "Run the hub with the demo committee and play a national cyber crisis on it, in the language of --lang "
            "(the hub's language too). A second run on the same --data-dir finishes an interrupted scenario."
        ),
    )
    store_options(demo, tr)
    listen_options(demo, tr)
    demo.add_argument("--speed", type=float, default=1.0, help=tr("play the scenario this many times faster"))
    verbose_option(demo, tr)
    log_option(demo, tr)


def _crises(sub: Commands, tr: Translator) -> None:
    crises = _command(
        sub, tr, "crises", tr("list the crises you may see, most severe first: their ids for sitrep"), cmd_crises
    )
    crises.add_argument("--all", action="store_true", help=tr("closed crises too"))
    crises.add_argument("--json", action="store_true", help=tr("the hub's answer as one JSON document"))
    client_options(crises, tr)


def _sitrep(sub: Commands, tr: Translator) -> None:
    sitrep = _command(sub, tr, "sitrep", tr("print a crisis's newest sitrep as a briefing"), cmd_sitrep)
    sitrep.add_argument(
        "crisis",
        nargs="?",
        help=tr("the crisis's STIX id (incident--…; see crisis-hub crises); default: the most severe"),
    )
    sitrep.add_argument(
        "--format", choices=("md", "stix"), default="md", help=tr("a Markdown briefing (default) or the STIX bundle")
    )
    client_options(sitrep, tr)


def _report(sub: Commands, tr: Translator) -> None:
    report = _command(
        sub,
        tr,
        "report",
        tr("a crisis's after-action report: timeline, response times, late steps, who saw what"),
        cmd_report,
    )
    report.add_argument("crisis", help=tr("the crisis's STIX id (incident--…; see crisis-hub crises --all)"))
    report.add_argument("--format", choices=("md", "json"), default="md", help=tr("Markdown (default) or JSON"))
    report.add_argument("--out", type=Path, metavar="FILE", help=tr("write the report to FILE instead of printing it"))
    client_options(report, tr)


def _exercise(sub: Commands, tr: Translator) -> None:
    exercise = _group(sub, "exercise", tr("play a crisis exercise from a scenario file"))
    run = _command(
        exercise,
        tr,
        "run",
        tr("play a scenario's timed injects against a running hub, as the stakeholders it names"),
        cmd_exercise_run,
        about=tr(
            "Play a scenario (TOML: timed injects, see docs/exercises.md) against the hub at --url. Tokens: "
            "--tokens FILE (JSON or TOML, stakeholder id to token) or CRISIS_HUB_TOKEN_<ID> (cert-mx: "
            "CRISIS_HUB_TOKEN_CERT_MX)."
        ),
    )
    run.add_argument("scenario", type=Path, help=tr("the scenario file (e.g. hub/demo_data/exercise.toml)"))
    run.add_argument("--tokens", type=Path, metavar="FILE", help=tr("stakeholder ids to tokens, JSON or TOML"))
    run.add_argument("--speed", type=float, default=1.0, help=tr("play the scenario this many times faster"))
    url_option(run, tr)


def _audit(sub: Commands, tr: Translator) -> None:
    audit = _group(sub, "audit", tr("check or export the hash-chained audit trail"))
    verify = _command(
        audit, tr, "verify", tr("check the whole chain; exit 1 at the first tampered entry"), cmd_audit_verify
    )
    store_options(verify, tr)
    export = _command(audit, tr, "export", tr("print the trail as JSON lines, oldest first"), cmd_audit_export)
    export.add_argument("--after", default="0", help=tr("only entries after this entry id"))
    store_options(export, tr)


def _token(sub: Commands, tr: Translator) -> None:
    token = _group(sub, "token", tr("create, list and revoke API tokens"))
    create = _command(
        token, tr, "create", tr("create a token for a stakeholder; prints it as the last line"), cmd_token_create
    )
    create.add_argument("stakeholder", help=tr("the stakeholder's id in the config ([stakeholders.ID])"))
    create.add_argument("--label", default="", help=tr("a note to recognise the token by in listings"))
    store_options(create, tr)
    store_options(_command(token, tr, "list", tr("list tokens (never their secrets)"), cmd_token_list), tr)
    revoke = _command(token, tr, "revoke", tr("revoke a token by its id (or the token itself)"), cmd_token_revoke)
    revoke.add_argument("token", help=tr("the token's id, as token list shows it, or the whole token"))
    store_options(revoke, tr)


def _login(sub: Commands, tr: Translator) -> None:
    login = _command(
        sub,
        tr,
        "login",
        tr("sign this command line in as yourself, approved in the situation room"),
        cmd_login,
        tr(
            "Print a link and a code to approve in the situation room, signed in as yourself; then save a personal "
            "token for --url (acting for you, with your rights, for [sign_in] cli_token_days) in "
            "$XDG_CONFIG_HOME/crisis-hub/tokens.json (or CRISIS_HUB_TOKENS). Commands use it when given no --token."
        ),
    )
    client_options(login, tr)
    login.add_argument("--label", help=tr("what the situation room shows of this machine (default: user@host)"))
    login.add_argument("--no-save", action="store_true", help=tr("print the token on stdout instead of saving it"))


def _logout(sub: Commands, tr: Translator) -> None:
    logout = _command(
        sub, tr, "logout", tr("revoke the token crisis-hub login saved for --url, and forget it"), cmd_logout
    )
    client_options(logout, tr)


def _person(sub: Commands, tr: Translator) -> None:
    person = _group(sub, "person", tr("add, list, disable and enable people; set their local passwords"))
    add = _command(person, tr, "add", tr("add a person of a stakeholder"), cmd_person_add)
    add.add_argument("id", help=tr("their id: lower-case letters, digits, '.', '_' or '-'"))
    add.add_argument("--stakeholder", required=True, help=tr("the stakeholder they act for ([stakeholders.ID])"))
    add.add_argument("--name", required=True, help=tr("their display name"))
    add.add_argument("--email", default="", help=tr("their e-mail (matched against their identity provider's)"))
    add.add_argument("--subject", default="", help=tr("their subject (sub) at their identity provider"))
    add.add_argument(
        "--max-tlp", default=None, help=tr("the highest TLP they may receive, if below their stakeholder's")
    )
    add.add_argument("--read-only", action="store_true", help=tr("they read but write nothing"))
    add.add_argument("--admin", action="store_true", help=tr("they administer (only if their stakeholder does)"))
    store_options(add, tr)
    listing = _command(person, tr, "list", tr("list people, with their state and limits"), cmd_person_list)
    store_options(listing, tr)
    for name, func, help in (
        (
            "disable",
            cmd_person_disable,
            tr("disable a person: their sessions end now, their streams within seconds"),
        ),
        ("enable", cmd_person_enable, tr("enable a disabled person again")),
    ):
        command = _command(person, tr, name, help, func)
        command.add_argument("id", help=tr("the person's id"))
        store_options(command, tr)
    password = _command(
        person,
        tr,
        "set-password",
        tr("set a person's local password (and enrol their one-time codes if they need them)"),
        cmd_person_set_password,
    )
    password.add_argument("id", help=tr("the person's id"))
    password.add_argument(
        "--password-stdin", action="store_true", help=tr("read the password from one line of standard input")
    )
    store_options(password, tr)


def _push(sub: Commands, tr: Translator) -> None:
    push = _command(sub, tr, "push", tr("push a STIX 2.1 bundle file to a channel"), cmd_push)
    push.add_argument("file", type=Path, help=tr("a STIX 2.1 bundle, or one object, as JSON"))
    push.add_argument("--channel", required=True, help=tr("the channel to write to"))
    client_options(push, tr)
    push.add_argument("--batch", type=int, default=500, help=tr("objects per request (default {n})", n=500))


def _watch(sub: Commands, tr: Translator) -> None:
    watch = _command(sub, tr, "watch", tr("print a channel's events as they arrive, resuming after drops"), cmd_watch)
    watch.add_argument("--channel", action="append", required=True, help=tr("a channel to read; repeat for several"))
    watch.add_argument(
        "--since",
        action="append",
        default=[],
        help=tr("resume after this event id (ID for every channel, or CHANNEL=ID; repeatable)"),
    )
    watch.add_argument("--json", action="store_true", help=tr("one JSON event per line"))
    client_options(watch, tr)


def _config(sub: Commands, tr: Translator) -> None:
    config = _group(sub, "config", tr("check a configuration file"))
    check = _command(
        config, tr, "check", tr("validate a config file and explain each problem (exit 2 if any)"), cmd_config_check
    )
    check.add_argument("file", type=Path, help=tr("the config TOML to check"))


def _import(sub: Commands, tr: Translator) -> None:
    importing = _command(
        sub, tr, "import", tr("import STIX bundles from files and folders (*.json, *.json.gz)"), cmd_import
    )
    importing.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help=tr("files, or folders searched recursively")
    )
    importing.add_argument("--channel", required=True, help=tr("the channel to write to"))
    client_options(importing, tr)
    importing.add_argument("--batch", type=int, default=500, help=tr("objects per request (default {n})", n=500))


def _archive(sub: Commands, tr: Translator) -> None:
    archiving = _command(
        sub,
        tr,
        "archive",
        tr("move a channel's versions added before a time into a gzip'd STIX bundle file, then out of the store"),
        cmd_archive,
        tr(
            "Writes the file (mode 0600: as sensitive as the channel's highest TLP), verifies it, records its count "
            "and SHA-256 in the audit trail, then removes exactly those versions. Run it again to finish a run that "
            "stopped; crisis-hub import restores the file."
        ),
    )
    archiving.add_argument("channel", help=tr("the channel to archive"))
    archiving.add_argument(
        "--before", required=True, help=tr("an RFC 3339 time: versions added before it are archived")
    )
    archiving.add_argument("--out", required=True, type=Path, help=tr("the file to write (FILE.json.gz)"))
    archiving.add_argument(
        "--batch", type=int, default=500, help=tr("events read and removed per step (default {n})", n=500)
    )
    store_options(archiving, tr)


def _connector(sub: Commands, tr: Translator) -> None:
    connector = _group(sub, "connector", tr("TAXII connectors: show their status, run one alone"))
    listing = _command(
        connector, tr, "list", tr("each connector's state, last success and error, lag"), cmd_connector_list
    )
    listing.add_argument("--json", action="store_true", help=tr("one JSON document"))
    store_options(listing, tr)
    run = _command(connector, tr, "run", tr("run one configured connector against a hub's HTTP API"), cmd_connector_run)
    run.add_argument("name", help=tr("the connector's name in the config's [[connectors]]"))
    run.add_argument("--once", action="store_true", help=tr("one poll or push pass, then exit (1 on failure)"))
    store_options(run, tr)  # the config that declares it; the hub's Redis keeps its checkpoint and status
    client_options(run, tr)
    verbose_option(run, tr)


def _plan(sub: Commands, tr: Translator) -> None:
    plan = _group(sub, "plan", tr("national crisis plans (CACAO 2.0 playbooks): check, push, export"))
    check = _command(
        plan,
        tr,
        "check",
        tr("check plans and print every problem, one a line (exit 2 if any is an error)"),
        cmd_plan_check,
    )
    check.add_argument(
        "file",
        type=Path,
        help=tr("a CACAO 2.0 playbook, a course-of-action carrying one, or a bundle of them, as JSON"),
    )
    check.add_argument(
        "--config",
        default=env_default("--config"),
        help=tr("also check agents and TLP against this hub's config TOML (or CRISIS_HUB_CONFIG)"),
    )
    push = _command(plan, tr, "push", tr("check a playbook, wrap it in a course-of-action and push it"), cmd_plan_push)
    push.add_argument("file", type=Path, help=tr("a CACAO 2.0 playbook, as JSON"))
    push.add_argument("--channel", required=True, help=tr("the channel to write to"))
    push.add_argument(
        "--tlp",
        type=tlp_level(tr),
        help=tr("mark the course-of-action (default: the playbook's marking-tlp, else the channel's default)"),
    )
    client_options(push, tr)
    export = _command(
        plan, tr, "export", tr("write a stored plan's playbook, byte for byte as pushed"), cmd_plan_export
    )
    export.add_argument("id", help=tr("the playbook's id (playbook--…) or its course-of-action's"))
    export.add_argument("--out", type=Path, help=tr("write to this file instead of standard output"))
    client_options(export, tr)
