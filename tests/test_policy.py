"""The visibility policy: table tests and Hypothesis properties. Pure: no loop, no Redis."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.config import load_config
from hub.policy import (
    ChannelRule,
    Destination,
    Grant,
    Principal,
    channel_destination,
    channel_rights,
    expected_acknowledgers,
    highest_ceiling,
    interfaces,
    may_administer,
    may_delete,
    may_delete_from,
    may_leave,
    may_list_stakeholders,
    may_push_exercise,
    may_read,
    may_read_channel,
    may_see_channel,
    may_see_status,
    may_use,
    may_write,
    may_write_channel,
    principal_from_roles,
    read_key,
    readable_channels,
)
from hub.tlp import TLP

CONFIG = load_config(None)
P = CONFIG.principals
CHANNELS = ["committee", "sector.energy", "sector.finance", "partners", "public", "elsewhere"]


@dataclass(frozen=True)
class Ev:
    channel: str
    tlp: TLP


@pytest.mark.parametrize(
    "who, channel, tlp, allowed",
    [
        ("cidge", "sector.finance", TLP.RED, True),
        ("banxico", "sector.finance", TLP.AMBER_STRICT, True),
        ("banxico", "sector.finance", TLP.RED, False),
        ("banxico", "sector.energy", TLP.CLEAR, False),
        ("pemex", "sector.energy", TLP.AMBER, True),
        ("cert-mx", "sector.energy", TLP.RED, True),
        ("cert-mx", "partners", TLP.CLEAR, False),
        ("partner-cert", "partners", TLP.GREEN, True),
        ("partner-cert", "partners", TLP.AMBER, False),
        ("partner-cert", "public", TLP.CLEAR, True),
        ("observer", "public", TLP.CLEAR, True),
        ("observer", "public", TLP.GREEN, False),
        ("observer", "committee", TLP.CLEAR, False),
    ],
)
def test_read_table(who: str, channel: str, tlp: TLP, allowed: bool) -> None:
    decision = may_read(P[who], Ev(channel, tlp))
    assert decision.allowed is allowed and bool(decision) is allowed
    assert decision.reason


@pytest.mark.parametrize(
    "who, channel, tlp, allowed",
    [
        ("banxico", "sector.finance", TLP.RED, True),
        ("banxico", "sector.energy", TLP.GREEN, False),
        ("cidge", "public", TLP.CLEAR, True),
        ("cidge", "public", TLP.GREEN, False),
        ("observer", "public", TLP.CLEAR, False),
        ("partner-cert", "partners", TLP.GREEN, True),
    ],
)
def test_write_table(who: str, channel: str, tlp: TLP, allowed: bool) -> None:
    assert bool(may_write(P[who], CONFIG.channels[channel].rule, tlp)) is allowed


@pytest.mark.parametrize(
    "tlp, destination, allowed",
    [
        (TLP.RED, Destination("channel", "sector.finance", TLP.RED), True),  # its own channel
        (TLP.RED, Destination("channel", "committee", TLP.RED), False),
        (TLP.AMBER_STRICT, Destination("partner", "eu-cert", TLP.RED), False),
        (TLP.AMBER, Destination("partner", "eu-cert", TLP.GREEN), False),
        (TLP.AMBER, Destination("channel", "committee", TLP.AMBER_STRICT), True),
        (TLP.GREEN, Destination("partner", "eu-cert", TLP.GREEN), True),
        (TLP.GREEN, Destination("channel", "public", TLP.CLEAR), False),
        (TLP.CLEAR, Destination("channel", "public", TLP.CLEAR), True),
    ],
)
def test_leave_table(tlp: TLP, destination: Destination, allowed: bool) -> None:
    assert bool(may_leave(Ev("sector.finance", tlp), destination)) is allowed


@pytest.mark.parametrize(
    "exercise, opted_in, allowed",
    [(False, False, True), (False, True, True), (True, False, False), (True, True, True)],
)
def test_exercise_content_leaves_only_for_a_partner_that_opts_in(exercise: bool, opted_in: bool, allowed: bool) -> None:
    decision = may_push_exercise(exercise, Destination("partner", "eu-cert", TLP.RED), opted_in=opted_in)
    assert bool(decision) is allowed
    assert "eu-cert" in decision.reason or not exercise


def test_channel_destination_is_as_cleared_as_its_least_cleared_reader() -> None:
    assert channel_destination("public", P).min_ceiling == TLP.CLEAR
    assert channel_destination("partners", P).min_ceiling == TLP.GREEN
    assert channel_destination("committee", P).min_ceiling == TLP.AMBER_STRICT


def test_reading_a_channel_needs_the_right_to_read_it() -> None:
    assert may_read_channel(P["banxico"], "sector.finance")
    assert not may_read_channel(P["banxico"], "sector.energy")


@pytest.mark.parametrize(
    "who, allowed",
    [("cidge", True), ("banxico", True), ("observer", True), ("partner-cert", False)],
)
def test_the_stakeholder_directory_is_for_whoever_may_use_the_api(who: str, allowed: bool) -> None:
    assert bool(may_list_stakeholders(P[who])) is allowed
    assert ("api" in P[who].access) is allowed  # the partner is TAXII-only


tlps = st.sampled_from(list(TLP))
channels = st.sampled_from(CHANNELS)
principals = st.builds(
    lambda read, write: Principal("p", "P", None, (), read, frozenset(write)),
    st.dictionaries(channels, tlps),
    st.frozensets(channels),
)
destinations = st.builds(Destination, st.sampled_from(["channel", "partner"]), channels, tlps)


@given(principals, channels, tlps)
def test_nothing_above_a_readers_ceiling_is_readable(principal: Principal, channel: str, tlp: TLP) -> None:
    ceiling = principal.ceiling(channel)
    if ceiling is not None and tlp > ceiling:
        assert not may_read(principal, Ev(channel, tlp))


@given(principals, channels, tlps)
def test_nothing_is_readable_on_a_channel_one_may_not_read(principal: Principal, channel: str, tlp: TLP) -> None:
    if channel not in principal.read:
        assert not may_read(principal, Ev(channel, tlp))


@given(principals, channels, tlps)
def test_everything_within_the_ceiling_of_a_readable_channel_is_readable(
    principal: Principal, channel: str, tlp: TLP
) -> None:
    ceiling = principal.ceiling(channel)
    if ceiling is not None and tlp <= ceiling:
        assert may_read(principal, Ev(channel, tlp))


@given(channels, st.sampled_from([TLP.RED, TLP.AMBER_STRICT]), destinations)
def test_red_and_amber_strict_never_leave_their_channel(channel: str, tlp: TLP, destination: Destination) -> None:
    leaves = destination.kind != "channel" or destination.name != channel
    if leaves:
        assert not may_leave(Ev(channel, tlp), destination)


@given(channels, tlps, destinations)
def test_nothing_goes_where_a_recipient_is_not_cleared_for_it(channel: str, tlp: TLP, destination: Destination) -> None:
    same = destination.kind == "channel" and destination.name == channel
    if not same and destination.min_ceiling < tlp:
        assert not may_leave(Ev(channel, tlp), destination)


@given(channels, destinations)
def test_clear_goes_anywhere(channel: str, destination: Destination) -> None:
    assert may_leave(Ev(channel, TLP.CLEAR), destination)


@given(principals, channels, tlps)
def test_nobody_writes_a_channel_they_may_not_write(principal: Principal, channel: str, tlp: TLP) -> None:
    if channel not in principal.write:
        assert not may_write(principal, ChannelRule(channel), tlp)


COMMITTEE = sorted(p for p in P if "committee" in P[p].write)


def test_the_lead_the_affected_and_the_committee_are_awaited_to_acknowledge() -> None:
    awaited = expected_acknowledgers(P.values(), Ev("committee", TLP.AMBER), "cert-mx", ["pemex"], "committee")
    assert awaited == sorted({"cert-mx", "pemex", *COMMITTEE})


def test_nobody_is_awaited_to_acknowledge_what_they_may_not_see() -> None:
    awaited = expected_acknowledgers(
        P.values(), Ev("committee", TLP.RED), "cert-mx", ["pemex", "observer"], "committee"
    )
    assert awaited == sorted({"cert-mx", *COMMITTEE})  # pemex is AMBER+STRICT there, observer does not read it


def test_an_unknown_affected_stakeholder_is_not_awaited() -> None:
    awaited = expected_acknowledgers(P.values(), Ev("committee", TLP.CLEAR), "cidge", ["nobody"], "committee")
    assert awaited == COMMITTEE


@given(principals, channels, tlps)
def test_events_with_equal_read_keys_get_the_same_read_answer(principal: Principal, channel: str, tlp: TLP) -> None:
    @dataclass(frozen=True)
    class Other:  # the same marking on another kind of object
        channel: str
        tlp: TLP
        source: str

    first, second = Ev(channel, tlp), Other(channel, tlp, "someone")
    assert read_key(first) == read_key(second)
    assert bool(may_read(principal, first)) is bool(may_read(principal, second))


@given(channels, tlps, channels, tlps)
def test_read_keys_tell_apart_events_the_policy_tells_apart(c1: str, t1: TLP, c2: str, t2: TLP) -> None:
    if (c1, t1) != (c2, t2):
        assert read_key(Ev(c1, t1)) != read_key(Ev(c2, t2))


@pytest.mark.parametrize(
    "who, interface, allowed",
    [("partner-cert", "taxii", True), ("partner-cert", "api", False), ("partner-cert", "stream", False),
     ("observer", "stream", True), ("cidge", "api", True)],
)  # fmt: skip
def test_an_interface_is_for_those_whose_roles_allow_it(who: str, interface: str, allowed: bool) -> None:
    assert bool(may_use(P[who], interface)) is allowed


def test_a_refused_interface_says_which_ones_are_allowed() -> None:
    assert may_use(P["partner-cert"], "api").reason == "partner-cert may not use the api interface (allowed: taxii)"
    nobody = principal_from_roles("x", "X", None, (), [])
    assert may_use(nobody, "stream").reason == "x may not use the stream interface (allowed: none)"


def test_only_administrators_administer() -> None:
    assert may_administer(P["cidge"])
    refused = may_administer(P["sspc"])
    assert not refused and refused.reason == "sspc is not an administrator"


@pytest.mark.parametrize(
    "who, channel, writes, sees",
    [("banxico", "sector.finance", True, True), ("banxico", "committee", False, True),
     ("banxico", "sector.energy", False, False), ("observer", "public", False, True),
     ("partner-cert", "partners", True, True), ("partner-cert", "committee", False, False)],
)  # fmt: skip
def test_channel_level_write_and_visibility(who: str, channel: str, writes: bool, sees: bool) -> None:
    assert bool(may_write_channel(P[who], channel)) is writes
    assert bool(may_see_channel(P[who], channel)) is sees


def test_a_refused_channel_write_names_who_and_where() -> None:
    assert may_write_channel(P["banxico"], "committee").reason == "banxico may not write channel committee"


def test_rights_on_a_channel_name_the_ceiling_where_one_may_read() -> None:
    rights = channel_rights(P["banxico"], "sector.finance")
    assert (rights.read, rights.write, rights.ceiling, rights.visible) == (True, True, TLP.AMBER_STRICT, True)
    rights = channel_rights(P["banxico"], "sector.energy")
    assert (rights.read, rights.write, rights.ceiling, rights.visible) == (False, False, None, False)


@pytest.mark.parametrize(
    "who, ceiling",
    [("cidge", TLP.RED), ("banxico", TLP.AMBER_STRICT), ("partner-cert", TLP.GREEN), ("observer", TLP.CLEAR)],
)
def test_the_highest_ceiling_is_the_highest_over_every_channel(who: str, ceiling: TLP) -> None:
    assert highest_ceiling(P[who]) is ceiling


def test_who_reads_nothing_has_no_ceiling() -> None:
    assert highest_ceiling(principal_from_roles("x", "X", None, (), [Grant(write=("public",))])) is None


@pytest.mark.parametrize(
    "who, creator, allowed", [("banxico", "banxico", True), ("pemex", "banxico", False), ("cidge", "banxico", True)]
)
def test_a_status_is_for_its_creator_and_administrators(who: str, creator: str, allowed: bool) -> None:
    assert bool(may_see_status(P[who], creator)) is allowed


def test_deleting_needs_both_read_and_write_on_the_collection() -> None:
    assert may_delete_from(P["banxico"], "sector.finance")
    refused = may_delete_from(P["banxico"], "committee")  # readable, not writable
    assert not refused and refused.reason == "deleting needs both read and write access to collection committee"


@pytest.mark.parametrize(
    "who, sources, allowed",
    [("banxico", ["banxico", "banxico"], True), ("banxico", ["banxico", "cert-mx"], False),
     ("cidge", ["banxico", "cert-mx"], True), ("sspc", ["cidge"], False)],
)  # fmt: skip
def test_one_deletes_only_its_own_versions_unless_an_administrator(who: str, sources: list[str], allowed: bool) -> None:
    decision = may_delete(P[who], sources)
    assert bool(decision) is allowed
    if not allowed:
        assert decision.reason == f"{who} may delete only versions it added itself"


def test_roles_combine_into_their_union_at_the_highest_ceiling() -> None:
    grants = [
        Grant(read=("a", "b"), write=("a",), tlp=TLP.GREEN, access=frozenset({"api"})),
        Grant(read=("b", "c"), write=("c",), tlp=TLP.AMBER, admin=True, access=frozenset({"taxii"})),
    ]
    principal = principal_from_roles("x", "X", "energy", ("one", "two"), grants)
    assert dict(principal.read) == {"a": TLP.GREEN, "b": TLP.AMBER, "c": TLP.AMBER}
    assert principal.write == {"a", "c"} and principal.admin and principal.access == {"api", "taxii"}
    assert (principal.id, principal.name, principal.sector, principal.roles) == ("x", "X", "energy", ("one", "two"))


def test_without_roles_there_are_no_rights() -> None:
    principal = principal_from_roles("x", "X", None, (), [])
    assert not principal.read and not principal.write and not principal.admin and not principal.access


grants = st.builds(
    Grant,
    st.tuples(channels, channels),
    st.tuples(channels),
    tlps,
    st.booleans(),
    st.frozensets(st.sampled_from(["api", "stream", "taxii"])),
)


@given(st.lists(grants, max_size=4), channels, tlps)
def test_one_reads_what_some_role_lets_it_read(given_grants: list[Grant], channel: str, tlp: TLP) -> None:
    principal = principal_from_roles("x", "X", None, (), given_grants)
    expected = any(channel in g.read and tlp <= g.tlp for g in given_grants)
    assert bool(may_read(principal, Ev(channel, tlp))) is expected


@given(principals, channels, tlps)
def test_writing_at_some_tlp_needs_the_right_to_write_the_channel(principal: Principal, channel: str, tlp: TLP) -> None:
    if may_write(principal, ChannelRule(channel), tlp):
        assert may_write_channel(principal, channel)


@given(principals, channels)
def test_channel_rights_agree_with_the_decisions(principal: Principal, channel: str) -> None:
    rights = channel_rights(principal, channel)
    assert rights.read is bool(may_read_channel(principal, channel))
    assert rights.write is bool(may_write_channel(principal, channel))
    assert rights.visible is bool(may_see_channel(principal, channel))
    assert rights.ceiling == principal.ceiling(channel)


@given(principals, channels)
def test_the_readable_channels_are_those_one_may_read(principal: Principal, channel: str) -> None:
    assert (channel in readable_channels(principal)) is bool(may_read_channel(principal, channel))


def test_the_interfaces_are_those_one_may_use_sorted() -> None:
    for principal in P.values():
        assert interfaces(principal) == sorted(k for k in ("api", "stream", "taxii") if may_use(principal, k))
    assert interfaces(P["partner-cert"]) == ["taxii"]
