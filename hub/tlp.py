"""Traffic Light Protocol 2.0 levels and their STIX marking-definition ids.

Pure: no I/O. TLP 2.0 marking ids are the OASIS ones; the TLP 1.0 ids that the
stix2 library ships (``stix2.TLP_WHITE`` …) are mapped onto their 2.0 meaning
(WHITE is CLEAR).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


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


def level_of_markings(marking_refs: Iterable[str]) -> TLP | None:
    """The most restrictive TLP among ``marking_refs``, or None if none is a TLP marking.

    The most restrictive wins: an object marked both GREEN and RED is RED.
    """
    levels = [MARKING_TLP[ref] for ref in marking_refs if ref in MARKING_TLP]
    return max(levels) if levels else None
