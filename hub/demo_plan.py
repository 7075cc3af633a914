"""The national crisis protocol in ``crisis-hub demo``: pushed, started, and played step by step.

The demo plays the shipped protocol (``hub/demo_data/national-protocol.json``)
on a demo clock: a copy with its own id, each minute of a step's timeout
played as a second (divided again by ``--speed``), so that within the first
minute every step is on the board and one of them runs late. The committee
starts it by hand when the severity is raised to High; the stakeholders then
complete their steps over the API, as their people would. Every act is
idempotent, like the rest of the scenario: a step already done is skipped.

The protocol is written in English. In another language the demo plays a
translated copy, with its own id: its name, description, steps and their
manual commands come from :data:`PROTOCOL` (the shipped file's texts, each
with its translation), so that the board reads in the demo's language; the
agents keep their names, which are how the hub finds the stakeholders they
name.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from hub.i18n import DEFAULT, Translator, translator
from hub.plans.carrier import wrap
from hub.tlp import TLP

if TYPE_CHECKING:
    from hub.demo import Scenario

_NAMESPACE = uuid.UUID("5d1c8a4e-2f0b-4c7e-9a36-8e1f0b2d7c41")
DEMO_PLAYBOOK = f"playbook--{uuid.uuid5(_NAMESPACE, 'national protocol')}"
DEFAULT_STEP_MS = 60 * 60_000  # a step without a timeout: an hour, as the hub gives it
DONE = frozenset({"completed", "failed", "timed-out", "skipped"})
REACH_WAIT = 15.0  # seconds the hub gets to move the run to a step
POLL = 0.2

PROTOCOL: Mapping[str, Mapping[str, str]] = {
    "es": {
        "National cyber crisis protocol": "Protocolo nacional de crisis cibernética",
        (
            "The committee's protocol for a national cyber crisis: triage by the national CERT, the committee "
            "convened at severity 3 or above, energy and finance assess and contain, the public and partners are "
            "informed, then recovery and an after-action review."
        ): (
            "El protocolo del comité para una crisis cibernética nacional: triaje por el CERT nacional, el comité "
            "convocado con severidad 3 o mayor, energía y finanzas evalúan y contienen, se informa al público y a "
            "los aliados, y después recuperación y una revisión posterior a la crisis."
        ),
        "Incident reported": "Incidente reportado",
        "Detection and triage": "Detección y triaje",
        "The national CERT confirms the incident, scopes it and rates its severity on the national scale.": (
            "El CERT nacional confirma el incidente, determina su alcance y califica su severidad en la escala "
            "nacional."
        ),
        (
            "Confirm the incident, identify the affected sectors and stakeholders, and set the crisis severity (0-5)"
            " within 30 minutes."
        ): (
            "Confirmar el incidente, identificar los sectores afectados y las instituciones afectadas, y fijar la "
            "severidad de la crisis (0-5) en un plazo de 30 minutos."
        ),
        "Convene the committee?": "¿Convocar al comité?",
        "Severity 3 (high) or above convenes the crisis committee; below, the CERT goes straight to recovery.": (
            "Una severidad 3 (alta) o mayor convoca al comité de crisis; por debajo, el CERT pasa directamente a la "
            "recuperación."
        ),
        "Convene the crisis committee": "Convocar al comité de crisis",
        "The four committee members meet and take charge of the national response.": (
            "Los cuatro miembros del comité se reúnen y asumen la respuesta nacional."
        ),
        "Convene the committee, confirm the severity and appoint a lead for each affected sector.": (
            "Convocar al comité, confirmar la severidad y designar una institución líder para cada sector afectado."
        ),
        "Sector response": "Respuesta sectorial",
        "Energy and finance assess and contain at the same time.": (
            "Energía y finanzas evalúan y contienen al mismo tiempo."
        ),
        "Energy: impact assessment": "Energía: evaluación de impacto",
        "Grid and oil operators assess the impact on their operations.": (
            "Los operadores de la red eléctrica y del petróleo evalúan el impacto en sus operaciones."
        ),
        (
            "Assess the impact on generation, transmission and distribution; report affected sites and expected outage."
        ): (
            "Evaluar el impacto en la generación, la transmisión y la distribución; reportar los sitios afectados y "
            "la interrupción prevista."
        ),
        "Energy: containment": "Energía: contención",
        "Operators isolate the affected systems.": "Los operadores aíslan los sistemas afectados.",
        ("Isolate affected OT and IT segments, switch to manual operation where needed, and report when contained."): (
            "Aislar los segmentos OT y TI afectados, pasar a operación manual donde sea necesario y reportar cuando "
            "estén contenidos."
        ),
        "Energy branch done": "Rama de energía concluida",
        "Finance: impact assessment": "Finanzas: evaluación de impacto",
        "The central bank assesses the impact on payment and settlement systems.": (
            "El banco central evalúa el impacto en los sistemas de pagos y de liquidación."
        ),
        "Assess the impact on payment, clearing and settlement systems; report affected services.": (
            "Evaluar el impacto en los sistemas de pagos, compensación y liquidación; reportar los servicios afectados."
        ),
        "Finance: containment": "Finanzas: contención",
        "The financial sector isolates the affected systems.": "El sector financiero aísla los sistemas afectados.",
        "Isolate affected systems, activate continuity arrangements, and report when contained.": (
            "Aislar los sistemas afectados, activar los planes de continuidad y reportar cuando estén contenidos."
        ),
        "Finance branch done": "Rama de finanzas concluida",
        "Communicate": "Comunicar",
        "Inform the public and the international partners.": "Informar al público y a los aliados internacionales.",
        "Public advisory": "Aviso público",
        "An advisory for the public channel, TLP:CLEAR.": "Un aviso para el canal público, TLP:CLEAR.",
        (
            "Publish an advisory on the public channel at TLP:CLEAR: what happened, who is affected, what people "
            "should do."
        ): (
            "Publicar un aviso en el canal público con TLP:CLEAR: qué ocurrió, a quién afecta y qué debe hacer la "
            "población."
        ),
        "Advisory published": "Aviso publicado",
        "Partner notification": "Notificación a los aliados",
        "A notification for the partners channel, TLP:GREEN.": "Una notificación para el canal de aliados, TLP:GREEN.",
        ("Notify the international partners on the partners channel at TLP:GREEN, with indicators they can act on."): (
            "Notificar a los aliados internacionales en el canal de aliados con TLP:GREEN, con indicadores sobre los"
            " que puedan actuar."
        ),
        "Partners notified": "Aliados notificados",
        "Committee response done": "Respuesta del comité concluida",
        "No committee needed": "Sin necesidad de comité",
        "Recovery": "Recuperación",
        "Restore the affected services and confirm they are clean.": (
            "Restablecer los servicios afectados y confirmar que están limpios."
        ),
        (
            "Coordinate the restoration of affected services, confirm they are clean, and report when normal "
            "operation resumes."
        ): (
            "Coordinar el restablecimiento de los servicios afectados, confirmar que están limpios y reportar cuando"
            " se reanude la operación normal."
        ),
        "After-action review": "Revisión posterior a la crisis",
        "The committee reviews the response and records lessons learnt.": (
            "El comité revisa la respuesta y registra las lecciones aprendidas."
        ),
        "Hold the after-action review within two weeks and record the lessons learnt and the follow-up actions.": (
            "Realizar la revisión posterior a la crisis en un plazo de dos semanas y registrar las lecciones "
            "aprendidas y las acciones de seguimiento."
        ),
        "Crisis closed": "Crisis cerrada",
    }
}
"""The shipped protocol's texts people read, by language: each English text with its translation."""


