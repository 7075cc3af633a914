"""JSON Schema verdicts in words, the same for every schema the hub checks (crisis objects, CACAO playbooks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

MAX_LISTED: Final = 8  # allowed values spelt out in a verdict; beyond, the schema's title (or "…") stands for them

_TYPE_NAMES: Final = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def plain_predicate(rule: str | None, definition: Mapping[str, Any]) -> str | None:
    """ "must be an integer", "must be at least 1", … for the rules said alike everywhere; None for the others."""
    if rule == "type":
        expected = definition.get("type")
        names = [expected] if isinstance(expected, str) else list(expected or [])
        return f"must be {' or '.join(_TYPE_NAMES.get(n, n) for n in names)}"
    if rule == "minimum":
        return f"must be at least {definition.get('minimum')}"
    if rule == "maximum":
        return f"must be at most {definition.get('maximum')}"
    return None


def dotted(path: Sequence[str]) -> str:
    """``affected_sectors[0]`` for fastjsonschema's path parts ``["affected_sectors", "0"]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out
