"""Pushing a channel to a partner's TAXII 2.1 collection: only what may leave, each event once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from hub.crisis import objects as crisis_objects
from hub.stix import validate
from hub.tlp import TLP
from tests.conftest import Hub
from tests.federation.conftest import Local, spec
from tests.stixgen import indicator
from tests.taxii.helpers import blocking, collection, collection_url
from tests.timing import WAIT

TOKEN_ENV = "TEST_PARTNER_TOKEN"


@pytest.fixture
def env(hub: Hub) -> dict[str, str]:
    return {TOKEN_ENV: hub.tokens["partner-cert"]}


def push_spec(hub: Hub, **settings: Any) -> Any:
    return spec(
        "to-partner", "taxii-push", collection_url(hub, "partners"), "committee", token_env=TOKEN_ENV, timeout=WAIT,
        **settings,
    )  # fmt: skip


async def post_local(local: Local, channel: str, *objects: dict[str, Any]) -> list[str]:
    """Store ``objects`` in the local hub's ``channel`` as a committee member would."""
    submission = validate(list(objects), local.config.channels[channel].default_tlp)
    assert not submission.rejected
    await local.store.append(channel, "sspc", submission.items)
    return [o["id"] for o in objects]


async def partner_objects(hub: Hub) -> list[dict[str, Any]]:
    found = await blocking(lambda: collection(hub, "cidge", "partners").get_objects(version="all"))
    return list(found.get("objects", []))


async def test_only_clear_and_green_leave_for_a_green_partner(hub: Hub, local: Local, env: dict[str, str]) -> None:
    levels = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
    marked = [indicator(level) for level in levels]
    ids = await post_local(local, "committee", *marked, indicator())  # the last one takes committee's AMBER
    push = await local.push(push_spec(hub), env)
    assert await push.forward() == 2
    assert [o["id"] for o in await partner_objects(hub)] == ids[:2]
    assert (push.status.moved, push.status.withheld) == (2, 4)
    assert push.status.checkpoint == (await local.events("committee"))[-1].id
    assert await push.forward() == 0  # nothing is sent twice


async def test_an_amber_partner_gets_amber_never_amber_strict_or_red(
    hub: Hub, local: Local, env: dict[str, str]
) -> None:
    levels = [TLP.RED, TLP.GREEN, TLP.AMBER_STRICT, TLP.AMBER]
    ids = await post_local(local, "committee", *(indicator(level) for level in levels), indicator())
    push = await local.push(push_spec(hub, tlp_ceiling=TLP.AMBER), env)
    await push.forward()
    arrived = await partner_objects(hub)
    assert [o["id"] for o in arrived] == [ids[1], ids[3], ids[4]]
    # The unmarked one was AMBER here (the channel's default): it leaves marked so, whatever the partner's default.
    assert arrived[-1]["object_marking_refs"] == [TLP.AMBER.marking_id]
    async with hub.client.get("/api/v1/channels/partners/events", headers=hub.auth("cidge")) as response:
        assert [e["tlp"] for e in (await response.json())["events"]] == ["green", "amber", "amber"]


async def test_a_restarted_push_resumes_after_the_last_forwarded_event(
    hub: Hub, local: Local, env: dict[str, str]
) -> None:
    first = await post_local(local, "committee", *(indicator(TLP.GREEN) for _ in range(3)))
    push = await local.push(push_spec(hub, page_size=2), env)
    await push.forward()
    await push.state.release()
    second = await post_local(local, "committee", indicator(TLP.GREEN), indicator(TLP.RED), indicator(TLP.GREEN))
    restarted = await local.push(push_spec(hub, page_size=2), env)
    assert await restarted.forward() == 2
    assert [o["id"] for o in await partner_objects(hub)] == first + [second[0], second[2]]


