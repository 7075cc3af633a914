"""A person's rights, the people of the config and the store, and local sign-in's secrets. Pure: no loop, no Redis."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from hub import credentials
from hub.config import load_config, parse_config
from hub.errors import ConfigError
from hub.people import Person, find_by_claim, from_record, merge
from hub.policy import (
    Actor,
    Level,
    PersonLimits,
    may_administer,
    may_read,
    may_write_channel,
    needs_second_factor,
    person_rights,
)
from hub.tlp import TLP

CONFIG = load_config(None)

limits = st.builds(
    PersonLimits, max_tlp=st.one_of(st.none(), st.sampled_from(list(TLP))), read_only=st.booleans(), admin=st.booleans()
)


@given(stakeholder=st.sampled_from(sorted(CONFIG.principals)), limits=limits,
       channel=st.sampled_from(sorted(CONFIG.channels)), tlp=st.sampled_from(list(TLP)))  # fmt: skip
def test_a_persons_rights_are_never_wider_than_their_stakeholders(
    stakeholder: str, limits: PersonLimits, channel: str, tlp: TLP
) -> None:
    holder = CONFIG.principals[stakeholder]
    person = person_rights(holder, Actor("p", "P"), limits)
    if may_read(person, Level(channel, tlp)):
        assert may_read(holder, Level(channel, tlp))
    if may_write_channel(person, channel):
        assert may_write_channel(holder, channel)
    if may_administer(person):
        assert may_administer(holder)
    assert person.access <= holder.access and person.id == holder.id
    if limits.max_tlp is not None and may_read(person, Level(channel, tlp)):
        assert tlp <= limits.max_tlp


def test_who_reads_red_or_administers_needs_a_second_factor() -> None:
    assert needs_second_factor(CONFIG.principals["cidge"])  # committee: reads RED
    assert not needs_second_factor(CONFIG.principals["banxico"])  # institution: AMBER+STRICT at most
    capped = person_rights(CONFIG.principals["sedena"], Actor("p", "P"), PersonLimits(max_tlp=TLP.AMBER))
    assert not needs_second_factor(capped)


def test_the_store_may_disable_a_configured_person_but_not_change_their_rights() -> None:
    configured = Person("luis", "banxico", "Luis", read_only=True)
    stored = Person("luis", "banxico", "Someone else", admin=True, disabled=True, origin="admin")
    added = Person("mara", "cidge", "Mara", origin="admin")
    people = merge([configured], [stored, added])
    assert people["luis"] == Person("luis", "banxico", "Luis", read_only=True, disabled=True)
    assert people["mara"] == added


def test_a_record_round_trips() -> None:
    person = Person("mara", "cidge", "Mara", email="m@x.example", max_tlp=TLP.AMBER_STRICT, origin="admin")
    assert from_record(person.record()) == person


def test_people_are_found_by_email_in_any_case_or_by_subject_within_their_stakeholder() -> None:
    people = [Person("a", "banxico", "A", email="Ana@Bank.example"), Person("b", "cfe", "B", subject="s-1")]
    assert find_by_claim(people, "banxico", "email", "ana@bank.EXAMPLE") == people[0]
    assert find_by_claim(people, "cfe", "email", "ana@bank.example") is None
    assert find_by_claim(people, "cfe", "sub", "s-1") == people[1]
    assert find_by_claim(people, "banxico", "sub", "s-1") is None


def test_the_config_refuses_a_person_wider_than_their_stakeholder_or_of_no_stakeholder() -> None:
    text = CONFIG_TEXT + '\n[people.eve]\nstakeholder = "banxico"\nname = "Eve"\nadmin = true\n'
    text += '\n[people.zed]\nstakeholder = "nobody"\nname = "Zed"\n'
    try:
        parse_config(text, "test.toml")
    except ConfigError as exc:
        assert "people.eve.admin" in exc.description and "people.zed.stakeholder" in exc.description
    else:
        raise AssertionError("the config was accepted")


def test_a_one_time_code_counts_once_and_only_near_its_time() -> None:
    secret = credentials.new_totp_secret()
    now = time.time()
    step = credentials.accepted_step(secret, credentials.code_at(secret, now), -1, now)
    assert step is not None
    assert credentials.accepted_step(secret, credentials.code_at(secret, now), step, now) is None
    assert credentials.accepted_step(secret, credentials.code_at(secret, now - 600), -1, now) is None
    assert credentials.accepted_step(secret, "12345x", -1, now) is None


def test_a_password_is_kept_as_an_argon2id_hash_and_checked_against_it() -> None:
    hashed = credentials.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$") and "correct" not in hashed
    assert credentials.password_matches(hashed, "correct horse battery staple")
    assert not credentials.password_matches(hashed, "correct horse battery stapler")
    assert not credentials.password_matches("not a hash", "anything")
    assert credentials.password_problem("short") is not None


CONFIG_TEXT = """
[channels.committee]
title = "Committee"
default_tlp = "amber"

[roles.institution]
read = ["committee"]
write = ["committee"]
tlp = "amber"

[stakeholders.banxico]
name = "Central Bank"
roles = ["institution"]
"""


def test_a_person_taken_out_of_the_config_is_gone_whatever_the_store_kept_of_them() -> None:
    """The store keeps a configured person's state (disabled, the language chosen on the page): once the config
    no longer names them, that state must not bring them back as someone an admin added."""
    kept = Person("luis", "banxico", "Luis", admin=True, language="es", origin="config")
    assert "luis" not in merge([], [kept])
    assert merge([Person("luis", "banxico", "Luis")], [kept])["luis"].language == "es"
