"""Notifications delivered for real: hubs on a real Redis, an aiosmtpd SMTP server, an HTTP webhook receiver.

The SMTP server goes down, slow and rejecting; two hub processes share the
work; what crosses the wire is only what each TLP allows.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hub.notify import NotificationSettings, Rule, Rules, Smtp, Webhook
from hub.tlp import TLP
from tests.conftest import Hub, HubFactory
from tests.crisis.test_routes import call, new_crisis
from tests.notify.servers import Mailbox, SmtpServer, WebhookReceiver, certificate
from tests.people.helpers import signed_in
from tests.stixgen import indicator
from tests.stream.clients import open_ws, post
from tests.test_demo import play
from tests.timing import QUIET, WAIT

pytestmark = pytest.mark.asyncio

EVERYONE = ("ana.ruiz@cidge.example", "luis.herrera@banxico.example", "sofia.navarro@banxico.example",
            "jorge.salas@cfe.example")  # fmt: skip
JORGE = "jorge.salas@cfe.example"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, SmtpServer]]:
    box = Mailbox()
    server = SmtpServer(box)
    yield box, server
    server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    await hook.start()
    yield hook
    await hook.stop()


def settings(smtp: SmtpServer, hook: WebhookReceiver | None = None, **changes: Any) -> NotificationSettings:
    webhooks = (Webhook("cfe-ops", hook.url, ("cfe",), "slack"),) if hook is not None else ()
    base = NotificationSettings(
        public_url="https://hub.example",
        smtp=Smtp(
            host="127.0.0.1",
            port=smtp.port,
            security="none",
            sender="Crisis Hub <hub@crisis.example>",
            timeout_seconds=2,
        ),  # fmt: skip
        webhooks=webhooks,
        digest_minutes=0.02,
        retry_first_seconds=0.2,
    )
    return replace(base, **changes)


async def admin_view(hub: Hub) -> dict[str, Any]:
    status, body = await call(hub, "cidge", "GET", "/api/v1/admin/notifications")
    assert status == 200, body
    result: dict[str, Any] = body
    return result


async def until_view(hub: Hub, done: Callable[[list[dict[str, Any]]], bool]) -> dict[str, Any]:
    """The administrators' view of the notifications, once ``done`` says its list is as awaited."""
    async with asyncio.timeout(WAIT):
        while True:
            view = await admin_view(hub)
            if view["notifications"] and done(view["notifications"]):
                return view
            await asyncio.sleep(0.05)


async def test_a_crisis_raised_to_severe_sends_one_mail_per_person_and_one_webhook_call_from_two_processes(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer], receiver: WebhookReceiver
) -> None:
    box, server = mailbox
    server.start()
    chosen = settings(server, receiver)
    first, _second = await hub_factory(notifications=chosen), await hub_factory(notifications=chosen)
    crisis = await new_crisis(first, severity=2, affected_stakeholders=["cfe"])  # below everyone's threshold (3)
    await asyncio.sleep(QUIET)
    assert box.messages == [] and receiver.bodies == []

    status, _ = await call(first, "cidge", "PATCH", f"/api/v1/crises/{crisis['id']}", {"severity": 4})
    assert status == 200
    mails = await box.until(len(EVERYONE))
    await receiver.until(1)
    await asyncio.sleep(3 * QUIET)  # nothing more: not a second copy from the other process
    assert sorted(m["To"] for m in box.messages) == sorted(EVERYONE)
    assert len(receiver.bodies) == 1
    # The crisis is TLP:AMBER, above what this hub sends (GREEN): no name, no words of it, only what and where.
    for mail in mails:
        body = mail.get_content()
        assert "severity 4 (Severe)" in mail["Subject"] and "TLP:AMBER" in mail["Subject"]
        assert crisis["name"] not in mail["Subject"] and crisis["name"] not in body
        assert f"https://hub.example/?crisis={crisis['id']}" in body
    assert crisis["name"] not in receiver.bodies[0]["text"] and "Crisis raised" in receiver.bodies[0]["text"]
    view = await admin_view(first)
    assert view["pending"] == 0 and {n["status"] for n in view["notifications"]} == {"sent"}


async def test_content_travels_when_the_tlp_allows_it(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer]
) -> None:
    box, server = mailbox
    server.start()
    hub = await hub_factory(notifications=settings(server))
    crisis = await new_crisis(hub, severity=3, tlp="green", affected_stakeholders=["cfe"],
                              description="Substation 4 of the north grid is down.")  # fmt: skip
    await box.until(len(EVERYONE))
    [mail] = box.to(JORGE)
    assert mail["Subject"] == f"[Crisis Hub] Crisis declared: {crisis['name']}"
    assert "Substation 4 of the north grid is down." in mail.get_content()
    assert mail["From"] == "Crisis Hub <hub@crisis.example>" and mail["Auto-Submitted"] == "auto-generated"


