"""Plans through the one write path, on a real hub: a broken playbook is refused, a good one is served as sent."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import orjson

from hub.plans.carrier import EXTENSION_ID, extension_definition, unwrap, wrap
from hub.tlp import TLP
from tests.conftest import Hub
from tests.stixgen import bundle
from tests.taxii.helpers import blocking, collection, envelope
from tests.test_api import post

CACAO_DATA = Path(__file__).parent.parent / "data" / "cacao"


def shipped() -> bytes:
    return importlib.resources.files("hub").joinpath("demo_data/national-protocol.json").read_bytes()


def broken() -> tuple[bytes, str]:
    """The shipped plan with its triage step's agent undefined; and where that is."""
    playbook = json.loads(shipped())
    triage = next(sid for sid, s in playbook["workflow"].items() if s.get("name") == "Detection and triage")
    playbook["workflow"][triage]["agent"] = "organization--00000000-0000-4000-8000-000000000000"
    return json.dumps(playbook, indent=1).encode(), f"workflow.{triage}.agent"


async def test_a_course_of_action_whose_playbook_is_broken_is_refused_with_where_and_why(hub: Hub) -> None:
    data, where = broken()
    coa = wrap(data, TLP.AMBER)
    status, answer = await post(hub, "cidge", "committee", bundle(extension_definition(), coa))
    assert status == 201 and [a["id"] for a in answer["accepted"]] == [EXTENSION_ID]
    [rejected] = answer["rejected"]
    assert rejected["id"] == coa["id"]
    assert rejected["reason"] == (
        f"course-of-action playbook: {where}: organization--00000000-0000-4000-8000-000000000000 "
        "is not in agent_definitions"
    )


async def test_a_partners_plan_naming_agents_unknown_here_is_stored_and_served_byte_for_byte(hub: Hub) -> None:
    playbook = json.loads(shipped())
    for agent in playbook["agent_definitions"].values():
        agent["name"] = f"{agent['name']} (abroad)"
    data = json.dumps(playbook, indent=4).encode()
    coa = wrap(data, TLP.GREEN)
    status, answer = await post(hub, "cidge", "committee", coa)
    assert status == 201 and answer["rejected"] == [] and [a["id"] for a in answer["accepted"]] == [coa["id"]]
    async with hub.client.get(f"/api/v1/objects/{coa['id']}", headers=hub.auth("banxico")) as response:
        assert response.status == 200
        found: dict[str, Any] = await response.json()
    assert unwrap(found["events"][0]["object"]) == data


async def test_taxii_serves_the_course_of_action_with_the_plan_inside(hub: Hub) -> None:
    data = shipped()
    coa = wrap(data, TLP.AMBER)
    status, answer = await post(hub, "cidge", "committee", coa)
    assert status == 201 and [a["id"] for a in answer["accepted"]] == [coa["id"]]
    envelope = await blocking(lambda: collection(hub, "cert-mx", "committee").get_object(coa["id"]))
    [served] = envelope["objects"]
    assert orjson.loads(orjson.dumps(served)) == coa and unwrap(served) == data


async def test_a_broken_plan_added_over_taxii_fails_with_the_same_reason(hub: Hub) -> None:
    data, where = broken()
    coa = wrap(data, TLP.AMBER)
    committee = collection(hub, "cidge", "committee")
    status = await blocking(lambda: committee.add_objects(envelope(coa), wait_for_completion=False))
    assert (status.success_count, status.failure_count) == (0, 1)
    [failure] = status.failures
    assert failure["id"] == coa["id"]
    assert failure["message"].startswith(f"object 0: course-of-action playbook: {where}: ")


async def test_the_published_example_whose_content_is_no_cacao_playbook_is_stored_as_it_is(hub: Hub) -> None:
    data = (CACAO_DATA / "bundle--b52036d3-4b50-4f29-bb5d-943f3417ff21.json").read_bytes()
    status, answer = await post(hub, "cidge", "committee", data)
    assert status == 201 and answer["rejected"] == [] and len(answer["accepted"]) == 3
    coa = "course-of-action--e06259ad-a154-4e23-bc0a-e229ccb3456f"
    async with hub.client.get(f"/api/v1/objects/{coa}", headers=hub.auth("cert-mx")) as response:
        found: dict[str, Any] = await response.json()
    assert unwrap(found["events"][0]["object"]) == b"Security Playbook"
