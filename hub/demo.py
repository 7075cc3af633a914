"""``crisis-hub demo``: a national cyber crisis played out on a live hub.

Ransomware hits the state oil company's refineries (EKANS-like, from MITRE
ATT&CK for ICS), the national CERT leads, connections to the same command and
control servers appear at a commercial bank, the committee raises the
severity, assigns actions — one of which runs overdue and is escalated — and
publishes sitreps; institutions acknowledge. The scenario talks to the hub
over its own HTTP API, as each stakeholder, exactly as their tools would.
It takes about a minute at ``speed`` 1, then keeps the room alive with new
sightings every little while.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
import random
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from connectors.client import HubClient
from hub.crisis.model import now_stix
from hub.tlp import TLP

log = logging.getLogger(__name__)

CRISIS_NAME = "Ransomware at the state oil company"
C2 = ["203.0.113.77", "198.51.100.23", "192.0.2.146"]
SAMPLE_SHA256 = "e5262db186c97bbe533f0a674b08ecdafa3798ea7bc17c705df526419c168b60"


def _indicator(name: str, pattern: str, tlp: TLP, *, description: str = "") -> dict[str, Any]:
    now = now_stix()
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "name": name,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": now,
        "indicator_types": ["malicious-activity"],
        "object_marking_refs": [tlp.marking_id],
    }
    if description:
        obj["description"] = description
    return obj


def _sighting(of: str, tlp: TLP, count: int) -> dict[str, Any]:
    now = now_stix()
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "sighting_of_ref": of,
        "count": count,
        "first_seen": now,
        "last_seen": now,
        "object_marking_refs": [tlp.marking_id],
    }


def _bundle(*objects: Mapping[str, Any]) -> bytes:
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)})


def attack_subset() -> bytes:
    return importlib.resources.files("hub").joinpath("demo_data/ics-attack-ekans.json").read_bytes()


class Scenario:
    """Plays the crisis against the hub at ``url`` with one token per stakeholder."""

    def __init__(self, url: str, tokens: Mapping[str, str], speed: float = 1.0) -> None:
        self.url = url
        self.tokens = dict(tokens)
        self.speed = speed
        self.clients: dict[str, HubClient] = {}
        self.crisis_id = ""
        self.indicators: list[dict[str, Any]] = []

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    def as_(self, who: str) -> HubClient:
        return self.clients[who]

    async def run(self, *, keep_alive: bool = True) -> None:
        for who, token in self.tokens.items():
            self.clients[who] = await HubClient(self.url, token).__aenter__()
        try:
            existing = await self.as_("cidge").call("GET", "/api/v1/crises")
            if any(c["name"] == CRISIS_NAME for c in existing["crises"]):
                log.info("the demo crisis is already on this hub: only live activity is added")
                self.crisis_id = next(c["id"] for c in existing["crises"] if c["name"] == CRISIS_NAME)
            else:
                await self.play()
            while keep_alive:
                await self.pause(20)
                await self.new_sighting()
        finally:
            for client in self.clients.values():
                await client.__aexit__(None, None, None)

    async def step(self, text: str) -> None:
        log.info("demo: %s", text)

    async def update(self, who: str, channel: str, content: str, abstract: str, tlp: str | None = None) -> None:
        body: dict[str, Any] = {"content": content, "abstract": abstract, "channel": channel}
        if tlp:
            body["tlp"] = tlp
        await self.as_(who).call("POST", f"/api/v1/crises/{self.crisis_id}/updates", body)

    async def ack(self, who: str, item: str) -> None:
        await self.as_(who).call("POST", f"/api/v1/crises/{self.crisis_id}/acks", {"item": item})

    async def play(self) -> None:
        c = self.as_
        await self.step("PEMEX shares the ATT&CK profile of EKANS and first indicators")
        await c("pemex").post("sector.energy", attack_subset())
        self.indicators = [_indicator(f"Ransomware C2 {ip}", f"[ipv4-addr:value = '{ip}']", TLP.AMBER) for ip in C2] + [
            _indicator(
                "Ransomware sample",
                f"[file:hashes.'SHA-256' = '{SAMPLE_SHA256}']",
                TLP.AMBER,
                description="Encryptor found on HMI workstations; kills ICS processes before encrypting.",
            )
        ]
        await c("pemex").post(
            "sector.energy", _bundle(*self.indicators, _sighting(self.indicators[0]["id"], TLP.AMBER, 14))
        )
        await self.pause(3)

        await self.step("the committee declares the crisis")
        crisis = await c("cidge").call(
            "POST",
            "/api/v1/crises",
            {
                "name": CRISIS_NAME,
                "severity": 2,
                "category": "malicious-code",
                "subcategory": "infected-system",
                "status": "detected",
                "lead": "cert-mx",
                "affected_sectors": ["energy"],
                "affected_stakeholders": ["pemex"],
                "description": "Ransomware encrypting operator workstations at two refineries of the oil company.",
            },
        )
        self.crisis_id = crisis["id"]
        await self.pause(3)
        await self.update(
            "pemex",
            "sector.energy",
            "HMI workstations encrypted at the Salina Cruz and Tula refineries. Refinery OT segments "
            "being isolated from corporate IT; production continues on manual control.",
            "Two refineries hit",
        )
        await self.pause(2)
        await self.update(
            "cert-mx",
            "sector.energy",
            "The sample matches EKANS (ATT&CK S0605): it stops ICS services before encrypting. "
            "Three C2 addresses identified; indicators shared on the energy channel.",
            "Malware identified as EKANS",
        )
        for who in ("sspc", "cnpc", "pemex"):
            await self.ack(who, self.crisis_id)
        await self.pause(3)

        await self.step("actions assigned; one of them will run overdue")
        await c("cidge").call(
            "POST",
            f"/api/v1/crises/{self.crisis_id}/actions",
            {
                "assignee": "pemex",
                "name": "Isolate refinery OT networks from corporate IT",
                "in_minutes": 0.5 / self.speed,
            },
        )
        share = await c("cidge").call(
            "POST",
            f"/api/v1/crises/{self.crisis_id}/actions",
            {
                "assignee": "cert-mx",
                "name": "Share the C2 indicators with partner CERTs (TLP:GREEN)",
                "in_minutes": 60,
            },
        )
        await self.pause(3)

        await self.step("the same C2 servers show up at a bank")
        green = [
            {**i, "id": f"indicator--{uuid.uuid4()}", "object_marking_refs": [TLP.GREEN.marking_id]}
            for i in self.indicators[:3]
        ]
        await c("cert-mx").post("sector.finance", _bundle(*green))
        await c("banxico").post("sector.finance", _bundle(_sighting(green[1]["id"], TLP.AMBER, 3)))
        await self.update(
            "banxico",
            "sector.finance",
            "Outbound connections to two of the C2 addresses from branch networks of a commercial bank. "
            "Payment systems unaffected so far; the bank's SOC has blocked the addresses.",
            "C2 traffic seen in the financial sector",
        )
        await self.pause(2)
        await c("cidge").call(
            "PATCH",
            f"/api/v1/crises/{self.crisis_id}",
            {
                "severity": 3,
                "status": "assessing",
                "affected_sectors": ["energy", "finance"],
                "affected_stakeholders": ["pemex", "banxico"],
            },
        )
        for who in ("sedena", "banxico", "cert-mx"):
            await self.ack(who, self.crisis_id)
        await self.pause(2)

        await self.step("first sitrep")
        updates = await c("cidge").call("GET", f"/api/v1/crises/{self.crisis_id}/updates")
        refs = [e["object"]["id"] for e in updates["events"]]
        await c("cidge").call(
            "POST",
            f"/api/v1/crises/{self.crisis_id}/sitreps",
            {
                "name": "Sitrep 1 — refinery ransomware",
                "description": "EKANS-like ransomware at two refineries; C2 traffic at one bank. "
                "Severity raised to High. Lead: national CERT. Next sitrep in one hour.",
                "object_refs": refs,
            },
        )
        actions = await c("pemex").call("GET", f"/api/v1/crises/{self.crisis_id}/actions")
        isolate = next(a for a in actions["actions"] if a["assignee"] == "pemex")
        await c("pemex").call(
            "PATCH",
            f"/api/v1/crises/{self.crisis_id}/actions/{isolate['id']}",
            {"status": "accepted", "comment": "Working on it with the refinery OT teams."},
        )
        await c("cert-mx").call(
            "PATCH", f"/api/v1/crises/{self.crisis_id}/actions/{share['id']}", {"status": "in-progress"}
        )
        await self.pause(4)
        await self.update(
            "cfe",
            "sector.energy",
            "Precautionary: remote access to substations suspended; no sign of the C2 addresses.",
            "Electricity grid on alert",
        )
        await self.ack("cfe", self.crisis_id)
        await self.pause(8)

        await self.step("severity raised to Severe; containment")
        await c("cidge").call("PATCH", f"/api/v1/crises/{self.crisis_id}", {"severity": 4, "status": "containing"})
        await c("cert-mx").call(
            "PATCH",
            f"/api/v1/crises/{self.crisis_id}/actions/{share['id']}",
            {"status": "completed", "comment": "Shared with partner CERTs on the partners channel."},
        )
        await self.pause(3)
        for who in ("sspc", "pemex"):
            await self.ack(who, self.crisis_id)
        await self.step("the scenario is in place; live sightings follow")

    async def new_sighting(self) -> None:
        """A fresh sighting of a C2 indicator by the oil company: the room stays alive."""
        if not self.indicators:
            return
        indicator = random.choice(self.indicators)
        await self.as_("pemex").post(
            "sector.energy", _bundle(_sighting(indicator["id"], TLP.AMBER, random.randint(1, 9)))
        )
