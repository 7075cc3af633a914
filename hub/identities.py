"""Every stakeholder's STIX ``identity``: a stable id derived from its config id, published to all. Pure.

An object whose ``created_by_ref`` names a stakeholder's identity says that
stakeholder made it; the hub refuses such an object from anyone else
(:func:`hub.policy.may_attribute`). The ids are UUIDv5 of the config id, so
they never change while the stakeholder keeps its id, on every hub.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from hub.crisis.objects import HUB_IDENTITY_ID
from hub.policy import HUB

_NAMESPACE = uuid.UUID("6f1c3f0e-2b7a-5d4e-9c1a-3e8b7d2f4a10")
_EPOCH = "2026-11-27T00:00:00.000Z"


def identity_id(stakeholder: str) -> str:
    """The STIX identity id of ``stakeholder`` (its config id)."""
    return f"identity--{uuid.uuid5(_NAMESPACE, stakeholder)}"


def identity_object(stakeholder: str, name: str, sector: str | None) -> dict[str, Any]:
    """The identity a stakeholder's objects may name in ``created_by_ref``."""
    obj: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(stakeholder),
        "created": _EPOCH,
        "modified": _EPOCH,
        "name": name,
        "identity_class": "organization",
        "created_by_ref": HUB_IDENTITY_ID,
    }
    if sector:
        obj["sectors"] = [sector]
    return obj


def owners_of_identities(stakeholders: Iterable[str]) -> Mapping[str, str]:
    """Each known identity id (lower case) → the stakeholder it stands for; the hub's own identity → the hub."""
    return {**{identity_id(s): s for s in stakeholders}, HUB_IDENTITY_ID: HUB}
