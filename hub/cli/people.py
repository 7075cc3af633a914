"""``crisis-hub person add|list|disable|enable|set-password``: people, straight in the hub's Redis.

``set-password`` reads the password from the terminal (twice), or one line of
standard input with ``--password-stdin``; for a person who needs a one-time
code it prints the ``otpauth://`` URI and its QR code to enrol an
authenticator app. The secret is shown once, here, and never again.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from hub import credentials
from hub.cli.errors import CliError
from hub.cli.language import headers
from hub.cli.store import note, with_redis
from hub.config import load_config
from hub.i18n import Translator
from hub.people import Person
from hub.people.service import People
from hub.store import Client
from hub.store.audit import AuditLog
from hub.store.people import PeopleStore
from hub.tlp import TLP


def _people(args: argparse.Namespace, client: Client) -> People:
    return People(load_config(args.config), PeopleStore(client, args.namespace))


def cmd_person_add(args: argparse.Namespace) -> int:
    tr: Translator = args.tr
    try:
        max_tlp = TLP.parse(args.max_tlp) if args.max_tlp else None
    except ValueError:
        raise CliError(
            tr("--max-tlp must be a TLP level such as amber, not {value!r}", value=args.max_tlp), 2
        ) from None
    person = Person(
        id=args.id,
        stakeholder=args.stakeholder,
        name=args.name,
        email=args.email,
        subject=args.subject,
        max_tlp=max_tlp,
        read_only=args.read_only,
        admin=args.admin,
        origin="admin",
    )

    async def add(client: Client) -> Person:
        added = await _people(args, client).add(person)
        await note(AuditLog(client, args.namespace), "person.add", person_added=added.id, stakeholder=added.stakeholder)
        return added

    added = with_redis(args, add)
    print(
        tr(
            "person {id} ({name}) added to {stakeholder}; set a password: crisis-hub person set-password {id}",
            id=added.id,
            name=added.name,
            stakeholder=added.stakeholder,
        )
    )
    return 0


def cmd_person_list(args: argparse.Namespace) -> int:
    async def everyone(client: Client) -> list[Person]:
        return sorted((await _people(args, client).all()).values(), key=lambda p: (p.stakeholder, p.id))

    people = with_redis(args, everyone)
    head = headers(args.tr("id|stakeholder|state|origin|limits|name <email>"))
    print(f"{head[0]:16}  {head[1]:14}  {head[2]:8}  {head[3]:6}  {head[4]:24}  {head[5]}")
    for p in people:
        limits = ", ".join(
            part
            for part in (
                f"max {p.max_tlp.token}" if p.max_tlp is not None else "",
                "read-only" if p.read_only else "",
                "admin" if p.admin else "",
            )
            if part
        )
        state = "disabled" if p.disabled else "enabled"
        email = f" <{p.email}>" if p.email else ""
        print(f"{p.id:16}  {p.stakeholder:14}  {state:8}  {p.origin:6}  {limits or '-':24}  {p.name}{email}")
    return 0


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    async def switch(client: Client) -> Person:
        person = await _people(args, client).set_disabled(args.id, disabled)
        action = "person.disable" if disabled else "person.enable"
        await note(AuditLog(client, args.namespace), action, subject=person.id)
        return person

    person = with_redis(args, switch)
    tr: Translator = args.tr
    if disabled:
        print(
            tr("person {id} disabled: their sessions have ended, their open streams close within seconds", id=person.id)
        )
    else:
        print(tr("person {id} enabled", id=person.id))
    return 0


def cmd_person_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def cmd_person_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def _read_password(args: argparse.Namespace) -> str:
    tr: Translator = args.tr
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError(tr("no terminal to ask for the password on: give it on standard input with --password-stdin"), 2)
    first = getpass.getpass(tr("new password for {id}: ", id=args.id))
    if first != getpass.getpass(tr("again: ")):
        raise CliError(tr("the two passwords differ; nothing was changed"), 1)
    return first


def cmd_person_set_password(args: argparse.Namespace) -> int:
    tr: Translator = args.tr
    password = _read_password(args)
    problem = credentials.password_problem(password)
    if problem is not None:
        raise CliError(tr("{problem}; nothing was changed", problem=problem), 2)
    config = load_config(args.config)

    async def store(client: Client) -> tuple[Person, str]:
        people = People(config, PeopleStore(client, args.namespace))
        person = await people.require(args.id)
        record = await people.set_password(args.id, password)
        await note(AuditLog(client, args.namespace), "person.set-password", subject=person.id)
        return person, record.totp_secret

    person, secret = with_redis(args, store)
    print(tr("password of {id} ({name}) set; their other sessions have ended", id=person.id, name=person.name))
    if secret:
        uri = credentials.totp_uri(secret, person.id, config.hub.title)
        print(
            tr(
                "they may read TLP:RED or administer, so signing in also takes a one-time code: enrol this in their "
                "authenticator app now (shown once):"
            )
        )
        print(credentials.qr_text(uri))
        print(uri, flush=True)
    return 0
