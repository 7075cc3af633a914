"""Parse and validate STIX 2.1 submissions: a bundle or one object in, one verdict per object out.

How this works
--------------
``decode`` turns a request body into a list of candidate objects. It raises only
for a body that cannot be read at all: not JSON (``InvalidJson``), or JSON that is
neither a STIX 2.1 bundle nor one object (``InvalidStix``).

``validate`` then judges every object on its own and never raises for a bad
one: a bad object becomes a ``Rejection`` (its index, its id, a short reason)
and the good ones go on as ``StixItem``. An object is accepted only if all of
these agree, cheapest first (the *full path*):

1. our own checks: a JSON object with string ``type`` and ``id``; not a bundle;
   ``spec_version``, when present, is exactly ``"2.1"``; ``id`` starts with
   ``type--`` (neither library checks that for custom types);
2. the OASIS validator (``stix2validator.validate_instance``, STIX 2.1, default
   options): the JSON Schemas and the spec's MUST rules. Custom types and custom
   properties are only *warnings* there, so ATT&CK's ``x-mitre-*`` content
   passes while all of its standard parts are still checked. A 2.1 SDO/SRO
   without ``spec_version`` fails here ("'spec_version' is a required property");
   an SCO may omit it, as the spec allows;
3. ``stix2.parse(obj, allow_custom=True, version="2.1")``: the python-stix2 object
   model, which catches a few things the schemas miss (e.g. a sighting's
   ``where_sighted_refs`` pointing at a malware, or a ``spec_version`` of "2.0",
   which the validator accepts when told to validate as 2.1).

That costs about 3 ms per indicator. So after step 1 the *fast path*
(:func:`hub.stix.fast.fast_accepts`, about 30 µs per indicator) is asked
first: it reproduces steps 2 and 3 from compiled schemas, the libraries' own
check functions and cached pattern verdicts, and only ever answers "the full
path accepts this" or "ask the full path". So every rejection, and its reason,
still comes from the full path, and ``validate(..., full=True)`` skips the fast
path altogether (the tests compare both).

The reason of a rejection is the validator's first errors (object-id prefixes,
schema dumps and instance dumps removed) or stix2's exception message.

An accepted object is serialised once with orjson (``StixItem.raw``): those
exact bytes are what the hub stores and forwards. Its TLP is the most
restrictive TLP marking among ``object_marking_refs`` and
``granular_markings[*].marking_ref`` (TLP 2.0 ids, and TLP 1.0 ids mapped onto
2.0, in any letter case), or the caller's default when it carries none.

A ``course-of-action`` carrying a CACAO playbook (the course-of-action
playbook extension) must carry a well-formed one: its schema and structure
are checked here (:func:`hub.plans.check.carried_plan_problem`), whatever
way it came, and the reason names the step and property at fault. What
depends on this hub (agents it does not know, TLP) is no reason to refuse a
partner's plan.

Only the official TLP marking ids carry a TLP. A ``marking-definition`` whose
content declares a TLP (the TLP 2.0 extension, or TLP 1.0's ``definition_type:
"tlp"``) under any other id is rejected, and so is every object of the same
submission that refers to it: otherwise "my own TLP:RED" would silently mean
the channel's default. An official id declaring another level than its own is
rejected too. These checks run before both paths (a pre-pass over the
submission collects the ids to refuse).

Library hygiene (restoring the standard streams colorama wraps, quietening the
validator's logger) and the lock that serialises library calls live in
:mod:`hub.stix.fast.libraries`: ``validate`` may be called from several worker
threads (under the GIL this costs no parallelism: the work is pure Python).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
import stix2  # type: ignore[import-untyped]

from hub.errors import BadRequest, InvalidJson, InvalidStix
from hub.plans.check import carried_plan_problem
from hub.stix.fast import fast_accepts
from hub.stix.fast.libraries import LIBRARY_LOCK, SPEC_VERSION, VALIDATOR_OPTIONS, stix2validator
from hub.tlp import TLP, declared_tlp, level_of_marking, level_of_markings
from hub.versions import version_of

_MAX_MESSAGES: Final = 3
_MAX_MESSAGE_CHARS: Final = 240

_BUNDLE_ID: Final = re.compile(
    r"\Abundle--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
)
# The location part that stix2validator's pretty_error puts before a message,
# e.g. "external_references[0].url: ".
_ERROR_LOCATION: Final = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_.$\[\]-]*: ")
_NOT_ANY_OF: Final = " is not valid under any of the given schemas"
_UNOFFICIAL_TLP: Final = "declares a TLP but is not an official TLP marking; mark with the official TLP 2.0 ids"
_ONE_OF_MANY: Final = " is valid under each of "


@dataclass(frozen=True, slots=True)
class StixItem:
    """One accepted STIX 2.1 object of a submission."""

    index: int
    """Position of the object in the submission (0 for a lone object)."""
    id: str
    type: str
    version: str
    """``modified``, else ``created``, else "" (SCOs have neither)."""
    tlp: TLP
    """Most restrictive TLP marking of the object, else the default given."""
    raw: bytes
    """The object serialised once with orjson: stored and forwarded as is."""
    obj: dict[str, Any]
    """The decoded object."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One object of a submission that is not acceptable STIX 2.1."""

    index: int
    id: str | None
    """The object's id when it has a string one."""
    reason: str
    """Short and human-readable; names the property at fault."""


