"""What ``stix2.parse(obj, allow_custom=True, version="2.1")`` enforces, reproduced for SDOs and SROs.

How this works
--------------
``stix2.parse`` builds the python-stix2 object of a registered type (an
unregistered, custom type is returned as is: nothing is checked). Building one
(``stix2/base.py``, ``_STIXBase.__init__``) does, in order:

1. ``cls(allow_custom=True, interoperability=False, **obj)``: a key named
   ``allow_custom``, ``interoperability`` or ``self`` makes that call fail, and
   ``custom_properties`` is special;
2. for a truthy ``extensions``, every value must be a dict (``.get`` is
   called on it); one with ``extension_type`` "toplevel-property-extension"
   whose id is not a registered extension turns off the next check;
3. every custom property name (not a property of the class) must start with
   ``a``-``z``;
4. a property whose value is ``None`` or ``[]`` counts as absent; a present
   property is cleaned by its ``Property`` class (``clean()`` in
   ``stix2/properties.py``), an absent one takes its default if it has one;
   a required one that is absent is an error;
5. the class constraints (``_check_object_constraints``): selectors of
   granular markings, and per class: first/last seen order, ``valid_until``
   after ``valid_from`` and the pattern (``Indicator``), latitude/longitude/
   precision (``Location``), ``is_family`` needs ``name`` (``Malware``) …

:func:`stix2_verdict` walks the class's own ``_properties`` and reproduces
the ``clean()`` of each property kind for the values it is sure about (a
string where a string is expected, an int in range, a strict timestamp, a
canonical UUID in an id or a reference of an allowed type, a dict with valid
keys …), then the class constraints, which are mirrored in
:data:`_CONSTRAINTS` for the classes listed there. It answers True ("stix2
accepts this") or None ("ask stix2 itself"): anything unusual (other value
types, granular markings, SCOs, marking definitions, registered extensions, a
class whose constraints are not mirrored …) goes to the library, so this
module never has to reproduce a rejection, only acceptances.

The indicator's pattern is not checked here but by
:mod:`hub.stix.fast.patterns` (see :func:`stix2_pattern_version`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from stix2 import hashes  # type: ignore[import-untyped]
from stix2 import properties as props
from stix2.base import _STIXBase  # type: ignore[import-untyped]
from stix2.registry import STIX2_OBJ_MAPS, class_for_type  # type: ignore[import-untyped]
from stix2.utils import STIXTypeClass, is_stix_type  # type: ignore[import-untyped]
from stix2.v21 import common, sdo, sro  # type: ignore[import-untyped]

from hub.stix.fast.timestamps import parse_strict


class _Unsure:
    """The value of a property whose ``clean()`` is not reproduced for this input."""


UNSURE: Final = _Unsure()
Cleaner = Callable[[Any], Any]
"""A property's ``clean()``: the cleaned value, or UNSURE."""

_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")
_DICT_KEY: Final = re.compile(r"[a-zA-Z0-9_-]{1,250}")
_CUSTOM_NAME: Final = re.compile(r"[a-z]")  # stix2.utils.PREFIX_21_REGEX: ^[a-z].*
_SPECIAL_KEYS: Final = frozenset({"self", "allow_custom", "interoperability", "custom_properties"})
_OBJECTS: Final = STIX2_OBJ_MAPS["2.1"]["objects"]
_OBSERVABLES: Final = STIX2_OBJ_MAPS["2.1"]["observables"]


# --- property cleaners --------------------------------------------------------------


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else UNSURE


def _boolean(value: Any) -> Any:
    return value if type(value) is bool else UNSURE


def _timestamp(value: Any) -> Any:
    if not isinstance(value, str):
        return UNSURE
    parsed = parse_strict(value)
    return UNSURE if parsed is None else parsed


def _fixed(expected: Any) -> Cleaner:
    return lambda value: value if value == expected else UNSURE


def _enum(allowed: Any) -> Cleaner:
    return lambda value: value if isinstance(value, str) and value in allowed else UNSURE


def _integer(prop: Any) -> Cleaner:
    low, high = prop.min, prop.max

    def clean(value: Any) -> Any:
        if type(value) is not int or (low is not None and value < low) or (high is not None and value > high):
            return UNSURE
        return value

    return clean


