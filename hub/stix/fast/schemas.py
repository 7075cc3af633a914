"""The OASIS STIX 2.1 JSON Schemas shipped in ``stix2validator``, compiled once, chosen per object as it does.

``stix2validator.validate_instance`` (STIX 2.1, default options) checks an
object against exactly one schema file of ``stix2validator/schemas-2.1/schemas``:

- the file named ``<type>.json`` found first by ``os.walk`` (skipping any
  directory whose path contains "examples"), wherever it is: so an SDO, SRO or
  SCO type gets its own schema, and a custom type that happens to be named like
  a common file (``identifier``, ``timestamp`` …) gets that file;
- otherwise, for a custom type, ``cyber-observable-core.json`` when the object
  has neither ``created`` nor ``modified`` and is not a marking definition,
  else ``core.json``.

Custom properties and extensions are whatever those schemas say (they allow
them, with ``common/properties.json`` checking their names and value types).
An ``observed-data`` with the deprecated ``objects`` property is checked per
embedded object too: :func:`check_schema` leaves such objects to the full path.

The documents are read from the installed package, their ``$ref`` resolved
against their own file URIs (as the validator does after patching ``$id``),
and compiled with :mod:`hub.stix.fast.schema_compiler` on first use; nothing
is fetched from the network.
"""

from __future__ import annotations

import json
import os
import pathlib
import threading
from collections.abc import Mapping
from typing import Any, Final

from hub.stix.fast.libraries import validator_module
from hub.stix.fast.schema_compiler import Check, SchemaCompiler

SCHEMA_DIR: Final = os.path.abspath(os.path.dirname(validator_module.__file__) + "/schemas-2.1/schemas/")


class _Schemas:
    def __init__(self) -> None:
        documents: dict[str, Mapping[str, Any]] = {}
        found: dict[str, str] = {}
        for root, _dirs, files in os.walk(SCHEMA_DIR, followlinks=True):
            for filename in sorted(files):
                if not filename.endswith(".json"):
                    continue
                path = os.path.join(root, filename)
                uri = pathlib.Path(path).as_uri()
                with open(path, encoding="utf-8") as file:
                    documents[uri] = json.load(file)
                # find_schema's rule: skip "examples" dirs, first directory walked wins.
                if "examples" not in root:
                    found.setdefault(filename[: -len(".json")], uri)
        compiler = SchemaCompiler(documents, validator_module.Draft202012Validator.FORMAT_CHECKER)
        self.by_name: dict[str, Check] = {name: compiler.compile(uri) for name, uri in found.items()}
        self.core = self.by_name["core"]
        self.observable_core = self.by_name["cyber-observable-core"]


_lock = threading.Lock()
_loaded: _Schemas | None = None


def _schemas() -> _Schemas:
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _Schemas()
    return _loaded


def load() -> None:
    """Read and compile the schemas now (they are otherwise compiled on first use)."""
    _schemas()


def schema_check_for(obj: Mapping[str, Any]) -> Check:
    """The compiled schema the validator would check ``obj`` against (``obj["type"]`` is a string)."""
    schemas = _schemas()
    check = schemas.by_name.get(obj["type"])
    if check is not None:
        return check
    if "created" not in obj and "modified" not in obj and obj["type"] != "marking-definition":
        return schemas.observable_core
    return schemas.core


def check_schema(obj: Mapping[str, Any]) -> bool:
    """True when ``obj`` is valid against its schema; False when invalid or not checked here.

    False for an ``observed-data`` with ``objects``: the validator then also
    checks each embedded object, which is left to the full path.
    """
    if obj["type"] == "observed-data" and "objects" in obj:
        return False
    return schema_check_for(obj)(obj)
