"""The STIX libraries the fast path reproduces: imported once, tamed, and serialised.

Importing ``stix2validator`` calls ``colorama.init()``, which replaces
``sys.stdout``/``sys.stderr`` with wrappers; the original streams are put back.
Its loggers are raised to ERROR so that per-object advice (e.g. on software
language codes) does not flood the hub's log.

Both libraries parse STIX patterns with the ANTLR Python runtime, whose shared
DFA cache is not thread-safe, and the validator caches schemas in module
dicts: :data:`LIBRARY_LOCK` serialises every call that may reach them
(``validate_instance``, ``stix2.parse``, pattern parsing). The MUST/SHOULD
functions the fast path calls directly touch none of that (their lazily built
IANA tables are built here, at import).

The fast path was audited against the versions in :data:`AUDITED_VERSIONS`;
with any other installed version it is switched off (see
:func:`hub.stixcheck.fast_path_enabled`).
"""

from __future__ import annotations

import logging
import sys
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Final

import stix2  # type: ignore[import-untyped]  # noqa: F401 - imported here first, for the side effects below
import stix2validator  # type: ignore[import-untyped]
from stix2validator.v21 import enums  # type: ignore[import-untyped]


def _restore_std_streams() -> None:
    """Undo ``colorama.init()`` done by ``stix2validator.output`` at import time.

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


_restore_std_streams()
logging.getLogger("stix2validator").setLevel(logging.ERROR)

SPEC_VERSION: Final = "2.1"

VALIDATOR_OPTIONS: Final = stix2validator.ValidationOptions(version=SPEC_VERSION)
"""The validator's options: STIX 2.1, defaults otherwise (read per call, never changed)."""

LIBRARY_LOCK: Final = threading.Lock()
"""Held around every library call that may parse a pattern or touch the validator's schema caches."""

AUDITED_VERSIONS: Final = {"stix2": "3.0.2", "stix2-validator": "3.3.2", "stix2-patterns": "2.1.2"}


def installed_versions() -> dict[str, str | None]:
    """The installed version of each audited library (None when not installed as a distribution)."""
    found: dict[str, str | None] = {}
    for name in AUDITED_VERSIONS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


# Build the validator's lazily loaded IANA tables now, not concurrently later.
for _table in (enums.media_types, enums.char_sets, enums.protocols, enums.ipfix):
    _table()