def _float(prop: Any) -> Cleaner:
    low, high = prop.min, prop.max

    def clean(value: Any) -> Any:
        if type(value) not in (int, float):
            return UNSURE
        try:
            number = float(value)
        except OverflowError:
            return UNSURE
        if (low is not None and number < low) or (high is not None and number > high):
            return UNSURE
        return number

    return clean


def _identifier(required_type: str) -> Cleaner:
    prefix = required_type + "--"

    def clean(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(prefix) and _UUID.fullmatch(value, len(prefix)):
            return value
        return UNSURE

    return clean


def _reference(prop: Any) -> Cleaner:
    """ReferenceProperty.clean with allow_custom=True (a whitelist of classes becomes a blacklist)."""
    generics, specifics, exceptions = set(prop.generics), set(prop.specifics), set()
    blacklist = prop.auth_type == prop._BLACKLIST
    if not blacklist and generics:
        blacklist = True
        generics = set(STIXTypeClass) - generics
        exceptions, specifics = specifics, set()
    memo: dict[str, bool] = {}

    def type_ok(obj_type: str) -> bool:
        found = memo.get(obj_type)
        if found is None:
            if blacklist:
                found = (not is_stix_type(obj_type, "2.1", *generics) and obj_type not in specifics) or (
                    obj_type in exceptions
                )
            else:
                found = is_stix_type(obj_type, "2.1", *generics) or obj_type in specifics
            if len(memo) < 1024:
                memo[obj_type] = found
        return bool(found)

    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            return UNSURE
        split = value.find("--")
        if split < 0 or not _UUID.fullmatch(value, split + 2) or not type_ok(value[:split]):
            return UNSURE
        return value

    return clean


def _dictionary(value: Any) -> Any:
    if type(value) is not dict or not value or not all(_DICT_KEY.fullmatch(key) for key in value):
        return UNSURE
    return value


def _hashes(prop: Any) -> Cleaner:
    spec_names = prop._HashesProperty__alg_to_spec_name

    def clean(value: Any) -> Any:
        if _dictionary(value) is UNSURE:
            return UNSURE
        cleaned: dict[str, Any] = {}
        for name, hash_value in value.items():
            algorithm = hashes.infer_hash_algorithm(name)
            if algorithm is not None:
                if not isinstance(hash_value, str) or not hashes.check_hash(algorithm, hash_value):
                    return UNSURE
                name = spec_names.get(algorithm) or name
            cleaned[name] = hash_value
        return cleaned

    return clean


def _extensions(value: Any) -> Any:
    if type(value) is not dict:
        return UNSURE
    for key in value:
        if class_for_type(key, "2.1", "extensions") is not None:
            return UNSURE  # a registered (SCO) extension: a class of its own
        if key.startswith("extension-definition--") and not _UUID.fullmatch(key, len("extension-definition--")):
            return UNSURE
    return value


def _list(item: Cleaner) -> Cleaner:
    def clean(value: Any) -> Any:
        if type(value) is not list:
            return UNSURE  # a string or a dict would be iterated differently
        cleaned = [item(each) for each in value]
        return UNSURE if any(each is UNSURE for each in cleaned) else cleaned

    return clean


def _cleaner(prop: Any) -> Cleaner | None:
    """The mirror of ``prop.clean``, or None for a kind not reproduced."""
    if hasattr(prop, "_fixed_value"):
        return _fixed(prop._fixed_value)
    kinds: list[tuple[type, Callable[[Any], Cleaner | None]]] = [
        (props.IDProperty, lambda p: _identifier(p.required_prefix[:-2])),
        (props.ReferenceProperty, _reference),
        (props.TimestampProperty, lambda p: _timestamp),
        (props.BooleanProperty, lambda p: _boolean),
        (props.IntegerProperty, _integer),
        (props.FloatProperty, _float),
        (props.EnumProperty, lambda p: _enum(frozenset(p.allowed))),
        (props.HashesProperty, _hashes),
        (props.ExtensionsProperty, lambda p: _extensions),
        (props.ObservableProperty, lambda p: None),
        (props.DictionaryProperty, lambda p: _dictionary if p.spec_version == "2.1" else None),
        (props.StringProperty, lambda p: _string),
        (props.OpenVocabProperty, lambda p: _string),  # open vocabularies are not enforced (allow_custom)
        (props.PatternProperty, lambda p: _string),  # the pattern itself: hub.stix.fast.patterns
        (props.ListProperty, _list_cleaner),
    ]
    for kind, build in kinds:
        if type(prop) is kind:  # exact classes only: a subclass may clean differently
            return build(prop)
    return None


def _list_cleaner(prop: Any) -> Cleaner | None:
    contained = prop.contained
    if isinstance(contained, props.Property):
        item = _cleaner(contained)
    else:
        spec = _spec_for(contained)
        item = None if spec is None else spec.clean_nested
    return None if item is None else _list(item)


# --- classes ------------------------------------------------------------------------


Constraint = Callable[[dict[str, Any]], bool]
"""A class's _check_object_constraints on the cleaned, present properties: True when satisfied."""


def _ordered(first: str, last: str, *, strictly: bool = False) -> Constraint:
    def check(values: dict[str, Any]) -> bool:
        if first in values and last in values:
            start, end = values[first], values[last]
            if not isinstance(start, datetime) or not isinstance(end, datetime):
                return False
            return end > start if strictly else end >= start
        return True

    return check


def _location(values: dict[str, Any]) -> bool:
    latitude, longitude = "latitude" in values, "longitude" in values
    if "precision" in values and not (latitude and longitude):
        return False
    if latitude != longitude:
        return False
    return "region" in values or "country" in values or (latitude and longitude)


def _malware(values: dict[str, Any]) -> bool:
    return _ordered("first_seen", "last_seen")(values) and not (values.get("is_family") and "name" not in values)


def _indicator(values: dict[str, Any]) -> bool:
    # valid_from defaults to "now" when absent: leave that comparison to stix2.
    return "valid_from" in values and _ordered("valid_from", "valid_until", strictly=True)(values)


def _observed_data(values: dict[str, Any]) -> bool:
    exactly_one = ("objects" in values) != ("object_refs" in values)
    return exactly_one and _ordered("first_observed", "last_observed")(values)


def _external_reference(values: dict[str, Any]) -> bool:
    if not ("description" in values or "external_id" in values or "url" in values):
        return False
    return all(name in common.ExternalReference._LEGAL_HASHES for name in values.get("hashes", ()))


def _no_constraint(values: dict[str, Any]) -> bool:
    return True


_CONSTRAINTS: Final[dict[type, Constraint]] = {
    sdo.AttackPattern: _no_constraint,
    sdo.Campaign: _ordered("first_seen", "last_seen"),
    sdo.CourseOfAction: _no_constraint,
    sdo.Grouping: _no_constraint,
    sdo.Identity: _no_constraint,
    sdo.Incident: _no_constraint,
    sdo.Indicator: _indicator,
    sdo.Infrastructure: _ordered("first_seen", "last_seen"),
    sdo.IntrusionSet: _ordered("first_seen", "last_seen"),
    sdo.Location: _location,
    sdo.Malware: _malware,
    sdo.MalwareAnalysis: lambda values: "result" in values or "analysis_sco_refs" in values,
    sdo.Note: _no_constraint,
    sdo.ObservedData: _observed_data,
    sdo.Opinion: _no_constraint,
    sdo.Report: _no_constraint,
    sdo.ThreatActor: _ordered("first_seen", "last_seen"),
    sdo.Tool: _no_constraint,
    sdo.Vulnerability: _no_constraint,
    sro.Relationship: _ordered("start_time", "stop_time", strictly=True),
    sro.Sighting: _ordered("first_seen", "last_seen"),
    common.ExternalReference: _external_reference,
    common.KillChainPhase: _no_constraint,
}

# Keyword parameters of the class's own __init__ that are only passed on when truthy.
_TRUTHY_ONLY: Final[dict[type, tuple[str, ...]]] = {
    sro.Relationship: ("source_ref", "relationship_type", "target_ref"),
    sro.Sighting: ("sighting_of_ref",),
}
# Classes whose own __init__ does nothing else that matters here.
_KNOWN_INITS: Final = {sdo.Indicator, sdo.ObservedData, sro.Relationship, sro.Sighting}


class _ClassSpec:
    """The properties of one python-stix2 class, with their mirrored cleaners."""

    def __init__(self, cls: Any, constraint: Constraint) -> None:
        self.cls = cls
        self.constraint = constraint
        self.truthy_only = _TRUTHY_ONLY.get(cls, ())
        # A property kind not mirrored is UNSURE when present.
        self.cleaners: dict[str, Cleaner] = {name: _cleaner(prop) or _unsure for name, prop in cls._properties.items()}
        self.required = tuple(name for name, prop in cls._properties.items() if prop.required)

    def clean_nested(self, value: Any) -> Any:
        """ListProperty(<this class>).clean of one item: build it from a dict."""
        if type(value) is not dict:
            return UNSURE
        values = self.values(value)
        return UNSURE if values is None else values

    def values(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        """The cleaned present properties if the class accepts ``obj`` for sure, else None."""
        if obj.keys() & _SPECIAL_KEYS:
            return None
        for name in self.truthy_only:
            if name in obj and not obj[name]:
                return None
        if "granular_markings" in obj and obj["granular_markings"] not in (None, []):
            return None  # selectors are checked against the object's paths: left to stix2
        extensions = obj.get("extensions")
        unregistered_toplevel = False
        if extensions:
            if type(extensions) is not dict or not all(type(ext) is dict for ext in extensions.values()):
                return None
            for ext_id, ext in extensions.items():
                if ext.get("extension_type") == "toplevel-property-extension":
                    if class_for_type(ext_id, "2.1", "extensions") is not None:
                        return None
                    unregistered_toplevel = True
        for name in self.required:
            if obj.get(name) in (None, []):
                return None
        values: dict[str, Any] = {}
        cleaners = self.cleaners
        for name, value in obj.items():
            clean = cleaners.get(name)
            if clean is None:  # a custom property: only its name is checked
                if not unregistered_toplevel and not _CUSTOM_NAME.match(name):
                    return None
            elif value not in (None, []):  # else absent for stix2 (an absent default is always valid)
                cleaned = clean(value)
                if cleaned is UNSURE:
                    return None
                values[name] = cleaned
        return values if self.constraint(values) else None


def _unsure(value: Any) -> Any:
    return UNSURE


def _constraint_for(cls: type) -> Constraint | None:
    """The mirrored constraints of ``cls``, None when not all it does is mirrored."""
    constraint = _CONSTRAINTS.get(cls)
    if constraint is None:
        return None
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and klass not in _KNOWN_INITS and klass not in (_STIXBase, object):
            return None
        if "_check_object_constraints" in vars(klass) and klass not in _CONSTRAINTS and klass is not _STIXBase:
            return None
    return constraint


_specs: dict[type, _ClassSpec | None] = {}


def _spec_for(cls: type) -> _ClassSpec | None:
    if cls not in _specs:
        constraint = _constraint_for(cls)
        _specs[cls] = None if constraint is None else _ClassSpec(cls, constraint)
    return _specs[cls]


_BY_TYPE: Final[dict[str, _ClassSpec | None]] = {
    stix_type: _spec_for(cls) for stix_type, cls in _OBJECTS.items() if cls in _CONSTRAINTS
}


def stix2_verdict(obj: dict[str, Any]) -> bool | None:
    """True when ``stix2.parse(obj, allow_custom=True, version="2.1")`` surely succeeds; None to ask it.

    The indicator pattern is not part of this verdict. ``obj`` has a string
    ``type`` and ``id``.
    """
    if type(obj) is not dict:
        return None
    stix_type = obj["type"]
    spec = _BY_TYPE.get(stix_type)
    if spec is None or _OBJECTS.get(stix_type) is not spec.cls:  # (a class registered since: not mirrored)
        if stix_type in _OBJECTS or stix_type in _OBSERVABLES:
            return None  # registered, but not mirrored (SCOs, marking definitions, bundles …)
        return True  # not registered: stix2.parse returns the dict unchecked
    return True if spec.values(obj) is not None else None


def stix2_pattern_version(obj: Mapping[str, Any]) -> str | None | _Unsure:
    """The ``pattern_version`` stix2's ``Indicator`` checks the pattern with (UNSURE for odd values)."""
    version = obj.get("pattern_version")
    if obj.get("pattern") and obj.get("pattern_type") == "stix" and not version:
        return "2.1"  # Indicator.__init__
    if version is None or version == []:
        return None
    return version if isinstance(version, str) else UNSURE