def demo_playbook(lang: str = DEFAULT) -> str:
    """The id of the demo's protocol in ``lang``: English keeps the id it always had; a translation has its own."""
    return DEMO_PLAYBOOK if lang == DEFAULT else f"playbook--{uuid.uuid5(_NAMESPACE, f'national protocol ({lang})')}"


def protocol_texts(playbook: Mapping[str, Any]) -> list[str]:
    """Every text of a playbook that the demo translates: its name and description, its steps' names and
    descriptions, and their manual commands."""
    texts = [playbook["name"], playbook.get("description", "")]
    for step in playbook["workflow"].values():
        texts += [step.get("name", ""), step.get("description", "")]
        texts += [c.get("command", "") for c in step.get("commands", ())]
    return [text for text in texts if text]


def translated(playbook: dict[str, Any], lang: str) -> dict[str, Any]:
    """``playbook`` with the texts :func:`protocol_texts` lists in ``lang`` (those without a translation kept)."""
    for key in ("name", "description"):
        if key in playbook:
            playbook[key] = step_name(playbook[key], lang)
    for step in playbook["workflow"].values():
        for key in ("name", "description"):
            if key in step:
                step[key] = step_name(step[key], lang)
        for command in step.get("commands", ()):
            if "command" in command:
                command["command"] = step_name(command["command"], lang)
    return playbook


