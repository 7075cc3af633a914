"""Objects the hub derives carry the most restrictive TLP of what they quote and go only where it may go. Pure.

Properties over every marking form (TLP 2.0 and 1.0 ids, any letter case,
object-level and granular) and over the demo committee's channels.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.config import load_config
from hub.crisis import objects
from hub.policy import Level, channel_destination, derived_tlp, may_derive, may_leave
from hub.stix import tlp_of
from hub.tlp import TLP, TLP1_MARKING_IDS, TLP2_MARKING_IDS

CONFIG = load_config(None)
CHANNELS = sorted(CONFIG.channels)
LEVELS = list(TLP)


@st.composite
def marking_ids(draw: st.DrawFn) -> tuple[TLP, str]:
    """A TLP level and one of the ids that say it, in any letter case."""
    level = draw(st.sampled_from(LEVELS))
    ids = [TLP2_MARKING_IDS[level], *([TLP1_MARKING_IDS[level]] if level in TLP1_MARKING_IDS else [])]
    mid = draw(st.sampled_from(ids))
    return level, draw(st.sampled_from([mid, mid.upper().replace("MARKING-DEFINITION", "marking-definition")]))


@st.composite
def marked_actions(draw: st.DrawFn) -> tuple[dict[str, Any], TLP]:
    """An overdue action item with any marking form, and the TLP the hub gives it in its channel."""
    action = objects.new_action(
        "incident--0a3a9b5e-6c3e-4d0e-9e7a-4c1f2b8d5e99",
        {"assignee": "pemex", "name": "Isolate the refinery network", "due": "2026-01-01T00:00:00Z"},
        "cidge",
        ["pemex"],
    )
    whole = draw(st.lists(marking_ids(), max_size=2))
    parts = draw(st.lists(marking_ids(), max_size=2))
    if whole:
        action["object_marking_refs"] = [mid for _, mid in whole]
    if parts:
        action["granular_markings"] = [{"marking_ref": mid, "selectors": ["name"]} for _, mid in parts]
    default = draw(st.sampled_from(LEVELS))
    levels = [level for level, _ in (*whole, *parts)]
    return action, max(levels) if levels else default


@given(marked_actions())
def test_an_escalation_is_never_less_restrictive_than_the_action_it_quotes(case: tuple[dict[str, Any], TLP]) -> None:
    action, level = case
    assert tlp_of(action) in (level, None)  # the hub reads every marking form
    version, note = objects.escalated(action, level)
    assert tlp_of(note) == level and (tlp_of(version) or level) >= level
    assert version["id"] == action["id"] and version.get("granular_markings") == action.get("granular_markings")


@given(marked_actions(), st.sampled_from(LEVELS))
def test_a_sitrep_revision_keeps_the_previous_markings_unless_raised(
    case: tuple[dict[str, Any], TLP], asked: TLP
) -> None:
    previous, level = case
    previous = {**previous, "type": "report", "id": "report--0a3a9b5e-6c3e-4d0e-9e7a-4c1f2b8d5e98",
                "object_refs": [previous["crisis_ref"]], "published": previous["created"]}  # fmt: skip
    revised = objects.new_sitrep(previous["object_refs"][0], {"description": "next"}, previous)
    assert (tlp_of(revised) or level) >= level  # nothing asked: the previous markings stay
    revised = objects.new_sitrep(previous["object_refs"][0], {"tlp": asked.token}, previous)
    marked = tlp_of(revised)
    assert marked is not None and marked >= asked  # granular markings of the text carried forward stay
    # The policy refuses a revision marked below the previous version.
    committee = channel_destination("committee", CONFIG.principals)
    assert bool(may_derive([Level("committee", level)], committee, marked)) == (marked >= level)


@given(
    st.lists(st.tuples(st.sampled_from(CHANNELS), st.sampled_from(LEVELS)), max_size=4),
    st.sampled_from(CHANNELS),
    st.sampled_from(LEVELS),
)
def test_a_derived_object_is_allowed_only_at_or_above_all_it_quotes_and_where_all_of_it_may_go(
    quoted: list[tuple[str, TLP]], channel: str, tlp: TLP
) -> None:
    events = [Level(c, t) for c, t in quoted]
    destination = channel_destination(channel, CONFIG.principals)
    allowed = bool(may_derive(events, destination, tlp))
    assert allowed == all(tlp >= e.tlp and may_leave(e, destination) for e in events)
    if allowed:
        assert tlp >= derived_tlp(events)
        assert all(e.tlp < TLP.AMBER_STRICT or e.channel == channel for e in events)  # RED never leaves
    # Marked at the most restrictive level of what it quotes, it is refused only for where it goes.
    assert bool(may_derive(events, destination, derived_tlp(events))) == all(may_leave(e, destination) for e in events)
