"""People: the committee members who sign in as themselves and act for their stakeholder. Pure: no I/O.

A person belongs to one stakeholder. What they do is their stakeholder's (the
event's ``source``), done by them (the event's ``person``). Their rights are
the stakeholder's, narrowed by their own limits and never widened (see
:func:`hub.policy.person_rights`).

People come from two places: ``[people.<id>]`` in the config, and admins at
run time (``crisis-hub person add``, ``POST /api/v1/admin/people``), kept in
the store. The store may also disable a configured person; the config's
rights stay the config's.

What others see of a person: their id, name and stakeholder (the board says
"María López (Central Bank)"). Their e-mail, subject and state are for
administrators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Final, Literal

from hub.policy import Actor, PersonLimits, Principal, person_rights
from hub.tlp import TLP

PERSON_ID: Final = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,62}\Z")

Origin = Literal["config", "admin"]


@dataclass(frozen=True, slots=True)
class Person:
    """A person of a stakeholder, as configured or added by an admin."""

    id: str
    stakeholder: str
    name: str
    email: str = ""
    subject: str = ""
    """Their subject (``sub``) at their institution's identity provider, when sign-in maps that claim."""
    max_tlp: TLP | None = None
    read_only: bool = False
    admin: bool = False
    disabled: bool = False
    origin: Origin = "config"
    language: str | None = None
    """The language they read the hub in (``en``, ``es``); None: the hub's, and on the page their browser's."""

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.name)

    @property
    def limits(self) -> PersonLimits:
        return PersonLimits(max_tlp=self.max_tlp, read_only=self.read_only, admin=self.admin)

    def rights(self, stakeholder: Principal) -> Principal:
        """What they may do: ``stakeholder``'s rights narrowed by their limits (the policy's rule)."""
        return person_rights(stakeholder, self.actor, self.limits)

    def record(self) -> dict[str, Any]:
        """The JSON the store keeps."""
        out = asdict(self)
        out["max_tlp"] = self.max_tlp.token if self.max_tlp is not None else None
        return out

    def public(self, stakeholder_name: str) -> dict[str, Any]:
        """What anyone signed in may see of them."""
        return {"id": self.id, "name": self.name, "stakeholder": self.stakeholder, "stakeholder_name": stakeholder_name}

    def admin_view(self, stakeholder_name: str) -> dict[str, Any]:
        """What an administrator sees: everything but credentials."""
        return {**self.public(stakeholder_name), **self.record()}


def from_record(record: Mapping[str, Any]) -> Person:
    """A person from :meth:`Person.record`'s JSON."""
    max_tlp = record.get("max_tlp")
    return Person(
        id=str(record["id"]),
        stakeholder=str(record["stakeholder"]),
        name=str(record["name"]),
        email=str(record.get("email", "")),
        subject=str(record.get("subject", "")),
        max_tlp=TLP.parse(max_tlp) if max_tlp else None,
        read_only=bool(record.get("read_only", False)),
        admin=bool(record.get("admin", False)),
        disabled=bool(record.get("disabled", False)),
        origin="admin" if record.get("origin") == "admin" else "config",
        language=record.get("language") or None,
    )


def from_config(person_id: str, entry: Mapping[str, Any]) -> Person:
    """A ``[people.<id>]`` entry (already checked against the config schema)."""
    return from_record({**entry, "id": person_id, "origin": "config"})


def merge(configured: Iterable[Person], stored: Iterable[Person]) -> dict[str, Person]:
    """Everyone, by id: the configured people (disabled if the store says so), then those admins added."""
    people = {person.id: person for person in configured}
    for person in stored:
        current = people.get(person.id)
        if current is None:
            # One an admin added; the stored state of a configured person the config no longer names is not one.
            if person.origin == "admin":
                people[person.id] = person
        elif current.origin == "config":
            # The store only switches them off, and keeps the language they chose on the page.
            people[person.id] = replace(current, disabled=person.disabled, language=person.language or current.language)
    return people


def find_by_claim(people: Iterable[Person], stakeholder: str, claim: str, value: str) -> Person | None:
    """The person of ``stakeholder`` whose ``email`` (any letter case) or ``subject`` is ``value``."""
    for person in people:
        if person.stakeholder != stakeholder:
            continue
        if claim == "email" and person.email and person.email.casefold() == value.casefold():
            return person
        if claim == "sub" and person.subject and person.subject == value:
            return person
    return None


def person_errors(person_id: str, entry: Mapping[str, Any], stakeholders: Mapping[str, Principal]) -> list[str]:
    """What is wrong with a person the schema let through: an unknown stakeholder, wider rights than it."""
    where = f"people.{person_id}"
    holder = stakeholders.get(str(entry.get("stakeholder")))
    if holder is None:
        return [f"{where}.stakeholder: no stakeholder named {entry.get('stakeholder')!r}"]
    if entry.get("admin") and not holder.admin:
        return [f"{where}.admin: {holder.id} does not administer; a person's rights are never wider than theirs"]
    return []
