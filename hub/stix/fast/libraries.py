"""The STIX libraries the fast path reproduces: imported on first use, tamed, and serialised.

Importing ``stix2validator`` calls ``colorama.init()``, which replaces
``sys.stdout``/``sys.stderr`` with wrappers. So nothing here imports it at
import time: :func:`load` does, the first time anything asks for the validator
(``from hub.stix.fast.libraries import enums`` asks, through the module's
``__getattr__``), and puts the original streams back before returning. It also
raises the validator's loggers to ERROR so that per-object advice (e.g. on
software language codes) does not flood the hub's log.

Both libraries parse STIX patterns with the ANTLR Python runtime, whose shared
DFA cache is not thread-safe, and the validator caches schemas in module
dicts: :data:`LIBRARY_LOCK` serialises every call that may reach them
(``validate_instance``, ``stix2.parse``, pattern parsing). The MUST/SHOULD
functions the fast path calls directly touch none of that (their lazily built
IANA tables are built by :func:`load`).

The fast path was audited against the versions in :data:`AUDITED_VERSIONS`;
with any other installed version it is switched off (see
:func:`hub.stix.fast.fast_path_enabled`).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

SPEC_VERSION: Final = "2.1"

LIBRARY_LOCK: Final = threading.Lock()
"""Held around every library call that may parse a pattern or touch the validator's schema caches."""

AUDITED_VERSIONS: Final = {"stix2": "3.0.2", "stix2-validator": "3.3.2", "stix2-patterns": "2.1.2"}

# What ``from hub.stix.fast.libraries import NAME`` gives, loaded by load(): the module it names.
_MODULES: Final = {
    "stix2validator": "stix2validator",
    "validator_module": "stix2validator.validator",
    "enums": "stix2validator.v21.enums",
    "musts": "stix2validator.v21.musts",
    "shoulds": "stix2validator.v21.shoulds",
}


def installed_versions() -> dict[str, str | None]:
    """The installed version of each audited library (None when not installed as a distribution)."""
    found: dict[str, str | None] = {}
    for name in AUDITED_VERSIONS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


@contextmanager
def _streams_kept() -> Iterator[None]:
    """Whatever runs inside leaves ``sys.stdout`` and ``sys.stderr`` as they were."""
    stdout, stderr = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _restore_std_streams() -> None:
    """Undo a ``colorama.init()`` that ran before :func:`load` (the validator imported elsewhere first).

    Only streams that are still colorama's own wrappers are put back, so a
    stream replaced since (by pytest's capture, say) is left alone.
    """
    try:
        from colorama import initialise  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - colorama is a dependency of stix2validator
        return
    if initialise.orig_stdout is not None and sys.stdout is initialise.wrapped_stdout:
        sys.stdout = initialise.orig_stdout
    if initialise.orig_stderr is not None and sys.stderr is initialise.wrapped_stderr:
        sys.stderr = initialise.orig_stderr


UNUSED_FORMAT_MODULE: Final = "rfc3987_syntax"
"""What jsonschema imports, when installed, for its ``iri`` format check alone (see below)."""


def _skip_unused_iri_grammar() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax``, which builds a grammar taking 1.5–2 s of CPU.

    stix2-validator requires ``jsonschema[format-nongpl]``, which installs it; jsonschema imports it only to
    check the ``iri`` format, which no STIX 2.1 schema of the validator uses (``tests/stix/test_fast.py``
    checks). Marked absent before jsonschema is first imported, it costs nothing at every hub and command
    start; a module that was imported already is left alone.
    """
    if "jsonschema" not in sys.modules:
        # None in sys.modules is Python's documented way to make an import raise ImportError.
        sys.modules.setdefault(UNUSED_FORMAT_MODULE, None)  # type: ignore[arg-type]


@cache
def load() -> dict[str, Any]:
    """Import the validator once, with the standard streams and the log kept as they were.

    Returns what this module lends by name (:data:`_MODULES`, and ``VALIDATOR_OPTIONS``:
    the validator's options, STIX 2.1 and defaults otherwise, read per call and never changed).
    """
    _skip_unused_iri_grammar()
    with _streams_kept():
        loaded: dict[str, Any] = {name: importlib.import_module(module) for name, module in _MODULES.items()}
    _restore_std_streams()
    logging.getLogger("stix2validator").setLevel(logging.ERROR)
    enums = loaded["enums"]
    # Build the validator's lazily loaded IANA tables now, not concurrently later.
    for table in (enums.media_types, enums.char_sets, enums.protocols, enums.ipfix):
        table()
    loaded["VALIDATOR_OPTIONS"] = loaded["stix2validator"].ValidationOptions(version=SPEC_VERSION)
    return loaded


def __getattr__(name: str) -> Any:
    """The validator's modules and options, loaded on first use (see :func:`load`)."""
    if name in _MODULES or name == "VALIDATOR_OPTIONS":
        return load()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
