"""The published JSON Schemas compile, and they do reject what they should."""

from __future__ import annotations

from pathlib import Path

import fastjsonschema
import pytest

from tests.schemas import SCHEMAS, conforms, validator


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_schema_compiles(path: Path) -> None:
    assert callable(validator(path.name.removesuffix(".schema.json")))


@pytest.mark.parametrize(
    "name, document",
    [
        ("event", {"id": "1-0", "channel": "c", "time": "yesterday", "source": "s", "tlp": "red", "type": "t",
                   "object": {"type": "t", "id": "t--1"}}),
        ("error", {"title": "x", "description": "y", "http_status": 404}),
        ("post-result", {"accepted": [], "duplicates": [], "rejected": [{"index": 0, "id": None, "reason": ""}]}),
        ("events-page", {"events": [{"id": "nope"}]}),
    ],
)  # fmt: skip
def test_schemas_reject_wrong_documents(name: str, document: object) -> None:
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        conforms(name, document)
