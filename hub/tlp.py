"""Traffic Light Protocol 2.0 levels and their STIX marking-definition ids.

Pure: no I/O. TLP 2.0 marking ids are the OASIS ones; the TLP 1.0 ids that the
stix2 library ships (``stix2.TLP_WHITE`` …) are mapped onto their 2.0 meaning
(WHITE is CLEAR).

STIX identifiers compare case-insensitively in their UUID part, and the
validators accept an upper-case UUID: ``marking-definition--E828B379-…`` is
TLP:RED as much as the lower-case id is. A TLP read as "no marking" would give
a RED object its channel's default, so every marking ref is looked up verbatim
first (the common case, one dict hit) and lower-cased only when that misses.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final


class TLP(enum.IntEnum):
    """TLP 2.0 levels, ordered from least to most restrictive."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        """The official label, e.g. ``TLP:AMBER+STRICT``."""
        return "TLP:" + self.name.replace("_", "+")

    @property
    def token(self) -> str:
        """The short lowercase form used in configs and events, e.g. ``amber+strict``."""
        return self.name.replace("_", "+").lower()

    @property
    def marking_id(self) -> str:
        """The TLP 2.0 marking-definition id of this level."""
        return TLP2_MARKING_IDS[self]

    @classmethod
    def parse(cls, text: str) -> TLP:
        """Read ``amber+strict``, ``TLP:AMBER+STRICT``, ``white`` (TLP 1.0) and the like."""
        name = text.strip().upper()
        if name.startswith("TLP:"):
            name = name[4:]
        name = name.replace("+", "_").replace("-", "_")
        if name == "WHITE":
            return cls.CLEAR
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown TLP level {text!r}") from None


TLP2_MARKING_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# TLP 1.0 marking definitions as published with STIX 2.1 (and shipped by stix2).
TLP1_MARKING_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    TLP.GREEN: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    TLP.AMBER: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    TLP.RED: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}

MARKING_TLP: dict[str, TLP] = {
    **{mid: level for level, mid in TLP1_MARKING_IDS.items()},
    **{mid: level for level, mid in TLP2_MARKING_IDS.items()},
}


# The TLP 2.0 marking definitions declare their level in this property extension.
TLP2_EXTENSION_ID: Final = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


def level_of_marking(marking_ref: str) -> TLP | None:
    """The TLP of one official TLP marking-definition id (2.0, or 1.0 mapped), in any letter case; else None."""
    level = MARKING_TLP.get(marking_ref)
    if level is None:
        level = MARKING_TLP.get(marking_ref.lower())
    return level


def level_of_markings(marking_refs: Iterable[str]) -> TLP | None:
    """The most restrictive TLP among ``marking_refs``, or None if none is a TLP marking.

    The most restrictive wins: an object marked both GREEN and RED is RED.
    Ids are recognised in any letter case (see the module docstring).
    """
    most: TLP | None = None
    for ref in marking_refs:
        level = level_of_marking(ref)
        if level is not None and (most is None or level > most):
            most = level
    return most


def declared_tlp(marking_definition: Mapping[str, Any]) -> str | None:
    """The TLP a marking-definition's content declares, as written (``"red"``), or None if it declares none.

    Declaring means: the TLP 2.0 extension (``tlp_2_0``), a TLP 1.0 style
    ``definition_type: "tlp"`` or ``definition: {"tlp": …}``. A declared value
    that is not a string comes back as its ``repr``, so it still counts as a
    declaration. Whether the declaration is *honoured* is another matter: only
    the official ids carry a TLP (:func:`level_of_marking`).
    """
    declared: object = None
    definition = marking_definition.get("definition")
    definition_type = marking_definition.get("definition_type")
    if isinstance(definition, Mapping) and "tlp" in definition:
        declared = definition["tlp"]
    elif isinstance(definition_type, str) and definition_type.lower() == "tlp":
        declared = definition.get("tlp", "") if isinstance(definition, Mapping) else ""
    extensions = marking_definition.get("extensions")
    if declared is None and isinstance(extensions, Mapping):
        for name, extension in extensions.items():
            if isinstance(extension, Mapping) and "tlp_2_0" in extension:
                declared = extension["tlp_2_0"]
                break
            if isinstance(name, str) and name.lower() == TLP2_EXTENSION_ID:
                declared = ""
    if declared is None and "tlp_2_0" in marking_definition:
        declared = marking_definition["tlp_2_0"]
    if declared is None:
        return None
    return declared if isinstance(declared, str) else repr(declared)
