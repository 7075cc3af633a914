"""``crisis-hub demo``: a national cyber crisis played out on a live hub.

Ransomware hits the state oil company's refineries (EKANS-like, from MITRE
ATT&CK for ICS), the national CERT leads, connections to the same command and
control servers appear at a commercial bank, the committee raises the
severity, assigns actions — one of which runs overdue and is escalated — and
publishes sitreps; institutions acknowledge. The scenario talks to the hub
over its own HTTP API (and TAXII, for the partner), as each stakeholder,
exactly as their tools would.
It takes about a minute at ``speed`` 1, then keeps the room alive with new
sightings every little while.

The crisis also reaches outside the committee, within the policy: the
partner CERT posts exact copies of the national CERT's TLP:GREEN indicators
(the national CERT still owns them) to the ``partners`` collection over TAXII
and reports a sighting there, and the committee posts a TLP:CLEAR advisory to
``public``.

How resuming works: every step is idempotent and skipped when the hub already
has what it writes, so a scenario interrupted half-way is finished by the next
run, and a finished one is left alone. The objects the scenario posts itself
have ids derived from their role in the story (:func:`demo_id`), so a re-run
finds them; the crisis API's objects are found by name (the crisis, action
items, sitreps) or by author and abstract (updates); a crisis change is found
in the crisis's history; acknowledgments name the crisis version they are for
and are idempotent on the hub. Pauses are skipped while nothing is written.

The story is told in English or Spanish (``lang``, from ``crisis-hub demo
--lang``): every text a person reads — the crisis, the updates, the sitrep,
the action items and their comments, the advisory, the indicators' names, the
protocol's steps — is an English message of this module translated from the
catalog ``hub/locale/es/demo.po`` (the protocol's own texts are in
:mod:`hub.demo_plan`). A re-run in the same language finds everything by those
names. A run in the other language finds none of them, and no object of the
first either (the ids of a story in another language than English are derived
from their role *and* the language): it tells the story a second time, as a
second crisis beside the first, which it leaves untouched.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.client import TAXII, HubClient, HubClientError
from hub.crisis.objects import now_stix
from hub.demo_plan import ProtocolActs
from hub.i18n import DEFAULT, Translator, translator
from hub.tlp import TLP

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Names:
    """The names the scenario finds its objects by again, in one language."""

    crisis: str
    isolate: str
    share: str
    sitrep: str
    advisory: str


def names(tr: Translator) -> Names:
    """The story's names in ``tr``'s language."""
    return Names(
        crisis=tr("Ransomware at the state oil company"),
        isolate=tr("Isolate refinery OT networks from corporate IT"),
        share=tr("Share the C2 indicators with partner CERTs (TLP:GREEN)"),
        sitrep=tr("Sitrep 1 — refinery ransomware"),
        advisory=tr("Public advisory: ransomware at the state oil company"),
    )


_ENGLISH = names(translator(DEFAULT))
CRISIS_NAME = _ENGLISH.crisis
ISOLATE = _ENGLISH.isolate
SHARE = _ENGLISH.share
SITREP = _ENGLISH.sitrep
ADVISORY = _ENGLISH.advisory
C2 = ["203.0.113.77", "198.51.100.23", "192.0.2.146"]
SAMPLE_SHA256 = "e5262db186c97bbe533f0a674b08ecdafa3798ea7bc17c705df526419c168b60"
_DEMO_NAMESPACE = uuid.UUID("5d1c8a4e-2f0b-4c7e-9a36-8e1f0b2d7c41")
# How far along an action item is: a move to an earlier status has already been made.
_ACTION_PROGRESS = {"assigned": 0, "accepted": 1, "in-progress": 2, "completed": 3, "cancelled": 3}


class ScenarioError(Exception):
    """The hub refused a step of the scenario."""


def demo_id(stix_type: str, role: str, lang: str = DEFAULT) -> str:
    """The id of the object playing ``role`` in the story told in ``lang``: the same on every run, so a re-run
    finds it. English keeps the ids the story always had; another language's story has objects of its own."""
    return f"{stix_type}--{uuid.uuid5(_DEMO_NAMESPACE, role if lang == DEFAULT else f'{role} ({lang})')}"


