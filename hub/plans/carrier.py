"""A playbook carried in a STIX 2.1 ``course-of-action``, and taken back out byte for byte. Pure.

The carrier is the course-of-action playbook extension
(``schemas/cacao-coa/``, MIT): a property extension of ``course-of-action``
whose ``playbook_bin`` holds the playbook's bytes in base64. The hub wraps the
exact bytes it is given, so the playbook a stakeholder exported is the one it
wrote, signatures and formatting included; the course-of-action around it is
an ordinary STIX object, stored, versioned and shared like any other.

Its id is derived from the playbook's id (:func:`coa_id`), and its ``created``
and ``modified`` are the playbook's: a new version of the playbook is a new
version of the same course-of-action.
"""

from __future__ import annotations

import base64
import binascii
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any, Final

import orjson

from hub.crisis.objects import marked, stable_id
from hub.errors import InvalidStix
from hub.tlp import TLP

EXTENSION_ID: Final = "extension-definition--1e1c1bd7-c527-4215-8e18-e199e74da57c"
COA: Final = "course-of-action"
CACAO: Final = "cacao"
EXTENSION_FILE: Final = f"cacao-coa/{EXTENSION_ID}.json"
CONTENT_KEYS: Final = ("playbook_bin", "playbook_base64")
"""Where the content may be: ``playbook_bin`` is the normative name; the published example uses the other."""


class NotAPlaybook(InvalidStix, title="Not a playbook"):
    """Bytes that cannot be wrapped, or a course-of-action that carries no playbook."""


def coa_id(playbook_id: str) -> str:
    """The id of the course-of-action that carries playbook ``playbook_id``, on every hub."""
    return stable_id(COA, playbook_id)


def extension_definition() -> dict[str, Any]:
    """The extension-definition object of the carrier, as published (shared with the plans the hub wraps)."""
    text = importlib.resources.files("hub.schemas").joinpath(EXTENSION_FILE).read_text("utf-8")
    document = json.loads(text)
    found: dict[str, Any] = next(o for o in document["objects"] if o.get("id") == EXTENSION_ID)
    return found


def wrap(data: bytes, tlp: TLP | None = None, *, abstraction: str = "executable") -> dict[str, Any]:
    """The course-of-action that carries the CACAO playbook ``data``, marked ``tlp`` (None: unmarked).

    ``data`` is kept exactly: the extension's ``playbook_bin`` is its base64.
    NotAPlaybook if ``data`` is not a JSON playbook with a string ``id``,
    ``name``, ``created`` and ``modified``.
    """
    try:
        playbook = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NotAPlaybook(f"not JSON, so not a CACAO playbook: {exc}") from None
    if not isinstance(playbook, dict) or playbook.get("type") != "playbook":
        raise NotAPlaybook('not a CACAO playbook: a JSON object with "type": "playbook" is expected')
    fields = {}
    for name in ("id", "name", "created", "modified"):
        value = playbook.get(name)
        if not isinstance(value, str) or not value:
            raise NotAPlaybook(f"the playbook has no {name!r}: it cannot be wrapped")
        fields[name] = value
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "playbook_id": fields["id"],
        "created": fields["created"],
        "modified": fields["modified"],
        "playbook_standard": CACAO,
        "playbook_abstraction": abstraction,
        "playbook_bin": base64.b64encode(data).decode("ascii"),
    }
    coa: dict[str, Any] = {
        "type": COA,
        "spec_version": "2.1",
        "id": coa_id(fields["id"]),
        "created": fields["created"],
        "modified": fields["modified"],
        "name": fields["name"],
    }
    if isinstance(playbook.get("description"), str) and playbook["description"]:
        coa["description"] = playbook["description"]
    coa["extensions"] = {EXTENSION_ID: extension}
    return marked(coa, tlp)


def extension_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The playbook extension of a course-of-action, or None if ``obj`` is no course-of-action carrying one."""
    if obj.get("type") != COA:
        return None
    extensions = obj.get("extensions")
    if not isinstance(extensions, Mapping):
        return None
    extension = extensions.get(EXTENSION_ID)
    return extension if isinstance(extension, Mapping) else None


def carries_cacao(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a course-of-action whose playbook extension says the playbook is CACAO."""
    extension = extension_of(obj)
    standard = extension.get("playbook_standard") if extension is not None else None
    return isinstance(standard, str) and standard.strip().lower() == CACAO


def unwrap(obj: Mapping[str, Any]) -> bytes:
    """The exact bytes of the playbook a course-of-action carries; NotAPlaybook, saying why, if it carries none."""
    extension = extension_of(obj)
    if extension is None:
        raise NotAPlaybook(
            f"{obj.get('id', 'the object')} is not a course-of-action carrying a playbook ({EXTENSION_ID})"
        )
    for key in CONTENT_KEYS:
        content = extension.get(key)
        if content is None:
            continue
        if not isinstance(content, str):
            raise NotAPlaybook(f"{content_where(key)}: must be base64 text")
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise NotAPlaybook(f"{content_where(key)}: not valid base64") from None
    raise NotAPlaybook(f"extensions.{EXTENSION_ID}: carries no playbook (no playbook_bin)")


def content_where(key: str = "playbook_bin") -> str:
    """Where a course-of-action holds its playbook, as a problem names it."""
    return f"extensions.{EXTENSION_ID}.{key}"
