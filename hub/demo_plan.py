"""The national crisis protocol in ``crisis-hub demo``: pushed, started, and played step by step.

The demo plays the shipped protocol (``hub/demo_data/national-protocol.json``)
on a demo clock: a copy with its own id, each minute of a step's timeout
played as a second (divided again by ``--speed``), so that within the first
minute every step is on the board and one of them runs late. The committee
starts it by hand when the severity is raised to High; the stakeholders then
complete their steps over the API, as their people would. Every act is
idempotent, like the rest of the scenario: a step already done is skipped.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import uuid
from typing import TYPE_CHECKING, Any

import orjson

from hub.plans.carrier import wrap
from hub.tlp import TLP

if TYPE_CHECKING:
    from hub.demo import Scenario

DEMO_PLAYBOOK = f"playbook--{uuid.uuid5(uuid.UUID('5d1c8a4e-2f0b-4c7e-9a36-8e1f0b2d7c41'), 'national protocol')}"
DEFAULT_STEP_MS = 60 * 60_000  # a step without a timeout: an hour, as the hub gives it
DONE = frozenset({"completed", "failed", "timed-out", "skipped"})
REACH_WAIT = 15.0  # seconds the hub gets to move the run to a step
POLL = 0.2


def demo_clock_plan(speed: float) -> bytes:
    """The national protocol on the demo clock: a minute of timeout is a second, divided by ``speed``."""
    text = importlib.resources.files("hub").joinpath("demo_data/national-protocol.json").read_bytes()
    playbook: dict[str, Any] = orjson.loads(text)
    playbook["id"] = DEMO_PLAYBOOK
    playbook["name"] = f"{playbook['name']} (demo clock: a minute is a second)"
    for step in playbook["workflow"].values():
        if step.get("type") == "action":
            step["timeout"] = max(1000, int(step.get("timeout", DEFAULT_STEP_MS) / 60 / speed))
    return orjson.dumps(playbook, option=orjson.OPT_INDENT_2)


class ProtocolActs:
    """The protocol's part in the scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    async def push(self) -> None:
        """The committee stores the protocol (a course-of-action in its channel), unless it is there."""
        coa = wrap(demo_clock_plan(self.scenario.speed), TLP.AMBER)
        await self.scenario.ensure("cidge", "committee", [coa])

    async def run(self) -> dict[str, Any] | None:
        s = self.scenario
        answer = await s.as_("cidge").call("GET", f"/api/v1/crises/{s.crisis_id}/plans")
        runs: list[dict[str, Any]] = answer["runs"]
        return next((r for r in runs if r["playbook"] == DEMO_PLAYBOOK), None)

    async def start(self) -> None:
        """The committee starts the protocol for the demo crisis, unless it runs already."""
        if await self.run() is None:
            s = self.scenario
            await s.as_("cidge").call("POST", f"/api/v1/crises/{s.crisis_id}/plans", {"plan": DEMO_PLAYBOOK})
            s._written()

    async def reached(self, step_name: str) -> dict[str, Any] | None:
        """The step named ``step_name`` once the hub has reached it (it moves the run on its own); None if it
        does not within :data:`REACH_WAIT` seconds."""
        for _ in range(int(REACH_WAIT / POLL)):
            run = await self.run()
            steps: list[dict[str, Any]] = run["steps"] if run else []
            step = next((x for x in steps if x["name"] == step_name), None)
            if step is not None and step["state"] != "pending":
                return step
            await asyncio.sleep(POLL)
        return None

    async def done(self, step_name: str, *stakeholders: str) -> None:
        """Each of ``stakeholders`` completes its item of the step named ``step_name``, if it has one open."""
        s = self.scenario
        step = await self.reached(step_name)
        if step is None or step["state"] in DONE:
            return
        for who, item in zip(step["assignees"], step["items"], strict=False):
            if who in stakeholders and who in step["waiting_on"]:
                path = f"/api/v1/crises/{s.crisis_id}/actions/{item}"
                await s.as_(who).call("PATCH", path, {"status": "completed", "comment": "Done."})
                s._written()