def _indicator(
    name: str, pattern: str, tlp: TLP, *, description: str = "", stix_id: str | None = None
) -> dict[str, Any]:
    now = now_stix()
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id or f"indicator--{uuid.uuid4()}",
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


def _sighting(of: str, tlp: TLP, count: int, *, stix_id: str | None = None) -> dict[str, Any]:
    now = now_stix()
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "id": stix_id or f"sighting--{uuid.uuid4()}",
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
    """Plays the crisis against the hub at ``url`` with one token per stakeholder, in ``lang``; resumes where a run
    in that language stopped."""

    def __init__(self, url: str, tokens: Mapping[str, str], speed: float = 1.0, *, lang: str = DEFAULT) -> None:
        self.tr = translator(lang)
        self.names = names(self.tr)
        self.url = url
        self.tokens = dict(tokens)
        self.speed = speed
        self.clients: dict[str, HubClient] = {}
        self.crisis_id = ""
        self.indicators: list[dict[str, Any]] = []
        self.green: list[dict[str, Any]] = []
        self.writes = 0  # what this run wrote: 0 at the end means the scenario was already complete
        self._wrote = False  # since the last pause
        self.protocol = ProtocolActs(self)

    async def pause(self, seconds: float) -> None:
        """Let the room watch; no pause while a re-run skips steps already done."""
        if self._wrote:
            self._wrote = False
            await asyncio.sleep(seconds / self.speed)

    def _written(self) -> None:
        self.writes += 1
        self._wrote = True

    def as_(self, who: str) -> HubClient:
        return self.clients[who]

    async def run(self, *, keep_alive: bool = True) -> None:
        for who, token in self.tokens.items():
            self.clients[who] = await HubClient(self.url, token).__aenter__()
        try:
            if await self.find_crisis() is not None:
                log.info(
                    "%s",
                    self.tr(
                        "the demo crisis is already on this hub: resuming the scenario where it stopped "
                        "(steps already done are skipped)"
                    ),
                )
            await self.play()
            if self.writes == 0:
                log.info(
                    "%s", self.tr("the demo scenario was already complete on this hub: only live activity is added")
                )
            while keep_alive:
                await asyncio.sleep(20 / self.speed)
                await self.new_sighting()
        finally:
            for client in self.clients.values():
                await client.__aexit__(None, None, None)

    async def step(self, text: str) -> None:
        """Say what the story does now (``text``, already in the story's language)."""
        log.info("demo: %s", text)

    def demo_id(self, stix_type: str, role: str) -> str:
        """The id of the object playing ``role`` in this language's story (see :func:`demo_id`)."""
        return demo_id(stix_type, role, self.tr.lang)

    # idempotent operations ---------------------------------------------------------------
    async def stored(self, who: str, stix_id: str) -> dict[str, Any] | None:
        """The newest version of ``stix_id`` that ``who`` may read, as posted; None if there is none."""
        try:
            found = await self.as_(who).call("GET", f"/api/v1/objects/{stix_id}")
        except HubClientError as exc:
            if exc.status == 404:
                return None
            raise
        obj: dict[str, Any] = found["events"][-1]["object"]
        return obj

    async def ensure(self, who: str, channel: str, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Post those of ``objects`` the hub does not have yet; every object as stored, in order."""
        result = []
        missing = []
        for obj in objects:
            stored = await self.stored(who, obj["id"])
            result.append(obj if stored is None else stored)
            if stored is None:
                missing.append(obj)
        if missing:
            answer = await self.as_(who).post(channel, _bundle(*missing))
            if answer.get("rejected"):
                raise ScenarioError(
                    self.tr("{who} could not post to {channel}: {rejected}", who=who, channel=channel,
                            rejected=answer["rejected"])
                )  # fmt: skip
            self._written()
        return result

    async def find_crisis(self) -> dict[str, Any] | None:
        listing = await self.as_("cidge").call("GET", "/api/v1/crises?include_closed=1")
        found = next((c for c in listing["crises"] if c["name"] == self.names.crisis), None)
        if found is not None:
            self.crisis_id = found["id"]
        return found

    async def declare(self, fields: Mapping[str, Any]) -> str:
        """The crisis, declared unless it is on the hub already; its first version."""
        if await self.find_crisis() is None:
            crisis = await self.as_("cidge").call("POST", "/api/v1/crises", {"name": self.names.crisis, **fields})
            self.crisis_id = crisis["id"]
            self._written()
        history = await self.as_("cidge").call("GET", f"/api/v1/crises/{self.crisis_id}/history")
        version: str = history["versions"][0]["version"]
        return version

    async def revise(self, fields: Mapping[str, Any]) -> str:
        """The crisis version where ``fields`` took these values: found in its history, or made now."""
        history = await self.as_("cidge").call("GET", f"/api/v1/crises/{self.crisis_id}/history")
        state: dict[str, Any] = {}
        for version in history["versions"]:
            state.update({name: change[1] for name, change in version["changes"].items()})
            if all(state.get(name) == value for name, value in fields.items()):
                found: str = version["version"]
                return found
        crisis = await self.as_("cidge").call("PATCH", f"/api/v1/crises/{self.crisis_id}", dict(fields))
        self._written()
        made: str = crisis["modified"]
        return made

    async def update(self, who: str, channel: str, content: str, abstract: str, tlp: str | None = None) -> None:
        """A situation update by ``who``, unless it has already posted one with this abstract."""
        existing = await self.as_("cidge").call("GET", f"/api/v1/crises/{self.crisis_id}/updates")
        if any(e["source"] == who and e["object"].get("abstract") == abstract for e in existing["events"]):
            return
        body: dict[str, Any] = {"content": content, "abstract": abstract, "channel": channel}
        if tlp:
            body["tlp"] = tlp
        await self.as_(who).call("POST", f"/api/v1/crises/{self.crisis_id}/updates", body)
        self._written()

    async def ack(self, who: str, version: str) -> None:
        """``who`` acknowledges that version of the crisis (the hub keeps one acknowledgment per version)."""
        body = {"item": self.crisis_id, "version": version}
        await self.as_(who).call("POST", f"/api/v1/crises/{self.crisis_id}/acks", body)

    async def action(self, name: str) -> dict[str, Any] | None:
        actions = await self.as_("cidge").call("GET", f"/api/v1/crises/{self.crisis_id}/actions")
        return next((a for a in actions["actions"] if a["name"] == name), None)

    async def assign(self, assignee: str, name: str, in_minutes: float) -> None:
        if await self.action(name) is None:
            body = {"assignee": assignee, "name": name, "in_minutes": in_minutes}
            await self.as_("cidge").call("POST", f"/api/v1/crises/{self.crisis_id}/actions", body)
            self._written()

    async def move(self, who: str, name: str, status: str, comment: str | None = None) -> None:
        """``who`` moves the action item ``name`` on to ``status``, unless it is there or further already."""
        action = await self.action(name)
        if action is None:
            raise ScenarioError(self.tr("no action item {name!r} on the demo crisis", name=name))
        if _ACTION_PROGRESS[action["status"]] >= _ACTION_PROGRESS[status]:
            return
        body = {"status": status, **({"comment": comment} if comment else {})}
        await self.as_(who).call("PATCH", f"/api/v1/crises/{self.crisis_id}/actions/{action['id']}", body)
        self._written()

    async def sitrep(self, name: str, description: str) -> None:
        """A sitrep naming every update so far, unless one by that name exists."""
        sitreps = await self.as_("cidge").call("GET", f"/api/v1/crises/{self.crisis_id}/sitreps")
        if any(e["object"]["name"] == name for e in sitreps["events"]):
            return
        updates = await self.as_("cidge").call("GET", f"/api/v1/crises/{self.crisis_id}/updates")
        body = {"name": name, "description": description, "object_refs": [e["object"]["id"] for e in updates["events"]]}
        await self.as_("cidge").call("POST", f"/api/v1/crises/{self.crisis_id}/sitreps", body)
        self._written()

    async def taxii_add(self, who: str, collection: str, objects: list[dict[str, Any]]) -> None:
        """Add ``objects`` to a TAXII collection as ``who`` (a partner uses TAXII only); adding again is harmless."""
        try:
            answer = await self.as_(who).taxii_add(collection, objects)
        except HubClientError as exc:
            raise ScenarioError(
                self.tr("{who} could not add to {collection}: {error}", who=who, collection=collection, error=exc)
            ) from None
        if answer["failure_count"]:
            raise ScenarioError(
                self.tr("{who} could not add to {collection}: {error}", who=who, collection=collection,
                        error=answer["failures"])
            )  # fmt: skip
        if any(s.get("message") == "added" for s in answer.get("successes", [])):
            self._written()

    async def taxii_has(self, who: str, collection: str, stix_id: str) -> bool:
        url = f"{self.as_(who).url}/taxii2/api/collections/{collection}/objects/{stix_id}/"
        async with self.as_(who).session.get(url, headers={"Accept": TAXII}) as r:
            if r.status not in (200, 404):
                said = f"{r.status} {await r.text()}"
                raise ScenarioError(
                    self.tr("{who} could not read {collection}: {error}", who=who, collection=collection, error=said)
                )
            return r.status == 200

    # the story --------------------------------------------------------------------------
    async def play(self) -> None:
        """The story, act by act; each act writes only what is not stored yet, so a replay resumes it."""
        await self.first_indicators()
        await self.declaration()
        await self.actions_assigned()
        spread = await self.spread_to_a_bank()
        await self.first_sitrep(spread)
        await self.sharing_with_partners()
        await self.containment()
        await self.public_advisory()
        await self.step(self.tr("the scenario is in place; live sightings follow"))

    async def first_indicators(self) -> None:
        tr = self.tr
        await self.step(tr("PEMEX shares the ATT&CK profile of EKANS and first indicators"))
        answer = await self.as_("pemex").post("sector.energy", attack_subset())  # the same bundle: duplicates
        if answer.get("accepted"):
            self._written()
        indicators = [
            _indicator(tr("Ransomware C2 {address}", address=ip), f"[ipv4-addr:value = '{ip}']", TLP.AMBER,
                       stix_id=self.demo_id("indicator", f"c2 {ip}"))
            for ip in C2
        ] + [
            _indicator(
                tr("Ransomware sample"),
                f"[file:hashes.'SHA-256' = '{SAMPLE_SHA256}']",
                TLP.AMBER,
                description=tr("Encryptor found on HMI workstations; kills ICS processes before encrypting."),
                stix_id=self.demo_id("indicator", "sample"),
            )
        ]  # fmt: skip
        first = _sighting(indicators[0]["id"], TLP.AMBER, 14, stix_id=self.demo_id("sighting", "pemex c2"))
        self.indicators = (await self.ensure("pemex", "sector.energy", [*indicators, first]))[: len(indicators)]
        await self.pause(3)

    async def declaration(self) -> None:
        tr = self.tr
        await self.step(tr("the committee declares the crisis"))
        declared = await self.declare(
            {
                "severity": 2,
                "category": "malicious-code",
                "subcategory": "infected-system",
                "status": "detected",
                "lead": "cert-mx",
                "affected_sectors": ["energy"],
                "affected_stakeholders": ["pemex"],
                "description": tr("Ransomware encrypting operator workstations at two refineries of the oil company."),
            },
        )
        await self.pause(3)
        await self.update(
            "pemex",
            "sector.energy",
            tr(
                "HMI workstations encrypted at the Salina Cruz and Tula refineries. Refinery OT segments "
                "being isolated from corporate IT; production continues on manual control."
            ),
            tr("Two refineries hit"),
        )
        await self.pause(2)
        await self.update(
            "cert-mx",
            "sector.energy",
            tr(
                "The sample matches EKANS (ATT&CK S0605): it stops ICS services before encrypting. "
                "Three C2 addresses identified; indicators shared on the energy channel."
            ),
            tr("Malware identified as EKANS"),
        )
        for who in ("sspc", "cnpc", "pemex"):
            await self.ack(who, declared)
        await self.protocol.push()
        await self.pause(3)

    async def actions_assigned(self) -> None:
        await self.step(self.tr("actions assigned; one of them will run overdue"))
        await self.assign("pemex", self.names.isolate, 0.5 / self.speed)
        await self.assign("cert-mx", self.names.share, 60)
        await self.pause(3)

    async def spread_to_a_bank(self) -> str:
        tr = self.tr
        await self.step(tr("the same C2 servers show up at a bank"))
        green = [
            {**i, "id": self.demo_id("indicator", f"green c2 {n}"), "object_marking_refs": [TLP.GREEN.marking_id]}
            for n, i in enumerate(self.indicators[:3])
        ]
        self.green = await self.ensure("cert-mx", "sector.finance", green)
        bank = _sighting(self.green[1]["id"], TLP.AMBER, 3, stix_id=self.demo_id("sighting", "banxico c2"))
        await self.ensure("banxico", "sector.finance", [bank])
        await self.update(
            "banxico",
            "sector.finance",
            tr(
                "Outbound connections to two of the C2 addresses from branch networks of a commercial bank. "
                "Payment systems unaffected so far; the bank's SOC has blocked the addresses."
            ),
            tr("C2 traffic seen in the financial sector"),
        )
        await self.pause(2)
        spread = await self.revise(
            {
                "severity": 3,
                "status": "assessing",
                "affected_sectors": ["energy", "finance"],
                "affected_stakeholders": ["pemex", "banxico"],
            }
        )
        for who in ("sedena", "banxico", "cert-mx"):
            await self.ack(who, spread)
        await self.step(tr("the committee starts the national crisis protocol"))
        await self.protocol.start()
        await self.pause(2)
        return spread

    async def first_sitrep(self, spread: str) -> None:
        tr = self.tr
        await self.step(tr("first sitrep"))
        await self.sitrep(
            self.names.sitrep,
            tr(
                "EKANS-like ransomware at two refineries; C2 traffic at one bank. "
                "Severity raised to High. Lead: national CERT. Next sitrep in one hour."
            ),
        )
        await self.move("pemex", self.names.isolate, "accepted", tr("Working on it with the refinery OT teams."))
        await self.protocol.done("Detection and triage", "cert-mx")
        await self.move("cert-mx", self.names.share, "in-progress")
        await self.pause(4)
        await self.update(
            "cfe",
            "sector.energy",
            tr("Precautionary: remote access to substations suspended; no sign of the C2 addresses."),
            tr("Electricity grid on alert"),
        )
        await self.ack("cfe", spread)
        await self.pause(8)

    async def sharing_with_partners(self) -> None:
        await self.step(self.tr("the C2 indicators reach partner CERTs (TLP:GREEN) on the partners collection"))
        await self.protocol.done("Convene the crisis committee", "cidge", "sspc", "sedena", "cnpc")
        # Only partners write the partners collection: the partner CERT, which had the GREEN indicators from
        # the national CERT, posts exact copies of them (the national CERT still owns them) over TAXII.
        await self.taxii_add("partner-cert", "partners", self.green)
        seen = self.demo_id("sighting", "partner c2")
        if not await self.taxii_has("partner-cert", "partners", seen):
            await self.taxii_add(
                "partner-cert", "partners", [_sighting(self.green[0]["id"], TLP.GREEN, 2, stix_id=seen)]
            )
        await self.pause(2)

    async def containment(self) -> None:
        tr = self.tr
        await self.step(tr("severity raised to Severe; containment"))
        containing = await self.revise({"severity": 4, "status": "containing"})
        await self.move(
            "cert-mx", self.names.share, "completed", tr("Shared with partner CERTs on the partners collection.")
        )
        # The energy operators assess their impact; the bank's assessment is left to run late.
        await self.protocol.done("Energy: impact assessment", "pemex", "cfe")
        await self.pause(3)
        for who in ("sspc", "pemex"):
            await self.ack(who, containing)

    async def public_advisory(self) -> None:
        tr = self.tr
        await self.step(tr("the committee informs the public (TLP:CLEAR)"))
        await self.update(
            "cnpc",
            "public",
            tr(
                "A ransomware attack is affecting computer systems at two refineries of the state oil company. "
                "Fuel supply continues; the refineries run on manual control. The national CERT leads the "
                "response. Organisations should check remote access to industrial systems and report anything "
                "unusual to the national CERT."
            ),
            self.names.advisory,
            tlp="clear",
        )

    async def new_sighting(self) -> None:
        """A fresh sighting of a C2 indicator by the oil company: the room stays alive."""
        if not self.indicators:
            return
        indicator = random.choice(self.indicators)
        await self.as_("pemex").post(
            "sector.energy", _bundle(_sighting(indicator["id"], TLP.AMBER, random.randint(1, 9)))
        )