async def test_with_the_smtp_server_down_the_hub_ingests_and_streams_and_the_mail_goes_out_once_it_is_back(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer]
) -> None:
    box, server = mailbox  # not started: nothing listens on its port
    hub = await hub_factory(notifications=settings(server, rules=Rules(people={"luis": {"email": False}})))
    watcher = await open_ws(hub, "cert-mx")
    await watcher.subscribe("sector.energy")
    await new_crisis(hub, severity=4, affected_stakeholders=["cfe"])
    view = await until_view(hub, lambda found: all(n["attempts"] for n in found))
    assert all(n["status"] == "pending" and "127.0.0.1" in n["error"] for n in view["notifications"])
    marker = indicator(TLP.GREEN)
    await post(hub, "cfe", "sector.energy", marker)  # ingest and the stream go on
    assert (await watcher.events_until(marker["id"]))[-1]["object"]["id"] == marker["id"]
    async with hub.client.get("/metrics", headers=hub.auth("cidge")) as response:
        assert 'chub_notifications_total{outcome="retried",via="email"}' in await response.text()

    server.start()
    mails = await box.until(len(EVERYONE) - 1)
    assert "luis.herrera@banxico.example" not in [m["To"] for m in mails]  # his rule turns e-mail off
    await asyncio.sleep(3 * QUIET)
    assert len(box.messages) == len(EVERYONE) - 1  # each once, however many attempts it took


async def test_a_slow_smtp_server_never_holds_up_ingest_or_the_stream(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer]
) -> None:
    box, server = mailbox
    box.hold = threading.Event()  # the server takes the message and answers only when the test lets it
    server.start()
    chosen = settings(server)
    assert chosen.smtp is not None
    hub = await hub_factory(notifications=replace(chosen, smtp=replace(chosen.smtp, timeout_seconds=WAIT)))
    watcher = await open_ws(hub, "cert-mx")
    await watcher.subscribe("sector.energy")
    await new_crisis(hub, severity=4, affected_stakeholders=["cfe"])
    await box.until_waiting()
    marker = indicator(TLP.GREEN)
    await post(hub, "cfe", "sector.energy", marker)
    assert (await watcher.events_until(marker["id"]))[-1]["object"]["id"] == marker["id"]
    assert box.messages == []  # still held: the stream did not wait for it
    box.hold.set()
    await box.until(len(EVERYONE))


async def test_a_rejecting_server_is_retried_then_the_notification_is_marked_failed(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer]
) -> None:
    box, server = mailbox
    box.reject = True
    server.start()
    hub = await hub_factory(notifications=settings(server, retry_hours=0.0005))  # 1.8 s of retries
    await new_crisis(hub, severity=4, affected_stakeholders=["cfe"])
    view = await until_view(hub, lambda found: {n["status"] for n in found} == {"failed"})
    assert len(view["notifications"]) == len(EVERYONE) and view["pending"] == 0
    assert all(n["attempts"] >= 2 and "550" in n["error"] for n in view["notifications"])
    assert box.messages == []


async def test_mail_goes_over_starttls_with_authentication_and_a_private_ca(
    hub_factory: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate(tmp_path)
    box = Mailbox()
    server = SmtpServer(box, tls=(cert, key), password="s3cret-for-tests")
    server.start()
    try:
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-for-tests")
        smtp = Smtp(host="127.0.0.1", port=server.port, security="starttls", username="hub",
                    password_env="TEST_SMTP_PASSWORD", ca_file=str(cert), sender="hub@crisis.example",
                    timeout_seconds=5)  # fmt: skip
        hub = await hub_factory(notifications=replace(settings(server), smtp=smtp))
        await new_crisis(hub, severity=4, affected_stakeholders=["cfe"])
        await box.until(len(EVERYONE))
    finally:
        server.stop()


async def test_a_storm_of_assignments_is_one_mail_then_one_digest(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer]
) -> None:
    box, server = mailbox
    server.start()
    rules = Rules(default=Rule(crises=False))
    hub = await hub_factory(notifications=settings(server, rules=rules, digest_minutes=0.03))
    crisis = await new_crisis(hub, severity=4, tlp="green", affected_stakeholders=["cfe"])
    path = f"/api/v1/crises/{crisis['id']}/actions"

    async def assign(name: str) -> None:
        status, _ = await call(
            hub, "cidge", "POST", path, {"assignee": "cfe", "name": name, "in_minutes": 30, "tlp": "green"}
        )
        assert status == 201

    await assign("Isolate substation 4")
    [first] = await box.until(1)  # told at once
    for n in range(5):  # then a storm, within the digest window
        await assign(f"Check feeder {n}")
    await box.until(2)
    await asyncio.sleep(3 * QUIET)
    assert len(box.to(JORGE)) == 2
    second = box.to(JORGE)[1]
    assert first["Subject"] == "[Crisis Hub] Action item assigned to you: Isolate substation 4"
    assert second["Subject"] == "[Crisis Hub] 5 things need your attention"
    assert all(f"Check feeder {n}" in second.get_content() for n in range(5))
    view = await admin_view(hub)
    assert sorted(n["digest_of"] or 1 for n in view["notifications"]) == [1, 5, 5, 5, 5, 5]


