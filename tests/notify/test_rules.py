"""What calls for a notification, whom it reaches and what it says: pure, no hub, no Redis."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from hub.config import load_config
from hub.crisis import objects
from hub.events import Event
from hub.i18n import translator
from hub.notify import NotificationSettings, Rule, Rules, Smtp, Webhook
from hub.notify.messages import Message, digest, render, webhook_payload
from hub.notify.triggers import Crisis, Notice, notice_of, quiet_until, recipients
from hub.people import Person
from hub.policy import Level, may_travel
from hub.tlp import TLP

CONFIG = load_config(None)
SCALE = CONFIG.crisis.severity
SMTP = Smtp(host="127.0.0.1", sender="Crisis Hub <hub@crisis.example>")
SETTINGS = NotificationSettings(public_url="https://hub.example", smtp=SMTP)
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()
EN, ES = translator("en"), translator("es")


def crisis_obj(severity: int = 4, name: str = "Grid ransomware", **ext: Any) -> dict[str, Any]:
    body = {"name": name, "severity": severity, "category": "malicious-code", "subcategory": "infected-system",
            "lead": "cert-mx", "affected_sectors": ["energy"], "affected_stakeholders": ["cfe"],
            "status": "detected", "description": "Substations of the north grid encrypted.", **ext}  # fmt: skip
    return objects.new_crisis(body, "cert-mx", None)


def event(obj: dict[str, Any], tlp: TLP = TLP.AMBER, channel: str = "committee", eid: str = "1765108800000-0",
          person: str = "") -> Event:  # fmt: skip
    return Event(eid, channel, "cidge", tlp, obj["type"], obj["id"], obj["modified"], orjson.dumps(obj), person,
                 "Ana Ruiz" if person else "")  # fmt: skip


def people(*ids: str) -> list[tuple[Person, Any]]:
    chosen = [p for p in CONFIG.people.values() if not ids or p.id in ids]
    return [(p, p.rights(CONFIG.principals[p.stakeholder])) for p in chosen]


def kind_of(notice: Notice | None) -> str | None:
    return notice.kind if notice is not None else None


def declared(severity: int = 4, tlp: TLP = TLP.AMBER) -> tuple[Notice, Event]:
    obj = crisis_obj(severity)
    stored = event(obj, tlp)
    notice = notice_of(stored, obj, None, Crisis(obj["id"], obj), SCALE, "Ana Ruiz (CIDGE)")
    assert notice is not None
    return notice, stored


def test_a_crisis_declared_or_raised_notifies_and_a_lowered_or_unchanged_one_does_not() -> None:
    first = crisis_obj(2)
    assert kind_of(notice_of(event(first), first, None, Crisis(first["id"], first), SCALE, "x")) == "crisis-declared"
    raised = objects.revise_crisis(first, {"severity": 4})
    notice = notice_of(event(raised), raised, first, Crisis(raised["id"], raised), SCALE, "x")
    assert notice is not None and notice.kind == "crisis-raised" and notice.severity.level == 4
    assert (
        notice.raised_from == 2
        and "Raised from severity 2 to 4." in render(notice, "https://h", TLP.RED, "UTC", EN).text
    )
    lowered = objects.revise_crisis(raised, {"severity": 3})
    assert notice_of(event(lowered), lowered, raised, Crisis(lowered["id"], lowered), SCALE, "x") is None


def test_an_action_item_notifies_when_assigned_and_when_escalated_not_when_merely_accepted() -> None:
    crisis = crisis_obj()
    item = objects.new_action(crisis["id"], {"assignee": "cfe", "name": "Isolate", "in_minutes": 30}, "cidge",
                              list(CONFIG.stakeholders))  # fmt: skip
    found = Crisis(crisis["id"], crisis)
    assert kind_of(notice_of(event(item), item, None, found, SCALE, "x")) == "action-assigned"
    accepted = objects.revise_action(item, {"status": "accepted"})
    assert notice_of(event(accepted), accepted, item, found, SCALE, "x") is None
    escalated = {**accepted, "escalated": True}
    assert kind_of(notice_of(event(escalated), escalated, accepted, found, SCALE, "x")) == "action-overdue"


def test_a_crisis_reaches_each_person_who_may_read_it_and_wants_that_severity() -> None:
    notice, stored = declared(4, TLP.AMBER)
    to = recipients(notice, stored, people(), CONFIG.principals, SETTINGS, NOON)
    assert sorted(r.address for r in to) == sorted(p.email for p, _ in people())
    # Luis wants only the most severe crises; Jorge may read up to GREEN only.
    rules = Rules(people={"luis": {"crisis_min_severity": 5}})
    jorge = replace(CONFIG.people["jorge"], max_tlp=TLP.GREEN)
    everyone = [*people("ana", "luis", "sofia"), (jorge, jorge.rights(CONFIG.principals["cfe"]))]
    to = recipients(notice, stored, everyone, CONFIG.principals, replace(SETTINGS, rules=rules), NOON)
    assert sorted(r.person for r in to) == ["ana", "sofia"]


def test_an_action_item_reaches_its_assignees_people_or_only_the_person_it_names() -> None:
    crisis = crisis_obj()
    body = {"assignee": "banxico", "name": "Freeze transfers", "in_minutes": 30}
    item = objects.new_action(crisis["id"], body, "cidge", list(CONFIG.stakeholders))
    notice = notice_of(event(item), item, None, Crisis(crisis["id"], crisis), SCALE, "x")
    assert notice is not None
    to = recipients(notice, event(item), people(), CONFIG.principals, SETTINGS, NOON)
    assert sorted(r.person for r in to) == ["luis", "sofia"]
    named = {**item, "assignee_person": {"id": "sofia", "name": "Sofía Navarro"}}
    notice = notice_of(event(named), named, None, Crisis(crisis["id"], crisis), SCALE, "x")
    assert notice is not None
    assert [r.person for r in recipients(notice, event(named), people(), CONFIG.principals, SETTINGS, NOON)] == [
        "sofia"
    ]


def test_quiet_hours_hold_a_notification_until_they_end_unless_the_crisis_is_severe_enough() -> None:
    night = datetime(2026, 12, 7, 3, 0, tzinfo=ZoneInfo("America/Mexico_City"))
    rule = Rule(quiet_hours="22:00-07:00")
    assert quiet_until(rule, night) == night.replace(hour=7)
    assert quiet_until(rule, night.replace(hour=23)) == night.replace(hour=7).replace(day=8)
    assert quiet_until(rule, night.replace(hour=12)) is None
    assert quiet_until(Rule(quiet_hours="13:00-14:00"), night.replace(hour=13, minute=30)) == night.replace(hour=14)
    settings = replace(SETTINGS, time_zone="America/Mexico_City",
                       rules=Rules(default=Rule(quiet_hours="22:00-07:00", crisis_min_severity=0)))  # fmt: skip
    notice, stored = declared(3)
    [held] = recipients(notice, stored, people("jorge"), CONFIG.principals, settings, night.timestamp())
    assert held.not_before == night.replace(hour=7).timestamp()
    notice, stored = declared(4)  # at quiet_hours_override (4): told at once
    [urgent] = recipients(notice, stored, people("jorge"), CONFIG.principals, settings, night.timestamp())
    assert urgent.not_before == 0.0


def test_a_webhook_is_told_once_and_only_what_all_its_stakeholders_may_read() -> None:
    hooks = (Webhook("energy-ops", "https://chat.example/hook", ("cfe", "pemex")),
             Webhook("mixed", "https://chat.example/other", ("cfe", "observer")))  # fmt: skip
    settings = replace(SETTINGS, smtp=None, webhooks=hooks)
    notice, stored = declared(4, TLP.AMBER)
    to = recipients(notice, stored, people(), CONFIG.principals, settings, NOON)
    assert [(r.via, r.address) for r in to] == [("webhook", "energy-ops")]  # the observer reads no AMBER


def test_content_leaves_the_hub_only_at_or_below_the_ceiling_and_never_red_or_amber_strict() -> None:
    assert may_travel(TLP.GREEN, TLP.GREEN) and not may_travel(TLP.AMBER, TLP.GREEN)
    assert may_travel(TLP.AMBER, TLP.AMBER)
    assert not may_travel(TLP.AMBER_STRICT, TLP.RED) and not may_travel(TLP.RED, TLP.RED)
    green, _ = declared(4, TLP.GREEN)
    full = render(green, "https://hub.example", TLP.GREEN, "UTC", EN)
    assert full.full and "Grid ransomware" in full.subject and "Substations of the north grid" in full.text
    assert full.link == f"https://hub.example/?crisis={green.crisis_id}"
    amber, _ = declared(4, TLP.AMBER)
    bare = render(amber, "https://hub.example", TLP.GREEN, "UTC", EN)
    assert not bare.full and "severity 4" in bare.subject and "TLP:AMBER" in bare.subject
    for secret in ("Grid ransomware", "Substations", "north grid", "Ana Ruiz"):
        assert secret not in bare.subject and secret not in bare.text
    red, _ = declared(4, TLP.RED)
    assert not render(red, "https://hub.example", TLP.RED, "UTC", EN).full


def test_several_messages_for_one_recipient_are_one_digest_and_each_webhook_format_is_what_it_takes() -> None:
    one, _ = declared(4, TLP.GREEN)
    two, _ = declared(5, TLP.AMBER)
    messages = [render(n, "https://hub.example", TLP.GREEN, "UTC", EN) for n in (one, two)]
    together = digest(messages, "https://hub.example", EN)
    assert together.subject == "[Crisis Hub] 2 things need your attention" and not together.full
    assert all(m.text in together.text for m in messages)
    assert digest(messages[:1], "https://hub.example", EN) == messages[0]
    slack = webhook_payload("slack", messages[0], ["crisis-declared"], 4, EN)
    assert slack["text"].startswith("*Crisis declared: Grid ransomware*")
    teams = webhook_payload("teams", messages[0], ["crisis-declared"], 4, EN)
    assert teams["@type"] == "MessageCard" and teams["potentialAction"][0]["targets"][0]["uri"] == messages[0].link
    plain = webhook_payload("json", messages[1], ["crisis-declared"], 5, EN)
    assert plain["content"] is False and plain["severity"] == 5 and plain["link"] == messages[1].link


def test_a_message_in_spanish_says_everything_in_spanish_with_its_time_in_the_hubs_time_zone() -> None:
    green, _ = declared(4, TLP.GREEN)
    full = render(green, "https://hub.example", TLP.GREEN, "America/Mexico_City", ES)
    assert full.full and full.subject == "[Crisis Hub] Crisis declarada: Grid ransomware"
    assert full.text.splitlines() == [
        "Crisis declarada: Grid ransomware",
        "Severidad: 4 (Severa)",
        "Substations of the north grid encrypted.",  # the crisis's own words stay as written
        "Por Ana Ruiz (CIDGE), 7 dic 2025 06:00 CST. Marcado como TLP:GREEN.",  # stored at 12:00 UTC
        "",
        f"https://hub.example/?crisis={green.crisis_id}",
    ]
    amber, _ = declared(4, TLP.AMBER)
    bare = render(amber, "https://hub.example", TLP.GREEN, "America/Mexico_City", ES)
    assert bare.subject == "[Crisis Hub] Crisis declarada: severidad 4 (Severa) · TLP:AMBER"
    assert bare.text.splitlines()[:2] == [
        "Algo en la sala de situación requiere su atención: crisis declarada, severidad 4 (Severa).",
        "Está marcado como TLP:AMBER, que este hub no envía por correo electrónico ni por webhook: ábralo en la sala "
        "de situación.",
    ]
    assert bare.text.endswith("\n7 dic 2025 06:00 CST")
    for secret in ("Grid ransomware", "Substations", "north grid", "Ana Ruiz"):
        assert secret not in bare.subject and secret not in bare.text


@pytest.mark.parametrize("tlp", list(TLP))
@pytest.mark.parametrize("ceiling", [TLP.GREEN, TLP.AMBER, TLP.RED])
def test_what_a_tlp_lets_leave_is_the_same_in_every_language(tlp: TLP, ceiling: TLP) -> None:
    notice, _ = declared(4, tlp)
    english, spanish = (render(notice, "https://hub.example", ceiling, "UTC", tr) for tr in (EN, ES))
    assert english.full == spanish.full == bool(may_travel(tlp, ceiling))
    for message in (english, spanish):
        assert ("Grid ransomware" in message.text) is message.full and ("Ana Ruiz" in message.text) is message.full


def test_an_action_items_due_time_and_an_escalation_by_the_hub_are_said_in_the_readers_words() -> None:
    crisis = crisis_obj(exercise=True)
    item = objects.new_action(crisis["id"], {"assignee": "cfe", "name": "Isolate", "due": "2025-12-07T18:30:00Z"},
                              "cidge", list(CONFIG.stakeholders))  # fmt: skip
    found = Crisis(crisis["id"], crisis)
    assigned = notice_of(event(item, TLP.GREEN), item, None, found, SCALE, "Ana Ruiz (CIDGE)")
    assert assigned is not None and assigned.due == item["due"]
    text = render(assigned, "https://hub.example", TLP.GREEN, "America/Mexico_City", ES).text.splitlines()
    assert text[:3] == [
        "EJERCICIO · Acción asignada a usted: Isolate",
        "Crisis: Grid ransomware, severidad 4 (Severa)",
        "Vence 7 dic 2025 12:30 CST.",
    ]
    escalated = {**item, "escalated": True}
    overdue = notice_of(event(escalated, TLP.GREEN), escalated, item, found, SCALE, "")  # written by the hub
    assert overdue is not None
    english = render(overdue, "https://hub.example", TLP.GREEN, "UTC", EN).text
    assert english.splitlines()[1:3] == [
        "Crisis: Grid ransomware, severity 4 (Severe)",
        "Was due 7 Dec 2025 18:30 UTC.",
    ]
    assert "By the hub, 7 Dec 2025 12:00 UTC." in english
    assert "Por el hub, " in render(overdue, "https://hub.example", TLP.GREEN, "UTC", ES).text


def test_a_digest_and_a_webhooks_button_are_in_the_readers_language() -> None:
    one, _ = declared(4, TLP.GREEN)
    two, _ = declared(5, TLP.AMBER)
    messages = [render(n, "https://hub.example", TLP.GREEN, "UTC", ES) for n in (one, two)]
    together = digest(messages, "https://hub.example", ES)
    assert together.subject == "[Crisis Hub] 2 elementos requieren su atención"
    assert together.text.startswith("2 elementos en la sala de situación requieren su atención:\n\n- Crisis declarada")
    teams = webhook_payload("teams", together, ["crisis-declared"], 5, ES)
    assert teams["title"] == "2 elementos requieren su atención"
    assert teams["potentialAction"][0]["name"] == "Abra la sala de situación"


@pytest.mark.parametrize("zone", ["Mars/Olympus", ""])
def test_a_bad_time_zone_is_a_configuration_error(zone: str) -> None:
    from hub.config import config_errors

    raw = _demo_raw()
    problems = config_errors({**raw, "hub": {**raw.get("hub", {}), "time_zone": zone}})
    assert any(p.startswith("hub.time_zone") for p in problems), problems


def _demo_raw() -> dict[str, Any]:
    import importlib.resources
    import tomllib

    return tomllib.loads(importlib.resources.files("hub").joinpath("demo.toml").read_text("utf-8"))


def test_an_item_that_quotes_an_amber_crisis_is_amber_whatever_its_own_tlp() -> None:
    """A GREEN action item's notice names its crisis: the crisis's AMBER name must not travel as GREEN content,
    nor reach someone who may read GREEN only."""
    crisis = crisis_obj(4, name="Secret pipeline crisis")
    body = {"assignee": "cfe", "name": "Check feeders", "in_minutes": 30, "tlp": "green"}
    item = objects.new_action(crisis["id"], body, "cidge", list(CONFIG.stakeholders))
    stored = event(item, TLP.GREEN)
    found = Crisis(crisis["id"], crisis, Level("committee", TLP.AMBER))
    notice = notice_of(stored, item, None, found, SCALE, "x")
    assert notice is not None and notice.tlp == TLP.AMBER
    message = render(notice, "https://hub.example", TLP.GREEN, "UTC", translator("en"))
    assert not message.full and "Secret pipeline crisis" not in message.subject + message.text
    jorge = replace(CONFIG.people["jorge"], max_tlp=TLP.GREEN)
    assert recipients(notice, stored, [(jorge, jorge.rights(CONFIG.principals["cfe"]))], CONFIG.principals,
                      SETTINGS, NOON) == []  # fmt: skip


def test_an_institutions_words_reach_a_chat_channel_as_text_never_as_a_ping_or_a_disguised_link() -> None:
    text = "Call <!channel> now: <https://evil.example|Open the situation room> & @all @here"
    message = Message("[Crisis Hub] Action item assigned to you: x", text, "https://hub.example/", True)
    slack = webhook_payload("slack", message, ["action-assigned"], 4, EN)["text"]
    assert "<!channel>" not in slack and "<https://evil" not in slack and "&lt;!channel&gt;" in slack
    assert "&amp;" in slack
    mattermost = webhook_payload("mattermost", message, ["action-assigned"], 4, EN)["text"]
    assert "@all" not in mattermost and "@here" not in mattermost and "@\u200ball" in mattermost