def step_name(english: str, lang: str) -> str:
    """A text of the protocol (a step's name, say), given in English, as the demo's protocol in ``lang`` says it."""
    return PROTOCOL.get(lang, {}).get(english, english)


def demo_clock_plan(speed: float, tr: Translator | None = None) -> bytes:
    """The national protocol on the demo clock, in ``tr``'s language (English by default): a minute of timeout is
    a second, divided by ``speed``."""
    tr = tr or translator(DEFAULT)
    text = importlib.resources.files("hub").joinpath("demo_data/national-protocol.json").read_bytes()
    playbook: dict[str, Any] = translated(orjson.loads(text), tr.lang)
    playbook["id"] = demo_playbook(tr.lang)
    playbook["name"] = tr("{name} (demo clock: a minute is a second)", name=playbook["name"])
    for step in playbook["workflow"].values():
        if step.get("type") == "action":
            step["timeout"] = max(1000, int(step.get("timeout", DEFAULT_STEP_MS) / 60 / speed))
    return orjson.dumps(playbook, option=orjson.OPT_INDENT_2)


class ProtocolActs:
    """The protocol's part in the scenario."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.playbook = demo_playbook(scenario.tr.lang)

    async def push(self) -> None:
        """The committee stores the protocol (a course-of-action in its channel), unless it is there."""
        s = self.scenario
        coa = wrap(demo_clock_plan(s.speed, s.tr), TLP.AMBER)
        await s.ensure("cidge", "committee", [coa])

    async def run(self) -> dict[str, Any] | None:
        s = self.scenario
        answer = await s.as_("cidge").call("GET", f"/api/v1/crises/{s.crisis_id}/plans")
        runs: list[dict[str, Any]] = answer["runs"]
        return next((r for r in runs if r["playbook"] == self.playbook), None)

    async def start(self) -> None:
        """The committee starts the protocol for the demo crisis, unless it runs already."""
        if await self.run() is None:
            s = self.scenario
            await s.as_("cidge").call("POST", f"/api/v1/crises/{s.crisis_id}/plans", {"plan": self.playbook})
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

    async def done(self, english: str, *stakeholders: str) -> None:
        """Each of ``stakeholders`` completes its item of the step named ``english`` (in the shipped protocol), if
        it has one open."""
        s = self.scenario
        step = await self.reached(step_name(english, s.tr.lang))
        if step is None or step["state"] in DONE:
            return
        for who, item in zip(step["assignees"], step["items"], strict=False):
            if who in stakeholders and who in step["waiting_on"]:
                path = f"/api/v1/crises/{s.crisis_id}/actions/{item}"
                await s.as_(who).call("PATCH", path, {"status": "completed", "comment": s.tr("Done.")})
                s._written()