async def test_what_came_from_the_partner_is_not_sent_back(hub: Hub, local: Local, env: dict[str, str]) -> None:
    submission = validate([indicator(TLP.GREEN)], TLP.GREEN)
    await local.store.append("partners", "partner-cert", submission.items)  # pulled from that partner earlier
    ours = await post_local(local, "partners", indicator(TLP.GREEN))
    push = await local.push(spec("to-partner", "taxii-push", collection_url(hub, "partners"), "partners",
                                 token_env=TOKEN_ENV, stakeholder="partner-cert"), env)  # fmt: skip
    await push.forward()
    assert [o["id"] for o in await partner_objects(hub)] == ours


async def test_a_push_reads_as_its_stakeholder_nothing_above_its_ceiling_leaves(
    hub: Hub, local: Local, env: dict[str, str]
) -> None:
    """partner-cert reads partners up to GREEN: an AMBER event there stays, though the partner is cleared for AMBER."""
    ids = await post_local(local, "partners", indicator(TLP.GREEN), indicator(TLP.AMBER), indicator(TLP.CLEAR))
    amber_partner = push_spec(hub, stakeholder="partner-cert", tlp_ceiling=TLP.AMBER)
    push = await local.push(replace(amber_partner, channel="partners"), env)
    assert await push.forward() == 2
    assert [o["id"] for o in await partner_objects(hub)] == [ids[0], ids[2]]
    assert push.status.checkpoint == (await local.events("partners"))[-1].id  # past what it may not see


def exercise_and_real() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What a crisis workflow wrote for an exercise (and an indicator its players marked), and a real crisis."""
    stakeholders = ["cidge", "pemex"]
    objects_of: dict[bool, list[dict[str, Any]]] = {}
    for exercise in (True, False):
        fields = {"name": "Grid outage", "severity": 2, "category": "availability", "subcategory": "outage",
                  "status": "detected", **({"exercise": True} if exercise else {})}  # fmt: skip
        crisis = crisis_objects.new_crisis(fields, "cidge", TLP.GREEN)
        cid = crisis["id"]
        green = {"tlp": "green"}
        objects_of[exercise] = [
            crisis,
            crisis_objects.new_update(cid, {"content": "Substation down", **green}, "Committee", exercise=exercise),
            crisis_objects.new_sitrep(cid, {"name": "Sitrep 1", **green}, None, exercise=exercise),
            crisis_objects.new_action(
                cid,
                {"assignee": "pemex", "name": "Isolate", "in_minutes": 30, **green},
                "cidge",
                stakeholders,
                exercise=exercise,
            ),  # fmt: skip
        ]
    objects_of[True].append({**indicator(TLP.GREEN), "exercise": True})
    return objects_of[True], objects_of[False]


async def test_exercise_content_never_leaves_unless_the_connector_opts_in(
    hub: Hub, local: Local, env: dict[str, str]
) -> None:
    """A green partner: everything may leave by its TLP, but what an exercise wrote stays without ``exercises``."""
    exercise, real = exercise_and_real()
    submission = validate([*exercise, *real], TLP.GREEN)
    assert not submission.rejected
    await local.store.append("committee", "hub", submission.items)
    push = await local.push(push_spec(hub), env)
    await push.forward()
    sent = push.status.moved + push.status.rejected
    # The partner, a hub too, refuses crisis and action objects it did not write itself: they count as sent.
    assert (sent, push.status.withheld) == (len(real), len(exercise))
    arrived = {o["id"] for o in await partner_objects(hub)}
    assert not arrived & {o["id"] for o in exercise}
    assert arrived == {o["id"] for o in real if o["type"] in ("note", "report")}

    opted_in = await local.push(replace(push_spec(hub), name="drills-too", exercises=True), env)
    await opted_in.forward()
    sent = opted_in.status.moved + opted_in.status.rejected
    assert (sent, opted_in.status.withheld) == (len(exercise) + len(real), 0)
    arrived = {o["id"] for o in await partner_objects(hub)}
    assert arrived >= {o["id"] for o in exercise if o["type"] in ("note", "report", "indicator")}