@dataclass(frozen=True, slots=True)
class Submission:
    """The verdict on every object of a submission, in submission order."""

    items: tuple[StixItem, ...]
    rejected: tuple[Rejection, ...]


def load_json(body: bytes) -> Any:
    """The JSON document a request body holds; InvalidJson, saying where, if it holds none."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}") from None


def load_json_object(body: bytes, not_an_object: str) -> dict[str, Any]:
    """The JSON object a request body holds: InvalidJson if it is not JSON, BadRequest(``not_an_object``) if it is
    other JSON (a list, a string, …)."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise BadRequest(not_an_object)
    return doc


def decode(body: bytes) -> list[Any]:
    """Decode a request body that is a STIX 2.1 bundle or one STIX object.

    Returns the candidate objects: the bundle's ``objects``, or ``[object]``.
    Nothing in them is checked yet (that is :func:`validate`'s job).

    Raises:
        InvalidJson: the body is not JSON (the message says where).
        InvalidStix: JSON but not a bundle or an object: not a JSON object, no
            string ``type``, a bundle without a valid ``id`` or without a
            non-empty ``objects`` list, or a bundle with ``spec_version`` (a
            STIX 2.0 bundle: only STIX 2.1 is accepted).
    """
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise InvalidStix(f"expected a STIX bundle or a STIX object (a JSON object), got a JSON {_json_kind(doc)}")
    stix_type = doc.get("type")
    if not isinstance(stix_type, str):
        raise InvalidStix("expected a STIX bundle or a STIX object: 'type' is missing or not a string")
    if stix_type != "bundle":
        return [doc]
    if "spec_version" in doc:
        raise InvalidStix(
            "bundle: 'spec_version' is not a STIX 2.1 bundle property"
            " (STIX 2.0 bundles are not accepted, only STIX 2.1)"
        )
    bundle_id = doc.get("id")
    if not isinstance(bundle_id, str) or not _BUNDLE_ID.match(bundle_id):
        raise InvalidStix("bundle: 'id' is missing or not of the form bundle--<UUID>")
    objects = doc.get("objects")
    if not isinstance(objects, list):
        raise InvalidStix("bundle: 'objects' is missing or not a list")
    if not objects:
        raise InvalidStix("bundle: 'objects' is empty")
    return objects


def validate(objects: Sequence[Any], default_tlp: TLP, *, full: bool = False) -> Submission:
    """Validate each object independently against STIX 2.1.

    Valid objects become :class:`StixItem` (marked ``default_tlp`` when they
    carry no TLP marking), the others :class:`Rejection`; both keep the
    object's index in ``objects``. Never raises for a bad object. Blocking
    (tens of µs per valid object, about 3 ms per invalid or unusual one): call
    it from a worker thread in async code. ``full=True`` skips the fast path
    and runs both libraries on every object (same verdicts, much slower).
    """
    items: list[StixItem] = []
    rejected: list[Rejection] = []
    unofficial = _unofficial_tlp_markings(objects)
    for index, candidate in enumerate(objects):
        verdict = _judge(index, candidate, default_tlp, full, unofficial)
        if isinstance(verdict, StixItem):
            items.append(verdict)
        else:
            rejected.append(verdict)
    return Submission(items=tuple(items), rejected=tuple(rejected))


def parse_submission(body: bytes, default_tlp: TLP) -> Submission:
    """:func:`decode` then :func:`validate`: the whole path of a submitted body."""
    return validate(decode(body), default_tlp)


