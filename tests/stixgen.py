"""Small factories of valid STIX 2.1 objects for tests."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from hub.tlp import TLP

_counter = itertools.count(1)


def indicator(tlp: TLP | None = None, *, modified: str = "2026-11-27T10:00:00.000Z", **extra: Any) -> dict[str, Any]:
    """A novel indicator with its own pattern; marked ``tlp`` (TLP 2.0 id) when given."""
    n = next(_counter)
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-11-27T10:00:00.000Z",
        "modified": modified,
        "name": f"C2 address {n}",
        "pattern": f"[ipv4-addr:value = '198.51.{n // 250 % 250}.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-11-27T10:00:00Z",
    }
    if tlp is not None:
        obj["object_marking_refs"] = [tlp.marking_id]
    obj.update(extra)
    return obj


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}
