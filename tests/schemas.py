"""Check real traffic against the JSON Schemas the project publishes in schemas/."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema

SCHEMAS = Path(__file__).parent.parent / "schemas"


def _load(uri: str) -> Any:
    return json.loads((SCHEMAS / uri.rsplit("/", 1)[-1]).read_text())


@cache
def validator(name: str) -> Callable[[Any], Any]:
    """The compiled check of ``schemas/<name>.schema.json``: raises on a document that does not match."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    # Relative $refs resolve against the schema's $id; serve them from the folder, never the network.
    return fastjsonschema.compile(schema, handlers={"https": _load, "http": _load})


def conforms(name: str, document: Any) -> Any:
    """Raise if ``document`` does not match ``schemas/<name>.schema.json``; return it."""
    validator(name)(document)
    return document
