"""The sitrep briefing without a loop: which sections it has, in what order, and what each line says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hub.crisis.model import AckStatus, ActionItem, Crisis, Sitrep, SitrepEntry
from hub.crisis.sitrep import render_markdown
from hub.crisis.taxonomy import NCISS
from hub.tlp import TLP

NOW = datetime(2026, 11, 27, 17, 16, 30, tzinfo=UTC)
NAMES = {"cidge": "Committee", "pemex": "Oil", "cert-mx": "CERT", "sspc": "Security", "hub": "Crisis Hub"}
CRISIS = Crisis(
    id="incident--3a1b0c55-51a4-4b9e-9d2f-0e5f6d7c8b9a",
    name="Ransomware\nat the oil company",
    description=None,
    severity=NCISS[4],
    category="malicious-code",
    subcategory="infected-system",
    status="containing",
    lead="cert-mx",
    affected_sectors=(),
    affected_stakeholders=(),
    created="2026-11-27T17:00:00.000Z",
    modified="2026-11-27T17:01:00.000Z",
    channel="committee",
    tlp=TLP.AMBER_STRICT,
    updated="2026-11-27T17:01:00.250Z",
    updated_by="cidge",
    event_id="1795798860250-0",
)
SITREP = Sitrep("report--1", "Sitrep 2", "  Contained at one refinery.\n", "2026-11-27T17:12:00.000Z", "", ())


def action(name: str, status: str, *, overdue: bool = False, escalated: bool = False) -> ActionItem:
    return ActionItem(
        id=f"crisis-action--{name}", created="2026-11-27T17:00:00.000Z", modified="2026-11-27T17:00:00.000Z",
        crisis_ref=CRISIS.id, name=name, assignee="pemex", assigned_by="cidge", due="2026-11-27T17:10:00.000Z",
        status=status, escalated=escalated, description=None, comment=None, common={}, overdue=overdue,
        channel="committee", tlp=TLP.AMBER, updated="2026-11-27T17:00:00.000Z", updated_by="cidge",
    )  # fmt: skip


def pending(item: str, kind: str, version: str, *awaited: str) -> AckStatus:
    return AckStatus(item, kind, f"{kind} {item}", "cidge", version, "1795798860250-0", (), tuple(awaited))


def briefing(
    entries: list[SitrepEntry] | None = None,
    actions: list[ActionItem] | None = None,
    acks: list[AckStatus] | None = None,
) -> str:
    return render_markdown(CRISIS, SITREP, entries or [], actions or [], acks or [], names=NAMES, now=NOW)


def test_the_heading_says_the_crisis_state_and_its_tlp_in_capitals() -> None:
    lines = briefing().splitlines()
    assert lines[0] == "# Situation report: Ransomware at the oil company"
    assert lines[2] == "**Severity 4 — Severe** · status **containing** · lead **CERT** · TLP:AMBER+STRICT"
    assert "- Affected sectors: none declared" in lines and "- Affected stakeholders: none declared" in lines
    assert "- Last change: 17:01 UTC (15 min. ago) by Committee" in lines
    assert lines[lines.index("## Sitrep 2") + 2 :][:3] == [
        "_Published 17:12 UTC (4 min. ago)._",
        "",
        "Contained at one refinery.",
    ]


def test_a_sitrep_with_nothing_named_has_no_empty_sections() -> None:
    text = briefing()
    for heading in ("## Situation updates", "## Referenced intelligence", "## Action items", "## Acknowledgments"):
        assert heading not in text


def test_updates_are_told_oldest_first_and_intelligence_in_the_order_the_sitrep_names_it() -> None:
    later = SitrepEntry("note", "2026-11-27T17:06:00.000Z", "pemex", TLP.RED, None, "Second\nrefinery hit.")
    earlier = SitrepEntry("note", "2026-11-27T17:04:00.000Z", "cidge", TLP.AMBER, "Spread", "One refinery hit.")
    ioc = SitrepEntry("indicator", "2026-11-27T17:03:00.000Z", "cert-mx", TLP.GREEN, None, "C2 203.0.113.77")
    text = briefing([later, ioc, earlier])
    updates = text.split("## Situation updates\n\n")[1].split("\n\n")[0].splitlines()
    assert updates == [
        "- 17:04 UTC (12 min. ago) · Committee · TLP:AMBER: **Spread** — One refinery hit.",
        "- 17:06 UTC (10 min. ago) · Oil · TLP:RED: Second refinery hit.",
    ]
    assert "## Referenced intelligence\n\n- indicator · C2 203.0.113.77 · from CERT · TLP:GREEN\n" in text
    assert text.index("## Situation updates") < text.index("## Referenced intelligence")


def test_an_entry_a_person_wrote_names_them_with_their_stakeholder() -> None:
    update = SitrepEntry("note", "2026-11-27T17:04:00.000Z", "pemex", TLP.AMBER, None, "Refinery hit.", "Luis Herrera")
    ioc = SitrepEntry("indicator", "2026-11-27T17:03:00.000Z", "cert-mx", TLP.GREEN, None, "C2", "Ana Ruiz")
    text = briefing([update, ioc])
    assert "- 17:04 UTC (12 min. ago) · Luis Herrera (Oil) · TLP:AMBER: Refinery hit." in text
    assert "- indicator · C2 · from Ana Ruiz (CERT) · TLP:GREEN" in text


def test_action_items_are_ticked_when_completed_flagged_when_overdue_and_counted() -> None:
    text = briefing(actions=[
        action("Isolate OT", "assigned", overdue=True, escalated=True),
        action("Restore backups", "completed"),
        action("Call the vendor", "cancelled"),
    ])  # fmt: skip
    assert (
        "- [ ] Isolate OT — assigned to Oil by Committee, due 17:10 UTC (6 min. ago), assigned — **OVERDUE** "
        "(escalated)\n"
    ) in text
    assert "- [x] Restore backups — assigned to Oil by Committee, due 17:10 UTC (6 min. ago), completed\n" in text
    assert "- [ ] Call the vendor — " in text
    assert "1 of 3 action items open." in text


def test_only_the_current_crisis_version_is_awaited_and_every_other_item_as_its_kind() -> None:
    superseded = pending(CRISIS.id, "incident", "2026-11-27T17:00:00.000Z", "sspc")
    current = pending(CRISIS.id, "incident", CRISIS.modified, "pemex", "sspc")
    update = pending("note--1", "note", "2026-11-27T17:04:00.000Z", "unknown-id")
    text = briefing(acks=[superseded, current, update])
    section = text.split("## Acknowledgments\n\n")[1].splitlines()
    # The crisis as it stands now, in the briefing's words; an update by its kind as the briefing names it.
    assert section[:2] == [
        "- Crisis status “Ransomware at the oil company (severity 4, containing)” (Committee): awaiting Oil, Security",
        "- Update “note note--1” (Committee): awaiting unknown-id",
    ]


def test_when_nobody_is_awaited_the_briefing_says_so() -> None:
    done = replace(pending(CRISIS.id, "incident", CRISIS.modified), pending=())
    assert "Every expected stakeholder has acknowledged every item." in briefing(acks=[done])
    superseded_only = pending(CRISIS.id, "incident", "2026-11-27T17:00:00.000Z", "sspc")
    assert "## Acknowledgments" not in briefing(acks=[superseded_only])
