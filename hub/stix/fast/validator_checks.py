"""The validator's Python checks (MUSTs and SHOULDs), run only where they can matter.

How this works
--------------
After the JSON Schema, ``stix2validator.validate_instance`` runs 16 MUST
functions (each item they yield is an error) and 47 SHOULD functions (their
items are only warnings) on the object. Any exception raised by either kind
propagates out of ``validate_instance``, and the hub counts that as a
rejection, so a SHOULD matters when it can raise.

:func:`validator_checks_pass` gives the same verdict much faster:

- ``timestamp`` and ``timestamp_compare`` are replaced by exact equivalents
  that parse with :func:`hub.stix.fast.timestamps.parse_strict` instead of
  ``dateutil``/``strptime``; for any value it does not cover, the library
  function itself is run.
- ``patterns`` is not run here: :mod:`hub.stix.fast.patterns` checks the
  pattern (with a cache) for both libraries at once.
- Every other MUST is the library's own, called the way
  ``validate_instance`` calls it, but only when the object has something it
  looks at: each one's first lines return early unless the object is of given
  types or has given properties (the triggers below were read from
  ``stix2validator/v21/musts.py``).
- A SHOULD only matters when it raises, so each is run only when it could:
  the predicates below (``_*_could_raise``) say, conservatively, when its code indexes,
  hashes or calls a string method on something that may not support it
  (read from ``stix2validator/v21/shoulds.py``); otherwise it only compares
  and returns warnings. Four are never run: on an object with a string
  ``type`` and ``id`` they cannot raise (``uuid_check`` catches the
  ``ValueError`` of a bad UUID; ``indicator_property_check`` and
  ``deprecated_property_check`` only test membership; ``duplicate_ids`` is for
  bundles).
- For SCO types (which most ``cyber_observable_check`` functions look at),
  every function is run. ``observable_object_keys`` and
  ``observable_object_references`` only look at ``observed-data`` with
  ``objects``, which this module leaves to the full path.

The validator also runs every check on each STIX-looking dict (one with
``id`` and ``type``) found in a list-valued property; objects holding such a
dict are left to the full path, as are objects with an ``objects`` property.

The function lists are checked against the installed library at import: if
``stix2validator`` runs other checks than the ones audited here,
:data:`AUDITED` is False and the fast path is not used at all.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from hub.stix.fast.libraries import enums, musts, shoulds, stix2validator
from hub.stix.fast.timestamps import parse_strict

_OPTIONS: Final = stix2validator.ValidationOptions(version="2.1")

# MUST and SHOULD functions, by name, in the order validate_instance runs them.
MUSTS: Final[dict[str, Callable[..., Any]]] = {f.__name__: f for f in musts.list_musts(_OPTIONS)}
SHOULDS: Final[dict[str, Callable[..., Any]]] = {f.__name__: f for f in shoulds.list_shoulds(_OPTIONS)}

_AUDITED_MUSTS: Final = (
    "timestamp timestamp_compare observable_timestamp_compare object_marking_circular_refs "
    "granular_markings_circular_refs marking_selector_syntax observable_object_references "
    "artifact_mime_type character_set language software_language patterns cpe_check "
    "language_contents uuid_version_check process"
).split()

# The check_vocab() SHOULDs and the enums table that says where they look.
VOCAB_SHOULDS: Final = {
    "vocab_attack_motivation": "ATTACK_MOTIVATION_USES",
    "vocab_attack_resource_level": "ATTACK_RESOURCE_LEVEL_USES",
    "vocab_grouping_context": "GROUPING_CONTEXT_USES",
    "vocab_implementation_languages": "IMPLEMENTATION_LANGUAGES_USES",
    "vocab_infrastructure_types": "INFRASTRUCTURE_TYPE_USES",
    "vocab_malware_capabilities": "MALWARE_CAPABILITIES_USES",
    "vocab_malware_result": "MALWARE_RESULT_USES",
    "vocab_processor_architecture": "PROCESSOR_ARCHITECTURE_USES",
    "vocab_identity_class": "IDENTITY_CLASS_USES",
    "vocab_indicator_types": "INDICATOR_TYPE_USES",
    "vocab_industry_sector": "INDUSTRY_SECTOR_USES",
    "vocab_malware_types": "MALWARE_TYPE_USES",
    "vocab_pattern_type": "INDICATOR_PATTERN_USES",
    "vocab_report_types": "REPORT_TYPE_USES",
    "vocab_threat_actor_types": "THREAT_ACTOR_TYPE_USES",
    "vocab_threat_actor_role": "THREAT_ACTOR_ROLE_USES",
    "vocab_threat_actor_sophistication_level": "THREAT_ACTOR_SOPHISTICATION_USES",
    "vocab_tool_types": "TOOL_TYPE_USES",
    "vocab_region": "REGION_USES",
}
# SHOULDs that only act on SCO types (cyber_observable_check) or on
# observed-data with objects: nothing to do for other objects.
SCO_ONLY_SHOULDS: Final = (
    "observable_object_keys observable_dictionary_keys windows_process_priority_format hash_length "
    "vocab_hash_algo vocab_windows_pebinary_type vocab_account_type mime_type protocols ipfix "
    "http_request_headers socket_options pdf_doc_info network_traffic_ports"
).split()
_NEVER_RAISING_SHOULDS: Final = "uuid_check indicator_property_check deprecated_property_check duplicate_ids".split()
_TRIGGERED_SHOULDS: Final = (
    "open_vocab_values kill_chain_phase_names malware_analysis_product vocab_marking_definition "
    "relationships_strict countries extref_hashes extension_description extension_properties extensions_use"
).split()

AUDITED: Final = (
    list(MUSTS) == _AUDITED_MUSTS
    and set(SHOULDS)
    == set(VOCAB_SHOULDS) | set(SCO_ONLY_SHOULDS) | set(_NEVER_RAISING_SHOULDS) | set(_TRIGGERED_SHOULDS)
    and all(hasattr(enums, uses) and hasattr(enums, uses[: -len("_USES")] + "_OV") for uses in VOCAB_SHOULDS.values())
)
"""True when the installed stix2validator runs exactly the checks audited here."""

SCO_TYPES: Final = frozenset(enums.OBSERVABLE_TYPES)

_ANY_TYPE: Final = None
_SCALARS: Final = (str, int, float, bool, type(None))
Predicate = Callable[[Mapping[str, Any]], bool]


class _Trigger:
    """Run ``function`` on objects of ``types`` (any if None) for which ``when`` holds."""

    __slots__ = ("function", "types", "when", "must")

    def __init__(
        self, function: Callable[..., Any], types: Iterable[str] | None, when: Predicate, *, must: bool
    ) -> None:
        self.function = function
        self.types = None if types is None else frozenset(types)
        self.when = when
        self.must = must


def _has_any(*props: str) -> Predicate:
    wanted = frozenset(props)
    return lambda obj: not obj.keys().isdisjoint(wanted)


def _always(obj: Mapping[str, Any]) -> bool:
    return True


# A SHOULD only matters when it raises. For the ones run on most objects, the
# predicate below says exactly when they can raise (read from their code):
# otherwise they only iterate and compare, or return a warning.


def _vocab_could_raise(props: Iterable[str]) -> Predicate:
    """check_vocab: set(value) raises on a list holding an unhashable item."""
    names = tuple(props)

    def holds_an_unhashable_item(obj: Mapping[str, Any]) -> bool:
        for name in names:
            value = obj.get(name)
            if type(value) is list and not all(isinstance(item, _SCALARS) for item in value):
                return True
        return False

    return holds_an_unhashable_item


def _open_vocab_could_raise(props: Iterable[str]) -> Predicate:
    """open_vocab_values: value.islower() raises on a non-string (a dict value ends the check)."""
    names = tuple(props)

    def holds_a_non_string(obj: Mapping[str, Any]) -> bool:
        for name in names:
            if name in obj:
                value = obj[name]
                values = value if type(value) is list else [value]
                if type(value) is not dict and not all(isinstance(item, str) for item in values):
                    return True
        return False

    return holds_a_non_string


def _kill_chain_could_raise(obj: Mapping[str, Any]) -> bool:
    """kill_chain_phase_names: indexes each phase and calls .islower() on both names."""
    phases = obj.get("kill_chain_phases")
    if type(phases) is not list:
        return "kill_chain_phases" in obj
    return not all(
        type(phase) is dict
        and isinstance(phase.get("kill_chain_name"), str)
        and isinstance(phase.get("phase_name"), str)
        for phase in phases
    )


def _extrefs_could_raise(obj: Mapping[str, Any]) -> bool:
    """extref_hashes: ``in`` tests and indexing on each external reference."""
    refs = obj.get("external_references")
    if type(refs) is not list:
        return "external_references" in obj
    return not all(type(ref) is dict for ref in refs)


def _extensions_could_raise(obj: Mapping[str, Any]) -> bool:
    """extensions_use (non-SCO): .items() on extensions, .get() on each extension."""
    if "extensions" not in obj:
        return False
    extensions = obj["extensions"]
    return type(extensions) is not dict or not all(type(ext) is dict for ext in extensions.values())


def _relationship_type_could_raise(obj: Mapping[str, Any]) -> bool:
    """relationships_strict: looks relationship_type up in a dict."""
    return not isinstance(obj.get("relationship_type"), _SCALARS)


def _not_a_string(prop: str) -> Predicate:
    return lambda obj: prop in obj and not isinstance(obj[prop], str)


def _triggers() -> list[_Trigger]:
    must, should = MUSTS, SHOULDS
    triggers = [
        _Trigger(must["object_marking_circular_refs"], ["marking-definition"], _always, must=True),
        _Trigger(must["granular_markings_circular_refs"], ["marking-definition"], _always, must=True),
        _Trigger(must["marking_selector_syntax"], _ANY_TYPE, _has_any("granular_markings"), must=True),
        _Trigger(must["language"], _ANY_TYPE, _has_any("lang"), must=True),
        _Trigger(must["cpe_check"], _ANY_TYPE, _has_any("cpe"), must=True),
        _Trigger(must["language_contents"], ["language-content"], _always, must=True),
        _Trigger(should["kill_chain_phase_names"], enums.KILL_CHAIN_PHASE_USES, _kill_chain_could_raise, must=False),
        _Trigger(should["malware_analysis_product"], ["malware-analysis"], _not_a_string("product"), must=False),
        _Trigger(should["vocab_marking_definition"], ["marking-definition"], _always, must=False),
        _Trigger(should["relationships_strict"], ["relationship"], _relationship_type_could_raise, must=False),
        _Trigger(should["countries"], ["location"], _not_a_string("country"), must=False),
        _Trigger(should["extref_hashes"], _ANY_TYPE, _extrefs_could_raise, must=False),
        _Trigger(should["extension_description"], ["extension-definition"], _always, must=False),
        _Trigger(should["extension_properties"], ["extension-definition"], _always, must=False),
        _Trigger(should["extensions_use"], _ANY_TYPE, _extensions_could_raise, must=False),
    ]
    # open_vocab_values looks at enums.VOCAB_PROPERTIES[type]; the check_vocab
    # SHOULDs at enums.<NAME>_USES[type]: one trigger per (function, type).
    for stix_type, props in enums.VOCAB_PROPERTIES.items():
        triggers.append(_Trigger(should["open_vocab_values"], [stix_type], _open_vocab_could_raise(props), must=False))
    for name, uses in VOCAB_SHOULDS.items():
        for stix_type, props in getattr(enums, uses).items():
            triggers.append(_Trigger(should[name], [stix_type], _vocab_could_raise(props), must=False))
    return triggers


_TRIGGERS: Final = _triggers() if AUDITED else []
_by_type: dict[str, tuple[_Trigger, ...]] = {}


def _triggers_for(stix_type: str) -> tuple[_Trigger, ...]:
    found = _by_type.get(stix_type)
    if found is None:
        found = tuple(t for t in _TRIGGERS if t.types is None or stix_type in t.types)
        if len(_by_type) < 1024:  # custom type names are unbounded: remember the first ones only
            _by_type[stix_type] = found
    return found


def _passes(function: Callable[..., Any], obj: Mapping[str, Any], *, must: bool) -> bool:
    """Run one library check as validate_instance does: False on an error (MUST only) or any exception."""
    try:
        try:
            result = function(obj)
        except TypeError:  # _iter_errors_custom's way of passing the options to checks that take them
            result = function(obj, _OPTIONS)
        if isinstance(result, Iterable):
            for _ in result:
                if must:
                    return False
        elif result is not None and must:
            return False
    except Exception:  # noqa: BLE001 - an exception makes validate_instance raise: a rejection
        return False
    return True


def _has_nested_stix_objects(obj: Mapping[str, Any]) -> bool:
    # What _iter_errors_custom recurses into.
    for value in obj.values():
        if type(value) is list:
            for item in value:
                if isinstance(item, dict) and "id" in item and "type" in item:
                    return True
    return False


def validator_checks_pass(obj: Mapping[str, Any]) -> bool:
    """True if the validator's MUST/SHOULD functions (all but ``patterns``) accept ``obj`` without raising.

    False when one rejects it, raises, or when ``obj`` is left to the full path
    (``objects`` property, nested STIX objects, or an unaudited library).
    ``obj`` has a string ``type`` and ``id``.
    """
    if not AUDITED or "objects" in obj or _has_nested_stix_objects(obj):
        return False
    stix_type = obj["type"]
    if stix_type in SCO_TYPES:
        return _sco_checks_pass(obj)
    if not _fast_or_library(timestamps_valid(obj), MUSTS["timestamp"], obj):
        return False
    if not _fast_or_library(timestamp_order_valid(obj), MUSTS["timestamp_compare"], obj):
        return False
    for trigger in _triggers_for(stix_type):
        if trigger.when(obj) and not _passes(trigger.function, obj, must=trigger.must):
            return False
    return True


def _sco_checks_pass(obj: Mapping[str, Any]) -> bool:
    for name, function in MUSTS.items():
        if name != "patterns" and not _passes(function, obj, must=True):
            return False
    for function in SHOULDS.values():
        if not _passes(function, obj, must=False):
            return False
    return True


def _fast_or_library(verdict: bool | None, function: Callable[..., Any], obj: Mapping[str, Any]) -> bool:
    return _passes(function, obj, must=True) if verdict is None else verdict


# --- exact fast equivalents of two MUSTs (non-SCO objects) ---------------------------


_COMMON_TIMESTAMP_PROPS: Final = ("created", "modified")
_TIMESTAMP_PROPS: Final = {
    stix_type: (*_COMMON_TIMESTAMP_PROPS, *props) for stix_type, props in enums.TIMESTAMP_PROPERTIES.items()
}
_COMMON_TIMESTAMP_ORDERS: Final = (("modified", "ge", "created"),)
_TIMESTAMP_ORDERS: Final = {
    stix_type: (*_COMMON_TIMESTAMP_ORDERS, *orders) for stix_type, orders in enums.TIMESTAMP_COMPARE.items()
}


def timestamps_valid(obj: Mapping[str, Any]) -> bool | None:
    """musts.timestamp for a non-SCO object: None where only the library can tell."""
    for prop in _TIMESTAMP_PROPS.get(obj["type"], _COMMON_TIMESTAMP_PROPS):
        if prop in obj:
            value = obj[prop]
            if not isinstance(value, str):
                return None  # the library's regex match raises
            if musts.TIMESTAMP_FORMAT_RE.match(value) and parse_strict(value) is None:
                return None  # dateutil decides (second 60, 7+ fraction digits, a final newline …)
    return True


_COMPARE: Final = {"ge": operator.ge, "gt": operator.gt}


def timestamp_order_valid(obj: Mapping[str, Any]) -> bool | None:
    """musts.timestamp_compare: False on a wrong order, None where only the library can tell."""
    for first, op, second in _TIMESTAMP_ORDERS.get(obj["type"], _COMMON_TIMESTAMP_ORDERS):
        if first in obj and second in obj:
            later, earlier = obj[first], obj[second]
            if not isinstance(later, str) or not isinstance(earlier, str):
                return None
            compare = _COMPARE.get(op)
            if compare is None:
                return None
            if musts.TIMESTAMP_FORMAT_RE.match(later) and musts.TIMESTAMP_FORMAT_RE.match(earlier):
                # musts.datetime_from_str: a datetime when strptime parses it, else the string.
                later_dt, earlier_dt = parse_strict(later), parse_strict(earlier)
                if later_dt is not None and earlier_dt is not None:
                    ordered = compare(later_dt, earlier_dt)
                else:
                    ordered = compare(later, earlier)
            else:
                ordered = compare(later, earlier)
            if not ordered:
                return False
    return True
