"""The fast path of STIX 2.1 validation: says "the full path accepts this" without running it.

How this works
--------------
The full path (:mod:`hub.stix`) accepts an object when our own checks,
``stix2validator.validate_instance`` and ``stix2.parse`` all accept it: about
3 ms per indicator, mostly spent rebuilding the validator's ``$ref`` registry,
in ``dateutil``/``strptime``, and in the ANTLR pattern grammar (twice).
:func:`fast_accepts` reproduces each part of that verdict, cheaply:

=============================  ==============================================
full path                      fast path
=============================  ==============================================
validator: JSON Schema         :mod:`~hub.stix.fast.schemas`: the same OASIS
                               schema files, chosen the same way, compiled
                               once into predicates with jsonschema's
                               semantics (:mod:`~hub.stix.fast.schema_compiler`)
validator: MUSTs and SHOULDs   :mod:`~hub.stix.fast.validator_checks`: the
                               library's functions where they can matter,
                               exact fast equivalents of the timestamp ones
stix2.parse                    :mod:`~hub.stix.fast.stix2_rules`: the SDO/SRO
                               property and constraint checks, mirrored; the
                               library itself for everything else
patterns (both libraries)      :mod:`~hub.stix.fast.patterns`: a recogniser of
                               simple patterns, else the grammar, cached
=============================  ==============================================

Each part either vouches for the object or declines; only when all vouch is
the object accepted without the full path. Declining never rejects: the
caller then runs the full path, whose verdict and reason are final. So the
fast path can only ever be wrong by accepting something the full path
rejects, and the property tests in ``tests/stix/test_fast.py`` look for
exactly that.

The parts were audited against the library versions in
:data:`hub.stix.fast.libraries.AUDITED_VERSIONS`; with other versions
installed :func:`fast_path_enabled` is False and everything takes the full
path. Everything here is pure (no I/O, no asyncio) and thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

import stix2  # type: ignore[import-untyped]

from hub.stix.fast.libraries import AUDITED_VERSIONS, LIBRARY_LOCK, SPEC_VERSION, installed_versions
from hub.stix.fast.patterns import pattern_accepted
from hub.stix.fast.schemas import check_schema
from hub.stix.fast.stix2_rules import UNSURE, stix2_pattern_version, stix2_verdict
from hub.stix.fast.validator_checks import AUDITED, validator_checks_pass

_log = logging.getLogger(__name__)

_announced: set[str] = set()


def fast_path_problem(
    installed: Mapping[str, str | None], audited: Mapping[str, str], checks_audited: bool
) -> str | None:
    """Why the fast path must stay off with these libraries, or None when it may run."""
    if not checks_audited:
        return "the installed stix2-validator runs other checks than the audited ones"
    differ = [
        f"{name} {installed.get(name) or 'missing'} (audited {wanted})"
        for name, wanted in audited.items()
        if installed.get(name) != wanted
    ]
    return f"the installed STIX libraries are not the audited versions: {', '.join(differ)}" if differ else None


@cache
def installed_problem() -> str | None:
    """Why the fast path is off in this installation, or None when it is on."""
    return fast_path_problem(installed_versions(), AUDITED_VERSIONS, AUDITED)


def fast_path_enabled() -> bool:
    """True when the installed libraries are the audited ones (else :func:`fast_accepts` is always False)."""
    return installed_problem() is None


def announce_fast_path(problem: str | None) -> bool:
    """Say once, as a WARNING, that the fast path is off because of ``problem``; return whether it is on.

    The hub says it as it starts (``announce_fast_path(installed_problem())``);
    :func:`fast_accepts` says it too, so that a hub started otherwise still
    says it, at its first object.
    """
    if problem is not None and problem not in _announced:
        _announced.add(problem)
        _log.warning("fast STIX validation is off: %s; every object takes the full (slow) path", problem)
    return problem is None


def fast_accepts(obj: dict[str, Any]) -> bool:
    """True when the full path surely accepts ``obj``; False when it must be asked.

    ``obj`` has passed :mod:`hub.stix`'s own checks (a dict with string
    ``type`` and ``id``, not a bundle, ``spec_version`` "2.1" if present, an
    id starting with ``type--``). Never raises.
    """
    if not announce_fast_path(installed_problem()):
        return False
    try:
        return (
            check_schema(obj)
            and validator_checks_pass(obj)
            and (stix2_verdict(obj) or _stix2_library_accepts(obj))
            and _pattern_accepted(obj)
        )
    except Exception:  # noqa: BLE001 - anything unexpected: let the full path judge
        return False


def _stix2_library_accepts(obj: dict[str, Any]) -> bool:
    with LIBRARY_LOCK:
        try:
            stix2.parse(obj, allow_custom=True, version=SPEC_VERSION)
        except Exception:  # noqa: BLE001 - stix2 raises many classes, and plain TypeErrors
            return False
    return True


def _pattern_accepted(obj: dict[str, Any]) -> bool:
    """The pattern checks of both libraries (musts.patterns and Indicator's run_validator)."""
    if obj["type"] != "indicator" or obj.get("pattern_type") != "stix":
        return True
    pattern = obj.get("pattern")
    if not isinstance(pattern, str):
        return False
    if "pattern_version" in obj:
        validator_version = obj["pattern_version"]
    else:
        validator_version = obj.get("spec_version", SPEC_VERSION)
    stix2_version = stix2_pattern_version(obj)
    if not isinstance(validator_version, str) or stix2_version is UNSURE:
        return False
    assert stix2_version is None or isinstance(stix2_version, str)
    return pattern_accepted(pattern, validator_version, stix2_version)