async def test_one_event_reaches_each_person_in_their_own_language_and_a_webhook_in_the_hubs(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer], receiver: WebhookReceiver
) -> None:
    box, server = mailbox
    server.start()
    hub = await hub_factory(time_zone="America/Mexico_City", notifications=settings(server, receiver))
    jorge = await signed_in(hub, "jorge")
    assert (await jorge.call("PUT", "/api/v1/me/preferences", {"language": "es"}))[0] == 200
    crisis = await new_crisis(hub, severity=4, tlp="green", affected_stakeholders=["cfe"])
    await box.until(len(EVERYONE))
    await receiver.until(1)
    [spanish] = box.to(JORGE)
    assert spanish["Subject"] == f"[Crisis Hub] Crisis declarada: {crisis['name']}"
    assert spanish["Content-Language"] == "es"
    body = spanish.get_content()
    assert "Severidad: 4 (Severa)" in body and "Marcado como TLP:GREEN." in body
    assert re.search(r"Por Inter-ministerial Cyber Crisis Committee, \d+ \w+ \d{4} \d\d:\d\d CST\.", body), body
    for address in set(EVERYONE) - {JORGE}:
        [english] = box.to(address)
        assert english["Subject"] == f"[Crisis Hub] Crisis declared: {crisis['name']}"
        assert english["Content-Language"] == "en" and "Severity: 4 (Severe)" in english.get_content()
    assert receiver.bodies[0]["text"].startswith(f"*Crisis declared: {crisis['name']}*")  # the hub's language


async def test_a_hub_in_spanish_writes_its_webhooks_and_the_digests_of_people_without_a_choice_in_spanish(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer], receiver: WebhookReceiver
) -> None:
    box, server = mailbox
    server.start()
    chosen = settings(server, receiver, rules=Rules(default=Rule(crises=False)), digest_minutes=0.03)
    hub = await hub_factory(language="es", notifications=chosen)
    crisis = await new_crisis(hub, severity=3, tlp="green", affected_stakeholders=["cfe"])
    path = f"/api/v1/crises/{crisis['id']}/actions"
    for name in ("Isolate substation 4", "Check feeder 1", "Check feeder 2"):
        body = {"assignee": "cfe", "name": name, "in_minutes": 30, "tlp": "green"}
        assert (await call(hub, "cidge", "POST", path, body))[0] == 201
        if name.startswith("Isolate"):
            await box.until(1)  # told at once; the next two wait for the digest window to end
    await box.until(2)
    await receiver.until(2)
    first, second = box.to(JORGE)
    assert first["Subject"] == "[Crisis Hub] Acción asignada a usted: Isolate substation 4"
    assert second["Subject"] == "[Crisis Hub] 2 elementos requieren su atención"
    assert second.get_content().startswith("2 elementos en la sala de situación requieren su atención:")
    assert receiver.bodies[0]["text"].startswith("*Acción asignada a usted: Isolate substation 4*")
    assert receiver.bodies[1]["text"].startswith("*2 elementos requieren su atención*")


async def test_the_demo_crisis_raised_to_severe_is_one_mail_per_subscribed_person_and_one_webhook_call(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer], receiver: WebhookReceiver
) -> None:
    """The whole demo scenario on two hub processes, people subscribed to Severe crises only: the declaration
    and the first raise are below their threshold, the raise to Severe reaches each of them once, and the
    energy team's channel once."""
    box, server = mailbox
    server.start()
    crises_only = Rules(default=Rule(crisis_min_severity=4, actions=False, overdue=False, acknowledgments=False))
    chosen = settings(server, receiver, rules=crises_only)
    first, _second = await hub_factory(notifications=chosen), await hub_factory(notifications=chosen)
    await play(first).run(keep_alive=False)
    mails = await box.until(len(EVERYONE))
    await receiver.until(1)
    await asyncio.sleep(3 * QUIET)
    assert sorted(m["To"] for m in box.messages) == sorted(EVERYONE)
    assert all("Crisis raised" in m["Subject"] and "severity 4 (Severe)" in m["Subject"] for m in mails), [
        m["Subject"] for m in mails
    ]
    assert len(receiver.bodies) == 1


async def test_an_administrator_sees_a_notifications_subject_only_if_they_may_read_what_it_tells_of(
    hub_factory: HubFactory, mailbox: tuple[Mailbox, SmtpServer]
) -> None:
    box, server = mailbox
    server.start()
    hub = await hub_factory(notifications=settings(server, max_tlp=TLP.AMBER))  # AMBER content travels here
    crisis = await new_crisis(hub, severity=4, affected_stakeholders=["cfe"])
    await box.until(len(EVERYONE))
    assert all(n["subject"] and crisis["name"] in n["subject"] for n in (await admin_view(hub))["notifications"])
    limited = {"id": "nadia", "stakeholder": "cidge", "name": "Nadia Paz", "admin": True, "max_tlp": "green"}
    status, _ = await call(hub, "cidge", "POST", "/api/v1/admin/people", limited)
    assert status == 201
    nadia = await signed_in(hub, "nadia")
    status, view = await nadia.call("GET", "/api/v1/admin/notifications")
    assert status == 200 and view["notifications"]
    assert all(n["subject"] is None for n in view["notifications"])  # the crisis is AMBER; she reads GREEN
