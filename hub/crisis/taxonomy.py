"""The scales the crisis workflow speaks: severity, incident type, status. Pure data.

Severity follows the six levels of the US National Cyber Incident Scoring
System (NCISS), with its colours; a deployment may configure its own scale.
Incident types are the Reference Security Incident Taxonomy (RSIT) that
European CSIRTs share: a category and one of its sub-types.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeverityLevel:
    level: int
    name: str
    colour: str
    description: str = ""


NCISS: tuple[SeverityLevel, ...] = (
    SeverityLevel(0, "Baseline", "#ffffff", "Unsubstantiated or inconsequential event."),
    SeverityLevel(1, "Low", "#00b050", "Unlikely to affect public health or safety, national security, the economy."),
    SeverityLevel(2, "Medium", "#ffff00", "May affect public health or safety, national security, the economy."),
    SeverityLevel(3, "High", "#ffc000", "Likely to result in a demonstrable impact on public health or safety."),
    SeverityLevel(4, "Severe", "#ff0000", "Likely to result in a significant impact on public health or safety."),
    SeverityLevel(5, "Emergency", "#000000", "An imminent threat to critical infrastructure or government stability."),
)

RSIT: dict[str, tuple[str, ...]] = {
    "abusive-content": ("spam", "harmful-speech", "violence"),
    "malicious-code": ("infected-system", "c2-server", "malware-distribution", "malware-configuration"),
    "information-gathering": ("scanner", "sniffing", "social-engineering"),
    "intrusion-attempts": ("ids-alert", "brute-force", "exploit"),
    "intrusions": (
        "privileged-account-compromise",
        "unprivileged-account-compromise",
        "application-compromise",
        "system-compromise",
        "burglary",
    ),
    "availability": ("dos", "ddos", "misconfiguration", "sabotage", "outage"),
    "information-content-security": (
        "unauthorised-information-access",
        "unauthorised-information-modification",
        "data-loss",
        "data-leak",
    ),
    "fraud": ("unauthorised-use-of-resources", "copyright", "masquerade", "phishing"),
    "vulnerable": (
        "weak-crypto",
        "ddos-amplifier",
        "potentially-unwanted-accessible",
        "information-disclosure",
        "vulnerable-system",
    ),
    "other": ("other", "undetermined"),
    "test": ("test",),
}

STATUSES: tuple[str, ...] = ("detected", "assessing", "containing", "recovering", "closed")

ACTION_STATUSES: tuple[str, ...] = ("assigned", "accepted", "in-progress", "completed", "failed", "cancelled")
OPEN_ACTION_STATUSES = frozenset({"assigned", "accepted", "in-progress"})
