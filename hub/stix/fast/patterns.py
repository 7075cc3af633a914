"""STIX pattern verdicts: a recogniser for the common simple forms, the full grammar otherwise, cached.

How this works
--------------
An indicator with ``pattern_type`` "stix" has its pattern checked twice by the
full path, both with the ANTLR grammar of ``stix2-patterns`` (about 250 µs
each):

- the validator's MUST ``patterns``: ``run_validator(pattern, version)`` (the
  grammar, the hash values of ``hashes`` paths, duplicate qualifiers, a
  leading bracket), then a second parse with the 2.1 grammar and checks of each
  object type (a known SCO type, or ``^-?[a-z0-9]+(-[a-z0-9]+)*-?$`` and 3 to
  250 characters) and of the first path component of each comparison (a
  property of that SCO type, or ``^[a-z0-9_]{3,250}$``); ``version`` is the
  indicator's ``pattern_version``, else its ``spec_version``, else "2.1";
- ``stix2``'s ``Indicator``: ``run_validator(pattern, version)`` where
  ``version`` is ``pattern_version``, or "2.1" when that is missing or empty
  and the pattern is not empty (else None, which selects the 2.0 grammar).

:func:`pattern_accepted` answers for both at once. When both versions are "2.1"
it first tries :func:`recognise`, a hand-written scanner for a strict subset of
the 2.1 grammar::

    pattern     = ws? observation (ws ("AND"|"OR"|"FOLLOWEDBY") ws observation)* ws?
    observation = "[" ws? comparison (ws ("AND"|"OR") ws comparison)* ws? "]"
    comparison  = path ws? ("="|"=="|"!="|"<>") ws? literal
                | path ws? ("<"|"<="|">"|">=") ws? literal-but-not-a-boolean
                | path ws ("LIKE"|"MATCHES") ws string
    path        = type ":" name ("." name | "." string)*
    literal     = string | int | float | true | false | t'…' | h'…' | b'…'
    ws          = [ \\t\\r\\n]+

with the lexer's own token rules (``IdentifierWithHyphen`` for types,
``IdentifierWithoutHyphen`` for names, keywords never taken as names, a
literal ends at whitespace or "]"), then applies the semantic checks above
itself, with the libraries' own regexes and tables. Anything outside the
subset — parentheses, qualifiers, IN, NOT, EXISTS, comments, index steps,
quoted first components, other whitespace, other versions — is not rejected
but handed to the libraries themselves, under
:data:`hub.stix.fast.libraries.LIBRARY_LOCK`. The recogniser only ever says
"valid"; the grammar is the judge of everything else.

Verdicts are cached by (pattern, validator version, stix2 version) in a
bounded LRU cache (patterns over 4 KiB are not cached).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, Final

from stix2patterns.v21 import object_validator  # type: ignore[import-untyped]
from stix2patterns.v21.grammars.STIXPatternLexer import STIXPatternLexer  # type: ignore[import-untyped]
from stix2patterns.validator import run_validator  # type: ignore[import-untyped]

from hub.stix.fast.libraries import LIBRARY_LOCK, VALIDATOR_OPTIONS, enums, musts

CACHE_SIZE: Final = 16384
MAX_CACHED_LENGTH: Final = 4096

# Every keyword token of the lexer ("AND", "true", …): never an identifier.
_KEYWORDS: Final = frozenset(
    name[1:-1]
    for name in STIXPatternLexer.literalNames
    if len(name) > 2 and name[0] == name[-1] == "'" and re.fullmatch(r"[A-Za-z]+", name[1:-1])
)

_WS: Final = re.compile(r"[ \t\r\n]*")
_OBJECT_TYPE: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")
# A name must not run on into a longer IdentifierWithHyphen token.
_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*(?![a-zA-Z0-9_-])")
_STRING: Final = re.compile(r"'(?:[^'\\]|\\['\\])*'")
_OPERATOR: Final = re.compile(r"==|=|!=|<>|<=|<|>=|>")
_EQUALITY: Final = frozenset({"=", "==", "!=", "<>"})
_WORD_OPERATOR: Final = re.compile(r"(?:LIKE|MATCHES)(?=[ \t\r\n])")
_LITERAL: Final = re.compile(
    r"""(?:
        (?P<string>'(?:[^'\\]|\\['\\])*')
      | (?P<float>[+-]?[0-9]*\.[0-9]+)
      | (?P<int>[+-]?(?:0|[1-9][0-9]*))
      | (?P<bool>true|false)
      | (?P<timestamp>t'[0-9]{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])
                       T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?Z')
      | (?P<hex>h'(?:[A-Fa-f0-9]{2})*')
      | (?P<binary>b'(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)')
    )(?=[ \t\r\n\]])""",
    re.VERBOSE,
)
_COMPARISON_JOIN: Final = re.compile(r"(?:AND|OR)[ \t\r\n]+")
_OBSERVATION_JOIN: Final = re.compile(r"[ \t\r\n]+(?:AND|OR|FOLLOWEDBY)[ \t\r\n]+")

Comparison = tuple[str, list[str], str]
"""(object type, object path, literal text as written) of one comparison."""


def _unquote(literal: str) -> str:
    # stix2patterns.inspector._string_literal_to_string
    return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")


def recognise(pattern: str) -> list[Comparison] | None:
    """The comparisons of ``pattern`` if it is in the simple form (so valid 2.1 syntax), else None."""
    comparisons: list[Comparison] = []
    end = len(pattern)
    pos = _ws(pattern, 0)
    while True:
        if not pattern.startswith("[", pos):
            return None
        pos = _ws(pattern, pos + 1)
        while True:
            pos = _comparison(pattern, pos, comparisons)
            if pos < 0:
                return None
            pos = _ws(pattern, pos)
            if pattern.startswith("]", pos):
                pos += 1
                break
            join = _COMPARISON_JOIN.match(pattern, pos)
            if join is None:
                return None
            pos = join.end()
        if _ws(pattern, pos) == end:
            return comparisons
        join = _OBSERVATION_JOIN.match(pattern, pos)
        if join is None:
            return None
        pos = join.end()


def _ws(pattern: str, pos: int) -> int:
    match = _WS.match(pattern, pos)
    assert match is not None  # "*" always matches
    return match.end()


def _comparison(pattern: str, pos: int, comparisons: list[Comparison]) -> int:
    """Scan one comparison at ``pos``; its end, or -1 if it is not in the simple form."""
    match = _OBJECT_TYPE.match(pattern, pos)
    if match is None or match.group() in _KEYWORDS or not pattern.startswith(":", match.end()):
        return -1
    object_type = match.group()
    match = _NAME.match(pattern, match.end() + 1)
    if match is None or match.group() in _KEYWORDS:
        return -1
    path = [match.group()]
    pos = match.end()
    while pattern.startswith(".", pos):
        step = _NAME.match(pattern, pos + 1)
        if step is not None:
            if step.group() in _KEYWORDS:
                return -1
            path.append(step.group())
        else:
            step = _STRING.match(pattern, pos + 1)
            if step is None:
                return -1
            path.append(_unquote(step.group()))
        pos = step.end()
    after_path = _ws(pattern, pos)
    operator = _OPERATOR.match(pattern, after_path)
    if operator is not None:
        wanted = "primitive" if operator.group() in _EQUALITY else "orderable"
    else:
        operator = _WORD_OPERATOR.match(pattern, after_path)
        if operator is None or after_path == pos:  # LIKE/MATCHES must not touch the path
            return -1
        wanted = "string"
    literal = _LITERAL.match(pattern, _ws(pattern, operator.end()))
    if literal is None:
        return -1
    kind = literal.lastgroup
    if (wanted == "orderable" and kind == "bool") or (wanted == "string" and kind != "string"):
        return -1
    comparisons.append((object_type, path, literal.group()))
    return literal.end()


def semantics_accepted(comparisons: list[Comparison]) -> bool:
    """The checks both libraries add to the grammar, for recognised comparisons."""
    for object_type, path, literal in comparisons:
        # stix2patterns.v21.object_validator.verify_object (run_validator)
        if "hashes" in path:
            hash_type = path[-1].upper().replace("-", "").replace("'", "")
            regex = object_validator.HASHES_REGEX.get(hash_type)
            if regex is not None and not re.match(regex[0], literal.replace("'", "")):
                return False
        # stix2validator.v21.musts.patterns (default options)
        if object_type not in enums.OBSERVABLE_TYPES and (
            not musts.TYPE_FORMAT_RE.match(object_type) or not 3 <= len(object_type) <= 250
        ):
            return False
        prop = path[0]
        known = object_type in enums.OBSERVABLE_PROPERTIES and prop in enums.OBSERVABLE_PROPERTIES[object_type]
        if not known and not musts.PROPERTY_FORMAT_RE.match(prop):
            return False
    return True


def library_verdict(pattern: str, validator_version: Any, stix2_version: Any) -> bool:
    """What the libraries themselves say (slow: ANTLR), exceptions counting as a rejection."""
    probe = {
        "type": "indicator",
        "id": "indicator--00000000-0000-4000-8000-000000000000",
        "pattern_type": "stix",
        "pattern": pattern,
        "pattern_version": validator_version,
    }
    with LIBRARY_LOCK:
        try:
            if any(True for _ in musts.patterns(probe, VALIDATOR_OPTIONS)):
                return False
            return not run_validator(pattern, stix2_version)
        except Exception:  # noqa: BLE001 - a crash of either library rejects the object
            return False


def fast_verdict(pattern: str, validator_version: Any, stix2_version: Any) -> bool | None:
    """True when the recogniser vouches for the pattern; None when the libraries must decide."""
    if validator_version != "2.1" or stix2_version != "2.1":
        return None
    comparisons = recognise(pattern)
    if comparisons is None or not semantics_accepted(comparisons):
        return None  # the recogniser never rejects: the libraries say why
    return True


def _verdict(pattern: str, validator_version: Any, stix2_version: Any) -> bool:
    fast = fast_verdict(pattern, validator_version, stix2_version)
    return library_verdict(pattern, validator_version, stix2_version) if fast is None else fast


_cached_verdict: Final[Callable[[str, Any, Any], bool]] = functools.lru_cache(maxsize=CACHE_SIZE)(_verdict)


def pattern_accepted(pattern: str, validator_version: str | None, stix2_version: str | None) -> bool:
    """True when both libraries accept ``pattern`` with those versions (see the module docstring)."""
    if len(pattern) > MAX_CACHED_LENGTH:
        return _verdict(pattern, validator_version, stix2_version)
    return _cached_verdict(pattern, validator_version, stix2_version)


def cache_clear() -> None:
    """Forget every cached verdict (for benchmarks and tests)."""
    _cached_verdict.cache_clear()  # type: ignore[attr-defined]


def cache_info() -> Any:
    """The verdict cache's ``functools`` statistics (hits, misses, size)."""
    return _cached_verdict.cache_info()  # type: ignore[attr-defined]
