"""Which objects a STIX object is about: the references the hub indexes. Pure.

Every top-level ``*_ref`` and ``*_refs`` property counts, except the ones
that say who made or marked the object (``created_by_ref``,
``object_marking_refs``): those point at everyone's identity and marking
definitions and would make the index useless. So a note or report is indexed
under each of its ``object_refs``, a sighting under its ``sighting_of_ref``
(and where it was seen), a relationship under both ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_INDEXED = frozenset({"created_by_ref", "object_marking_refs"})


def refs_of(obj: Mapping[str, Any]) -> list[str]:
    """The distinct STIX ids ``obj`` refers to, in the order they appear."""
    found: dict[str, None] = {}
    for name, value in obj.items():
        if name in NOT_INDEXED:
            continue
        if name.endswith("_ref") and isinstance(value, str):
            found[value] = None
        elif name.endswith("_refs") and isinstance(value, list):
            found.update((v, None) for v in value if isinstance(v, str))
    return list(found)