def tlp_of(obj: Mapping[str, Any]) -> TLP | None:
    """The most restrictive TLP marking of ``obj``, or None if it carries none.

    Reads ``object_marking_refs`` and every ``granular_markings[*].marking_ref``
    (a TLP on any part of the object marks the whole object, for sharing);
    marking ids in any letter case.
    Malformed marking properties are ignored here; :func:`validate` rejects them.
    """
    return level_of_markings(ref for _, ref in _marking_refs(obj))


def _marking_refs(obj: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, ref)`` of every string marking ref of ``obj``: object-level, then granular."""
    object_refs = obj.get("object_marking_refs")
    if isinstance(object_refs, list):
        for ref in object_refs:
            if isinstance(ref, str):
                yield "object_marking_refs", ref
    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        for position, marking in enumerate(granular):
            if isinstance(marking, dict):
                ref = marking.get("marking_ref")
                if isinstance(ref, str):
                    yield f"granular_markings[{position}].marking_ref", ref


# --- marking definitions that declare a TLP ---------------------------------------


def _unofficial_tlp_markings(objects: Sequence[Any]) -> frozenset[str]:
    """The (lower-cased) ids of the submission's marking-definitions that declare a TLP without an official id."""
    ids: set[str] = set()
    for candidate in objects:
        if isinstance(candidate, dict) and candidate.get("type") == "marking-definition":
            marking_id = candidate.get("id")
            if (
                isinstance(marking_id, str)
                and level_of_marking(marking_id) is None
                and declared_tlp(candidate) is not None
            ):
                ids.add(marking_id.lower())
    return frozenset(ids)


def _tlp_declaration_reason(marking: Mapping[str, Any]) -> str | None:
    """Why a marking-definition's TLP declaration is refused, or None if it declares none or its own."""
    declared = declared_tlp(marking)
    if declared is None:
        return None
    official = level_of_marking(marking["id"])
    if official is None:
        return _UNOFFICIAL_TLP
    try:
        level: TLP | None = TLP.parse(declared)
    except ValueError:
        level = None
    if level is not official:
        return f"declares TLP {_short(repr(declared))} but its id is the official {official.label} marking"
    return None


def _unofficial_ref_reason(obj: Mapping[str, Any], unofficial: frozenset[str]) -> str | None:
    for where, ref in _marking_refs(obj):
        if ref.lower() in unofficial:
            return f"{where}: {ref} (in this submission) {_UNOFFICIAL_TLP}"
    return None


# --- one object -------------------------------------------------------------


def _judge(
    index: int, candidate: Any, default_tlp: TLP, full: bool, unofficial: frozenset[str]
) -> StixItem | Rejection:
    if not isinstance(candidate, dict):
        return Rejection(index, None, f"not a STIX object: a JSON {_json_kind(candidate)}")
    obj: dict[str, Any] = candidate
    raw_id = obj.get("id")
    obj_id = raw_id if isinstance(raw_id, str) else None

    reason = own_checks_reason(obj)
    if reason is None and obj["type"] == "marking-definition":
        reason = _tlp_declaration_reason(obj)
    if reason is None and unofficial:
        reason = _unofficial_ref_reason(obj, unofficial)
    if reason is None and (full or not fast_accepts(obj)):
        reason = full_path_reason(obj)
    if reason is None:
        reason = carried_plan_problem(obj)
    if reason is None:
        reason = _version_reason(obj)
    if reason is not None:
        return Rejection(index, obj_id, reason)

    assert obj_id is not None  # own_checks_reason guarantees a string id
    try:
        raw = orjson.dumps(obj)
    except orjson.JSONEncodeError as exc:  # e.g. an int over 64 bits from a non-orjson caller
        return Rejection(index, obj_id, f"cannot be serialised as JSON: {exc}")
    return StixItem(
        index=index,
        id=obj_id,
        type=obj["type"],
        version=version_of(obj),
        tlp=_level_or(tlp_of(obj), default_tlp),
        raw=raw,
        obj=obj,
    )


def own_checks_reason(obj: Mapping[str, Any]) -> str | None:
    """Why ``obj`` fails the checks neither library makes (or makes without crashing), or None when it passes."""
    if "type" not in obj:
        return "'type' is a required property"
    stix_type = obj["type"]
    if not isinstance(stix_type, str):
        return f"type: must be a string, not a JSON {_json_kind(stix_type)}"
    if "id" not in obj:
        return "'id' is a required property"
    obj_id = obj["id"]
    if not isinstance(obj_id, str):
        return f"id: must be a string, not a JSON {_json_kind(obj_id)}"
    if stix_type == "bundle":
        return "a bundle is not a STIX object: a bundle cannot contain a bundle"
    if "spec_version" in obj and obj["spec_version"] != SPEC_VERSION:
        return f"spec_version: {_short(repr(obj['spec_version']))} is not supported, only STIX {SPEC_VERSION}"
    if not obj_id.startswith(stix_type + "--"):
        return f"id: {_short(repr(obj_id))} does not start with '{stix_type}--'"
    return None


def full_path_reason(obj: dict[str, Any]) -> str | None:
    """Why the libraries reject ``obj`` (validator first, then stix2), or None if both accept it.

    ``obj`` must have passed our own checks. Slow (milliseconds): this is the
    full path, the reference the fast path is tested against.
    """
    with LIBRARY_LOCK:
        reason = _validator_reason(obj)
        if reason is None:
            reason = _stix2_reason(obj)
    return reason


def _validator_reason(obj: dict[str, Any]) -> str | None:
    try:
        result = stix2validator.validate_instance(obj, VALIDATOR_OPTIONS)
    except Exception as exc:  # the validator crashes on some malformed input
        return _short(f"invalid STIX ({type(exc).__name__}: {exc})")
    if result.is_valid:
        return None
    messages = _clean_validator_messages((str(error) for error in result.errors), prefix=f"{obj['id']}: ")
    return "; ".join(messages) if messages else "invalid STIX (no detail given by the validator)"


def _stix2_reason(obj: dict[str, Any]) -> str | None:
    try:
        stix2.parse(obj, allow_custom=True, version=SPEC_VERSION)
    except Exception as exc:  # stix2 raises many classes, and plain TypeErrors
        return _short(str(exc) or type(exc).__name__)
    return None


def _clean_validator_messages(errors: Iterable[str], prefix: str) -> list[str]:
    """The first few distinct messages, without the noise the validator adds."""
    messages: list[str] = []
    for error in errors:
        message = _clean_validator_message(error, prefix)
        if message and message not in messages:
            messages.append(message)
            if len(messages) == _MAX_MESSAGES:
                break
    return messages


def _clean_validator_message(error: str, prefix: str) -> str:
    if error.startswith(prefix):
        error = error[len(prefix) :]
    head, _, tail = error.partition("\n")
    if _NOT_ANY_OF in head or _ONE_OF_MANY in head:
        # "<location>: <the whole instance> is not valid under any of the given
        # schemas:\n<the whole schema>": keep the location, say what is wanted.
        match = _ERROR_LOCATION.match(head)
        location = match.group(0) if match else ""
        if _ONE_OF_MANY in head:
            return location + "matches more than one of the allowed forms (oneOf)"
        return location + _alternatives_wanted(tail)
    return _short(head)


def _alternatives_wanted(schema_repr: str) -> str:
    """Turn an anyOf/oneOf of ``required`` lists into "requires one of: …"."""
    fallback = "does not match any of the allowed forms (anyOf/oneOf)"
    try:
        schema = ast.literal_eval(schema_repr.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return fallback
    if not isinstance(schema, dict):
        return fallback
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if not isinstance(alternatives, list) or not alternatives:
        return fallback
    wanted: list[str] = []
    for alternative in alternatives:
        if not isinstance(alternative, dict) or set(alternative) != {"required"}:
            return fallback
        wanted.append(" + ".join(f"'{name}'" for name in alternative["required"]))
    return "requires one of: " + ", ".join(wanted)


# --- small helpers ----------------------------------------------------------


_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")


def _version_reason(obj: Mapping[str, Any]) -> str | None:
    """Why ``obj``'s ``modified`` or ``created`` cannot be its version, or None.

    The libraries check them on the objects STIX gives them to; on others (a
    cyber-observable, say) they are custom properties of any form. The hub
    orders versions by them and stores them beside event ids, so they must be
    STIX timestamps wherever they appear.
    """
    for key in ("modified", "created"):
        value = obj.get(key)
        if value is not None and not (isinstance(value, str) and _TIMESTAMP.fullmatch(value)):
            return f"{key}: {_short(repr(value))} is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z)"
    return None


def _level_or(level: TLP | None, default: TLP) -> TLP:
    # Not `level or default`: TLP.CLEAR is 0, hence falsy.
    return default if level is None else level


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 1] + "…"


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__
