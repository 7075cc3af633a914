"""Compile JSON Schemas into Python functions with ``jsonschema``'s Draft 2020-12 semantics.

How this works
--------------
``stix2validator`` checks objects with ``jsonschema.Draft202012Validator``,
which interprets the schema anew for every object and rebuilds a ``$ref``
registry per call. Here each schema is turned once into Python source — one
function per referenced schema node, returning True (valid) or False — and
``exec``-ed, so checking an object is straight-line ``isinstance`` tests,
``in`` tests and regex searches, with a call only per ``$ref`` or combinator
branch. ``$ref`` is resolved at compile time against the documents given;
nothing is fetched.

Only the keywords the OASIS STIX 2.1 schemas use are supported, each with
exactly ``jsonschema``'s meaning (read from ``jsonschema/_keywords.py``):

- regexes (``pattern``, ``patternProperties``) are Python ``re.search``, so
  ``$`` also matches before a final newline, as in the validator;
- ``additionalProperties`` treats a key as covered when it is in
  ``properties`` or when ``"|".join(patternProperties)`` searches it;
- ``integer`` accepts floats without a fractional part, booleans are never
  numbers, ``enum`` and ``const`` use ``jsonschema``'s ``equal`` (``true`` is
  not ``1``);
- ``format`` asks the very ``FormatChecker`` the validator uses.

Any other keyword, or an ``enum`` holding arrays or objects, makes compilation
fail (:class:`SchemaCompileError`) rather than silently check less.
Annotations (``title``, ``description``, ``definitions`` …) are ignored, as by
``jsonschema``. The generated source only ever embeds literals through
``repr`` and names of its own.

Why not fastjsonschema: measured on these schemas it took about 40 µs per
indicator (``anyOf``/``not`` are driven by exceptions, every key is searched
with every ``patternProperties`` regex), and it rewrites ``$`` in ``pattern``
to ``\\Z`` (a semantic change, and it breaks the character class of the CPE
pattern). This compiler needs about a tenth of that time and keeps the
validator's semantics.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol
from urllib.parse import urldefrag, urljoin

Check = Callable[[Any], bool]

_ANNOTATIONS: Final = frozenset(
    {"$id", "$schema", "$comment", "title", "description", "definitions", "$defs", "examples", "default"}
)
# How many distinct property names a patternProperties/additionalProperties
# node remembers the classification of (names repeat across objects; the cap
# keeps hostile input from growing it without bound).
_KEY_MEMO_LIMIT: Final = 4096

_TYPE_EXPRESSIONS: Final[Mapping[str, str]] = {
    "array": "isinstance({v}, list)",
    "boolean": "isinstance({v}, bool)",
    "integer": "_is_integer({v})",
    "null": "{v} is None",
    "number": "_is_number({v})",
    "object": "isinstance({v}, dict)",
    "string": "isinstance({v}, str)",
}


class SchemaCompileError(Exception):
    """A schema uses something this compiler does not reproduce exactly."""


class FormatChecker(Protocol):
    """What is used of ``jsonschema.FormatChecker``."""

    checkers: Mapping[str, Any]

    def conforms(self, instance: object, format: str) -> bool: ...


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _equal_to(item: Any) -> Check:
    """``lambda value: jsonschema._utils.equal(item, value)`` for a scalar ``item``.

    jsonschema's ``equal`` tells ``True``/``False`` apart from ``1``/``0``; a
    string never equals a non-string. Arrays and objects in an enum are not
    supported (the schemas have none).
    """
    if isinstance(item, str):
        return lambda value: isinstance(value, str) and value == item
    if item is None or isinstance(item, bool):
        return lambda value: value is item
    if isinstance(item, (int, float)):
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and value == item
    raise SchemaCompileError(f"only scalar enum/const values are supported, not {item!r}")


class _KeyClassifier:
    """For one object node: which patternProperties apply to a key, and whether it is an additional property."""

    def __init__(self, patterns: list[str], known: frozenset[str], extra_matters: bool) -> None:
        self._searches = [re.compile(pattern).search for pattern in patterns]
        joined = "|".join(patterns)  # jsonschema's find_additional_properties
        self._covered = re.compile(joined).search if joined else None
        self._known = known
        self._extra_bit = 1 << len(patterns) if extra_matters else 0
        self.memo: dict[str, int] = {}
        """Bits of the keys seen so far (read directly by the generated code)."""

    def __call__(self, key: str) -> int:
        bits = 0
        for index, search in enumerate(self._searches):
            if search(key) is not None:
                bits |= 1 << index
        if self._extra_bit and key not in self._known and (self._covered is None or self._covered(key) is None):
            bits |= self._extra_bit
        if len(self.memo) < _KEY_MEMO_LIMIT:
            self.memo[key] = bits
        return bits


class SchemaCompiler:
    """Compiles nodes of a set of JSON documents into checks, sharing one function per node.

    ``documents`` maps the absolute URI of each document (what its ``$id``
    says, or where it was loaded from) to its content; ``$ref`` values are
    resolved against the URI of the document they appear in.
    """

    def __init__(self, documents: Mapping[str, Mapping[str, Any]], format_checker: FormatChecker) -> None:
        self._documents = documents
        self._formats = format_checker
        self._namespace: dict[str, Any] = {
            "_is_integer": _is_integer,
            "_is_number": _is_number,
            "_conforms": format_checker.conforms,
        }
        self._by_uri: dict[tuple[str, str], str] = {}
        self._queue: list[tuple[str, Any, str]] = []
        self._counter = 0

    def compile(self, uri: str) -> Check:
        """The check for the node at ``uri`` (a document URI, optionally with a JSON-pointer fragment)."""
        name = self._function_for_uri(uri)
        source: list[str] = []
        while self._queue:
            function, node, base = self._queue.pop()
            source.append(f"def {function}(x):")
            source.extend("    " + line for line in self._emit(node, "x", base))
            source.append("    return True")
        if source:
            exec(compile("\n".join(source), "<stix json schemas>", "exec"), self._namespace)
        check: Check = self._namespace[name]
        return check

    # --- names -------------------------------------------------------------------------

    def _fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _constant(self, value: Any) -> str:
        name = self._fresh("_c")
        self._namespace[name] = value
        return name

    def _function_for_uri(self, uri: str) -> str:
        document_uri, fragment = urldefrag(uri)
        key = (document_uri, fragment)
        name = self._by_uri.get(key)
        if name is None:
            name = self._fresh("_schema")
            self._by_uri[key] = name
            self._queue.append((name, self._resolve(document_uri, fragment), document_uri))
        return name

    def _function_for_node(self, node: Any, base: str) -> str:
        name = self._fresh("_node")
        self._queue.append((name, node, base))
        return name

    def _resolve(self, document_uri: str, fragment: str) -> Any:
        try:
            node: Any = self._documents[document_uri]
        except KeyError:
            raise SchemaCompileError(f"no local schema document for {document_uri!r}") from None
        for part in fragment.lstrip("/").split("/") if fragment else ():
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError):
                raise SchemaCompileError(f"unresolvable reference {document_uri}#{fragment}") from None
        return node

    # --- code ----------------------------------------------------------------------------

    def _emit(self, node: Any, v: str, base: str) -> list[str]:
        """Lines that ``return False`` unless the value in variable ``v`` is valid against ``node``."""
        if node is True:
            return []
        if node is False:
            return ["return False"]
        if not isinstance(node, Mapping):
            raise SchemaCompileError(f"a schema must be an object or a boolean, not {node!r}")
        lines: list[str] = []
        for keyword, value in node.items():
            if keyword in _ANNOTATIONS or keyword in ("then", "else", "properties", "patternProperties"):
                continue  # then/else count only under "if"; the object keywords are emitted together below
            if keyword == "additionalProperties":
                continue
            emit = getattr(self, "_kw_" + keyword.replace("$", "dollar_"), None)
            if emit is None:
                raise SchemaCompileError(f"unsupported keyword {keyword!r}")
            lines.extend(emit(value, node, v, base))
        if "properties" in node or "patternProperties" in node or "additionalProperties" in node:
            lines.extend(self._object_properties(node, v, base))
        return lines

    def _call(self, node: Any, v: str, base: str) -> str:
        """An expression calling a function for ``node`` on ``v``."""
        if isinstance(node, Mapping) and set(node) - _ANNOTATIONS == {"$ref"}:
            return f"{self._function_for_uri(urljoin(base, node['$ref']))}({v})"
        return f"{self._function_for_node(node, base)}({v})"

    def _kw_dollar_ref(self, ref: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        if not isinstance(ref, str):
            raise SchemaCompileError(f"$ref must be a string, not {ref!r}")
        return [f"if not {self._function_for_uri(urljoin(base, ref))}({v}): return False"]

    def _type_expression(self, types: Any, v: str) -> str:
        names = [types] if isinstance(types, str) else list(types)
        unknown = [name for name in names if name not in _TYPE_EXPRESSIONS]
        if unknown or not names:
            raise SchemaCompileError(f"unknown type {unknown or names!r}")
        return "(" + " or ".join(_TYPE_EXPRESSIONS[name].format(v=v) for name in names) + ")"

    def _kw_type(self, types: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        return [f"if not {self._type_expression(types, v)}: return False"]

    def _kw_enum(self, values: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        if not isinstance(values, list):
            raise SchemaCompileError(f"enum must be an array, not {values!r}")
        strings = self._constant(frozenset(item for item in values if isinstance(item, str)))
        others = [_equal_to(item) for item in values if not isinstance(item, str)]
        test = f"(isinstance({v}, str) and {v} in {strings})"
        if others:
            test = f"({test} or any(equal({v}) for equal in {self._constant(tuple(others))}))"
        return [f"if not {test}: return False"]

    def _kw_const(self, value: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        return self._kw_enum([value], node, v, base)

    def _kw_pattern(self, pattern: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        search = self._constant(re.compile(pattern).search)
        return [f"if isinstance({v}, str) and {search}({v}) is None: return False"]

    def _kw_format(self, name: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        if name not in self._formats.checkers:
            return []  # jsonschema ignores formats its checker does not know
        return [f"if not _conforms({v}, {name!r}): return False"]

    def _limit(self, limit: Any) -> str:
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise SchemaCompileError(f"a limit must be a number, not {limit!r}")
        return repr(limit)

    def _kw_minLength(self, limit: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        return [f"if isinstance({v}, str) and len({v}) < {self._limit(limit)}: return False"]

    def _kw_maxLength(self, limit: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        return [f"if isinstance({v}, str) and len({v}) > {self._limit(limit)}: return False"]

    def _kw_minimum(self, limit: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        return [f"if _is_number({v}) and {v} < {self._limit(limit)}: return False"]

    def _kw_maximum(self, limit: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        return [f"if _is_number({v}) and {v} > {self._limit(limit)}: return False"]

    def _kw_minItems(self, limit: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        return [f"if isinstance({v}, list) and len({v}) < {self._limit(limit)}: return False"]

    def _kw_minProperties(self, limit: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        return [f"if isinstance({v}, dict) and len({v}) < {self._limit(limit)}: return False"]

    def _kw_required(self, names: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            self._unsupported("required", names)
        if not names:
            return []
        missing = " or ".join(f"{name!r} not in {v}" for name in names)
        return [f"if isinstance({v}, dict) and ({missing}): return False"]

    def _object_properties(self, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        """properties, patternProperties and additionalProperties, in one pass over the keys."""
        properties = node.get("properties", {})
        patterns = node.get("patternProperties", {})
        extra = node.get("additionalProperties", True)
        if not isinstance(properties, Mapping) or not isinstance(patterns, Mapping):
            self._unsupported("properties", node)
        lines = [f"if isinstance({v}, dict):"]
        for name, sub in properties.items():
            item = self._fresh("v")
            body = self._emit(sub, item, base)
            if body:
                lines.append(f"    if {name!r} in {v}:")
                lines.append(f"        {item} = {v}[{name!r}]")
                lines.extend("        " + line for line in body)
        if patterns or extra is not True:
            classifier = _KeyClassifier(list(patterns), frozenset(properties), extra is not True)
            classify, memo = self._constant(classifier), self._constant(classifier.memo)
            key, item, bits = self._fresh("k"), self._fresh("v"), self._fresh("b")
            lines.append(f"    for {key}, {item} in {v}.items():")
            lines.append(f"        {bits} = {memo}.get({key})")
            lines.append(f"        if {bits} is None: {bits} = {classify}({key})")
            for index, sub in enumerate(patterns.values()):
                lines.append(f"        if {bits} & {1 << index} and not {self._call(sub, item, base)}: return False")
            if extra is False:
                lines.append(f"        if {bits} & {1 << len(patterns)}: return False")
            elif extra is not True:
                call = self._call(extra, item, base)
                lines.append(f"        if {bits} & {1 << len(patterns)} and not {call}: return False")
        return lines if len(lines) > 1 else []

    def _each(self, container: str, schema: Any, v: str, base: str, prefix: str) -> list[str]:
        """Lines that return False unless every member of ``v`` passes ``schema``, when ``v`` is a ``container``."""
        member = self._fresh(prefix)
        return [
            f"if isinstance({v}, {container}):",
            f"    for {member} in {v}:",
            f"        if not {self._call(schema, member, base)}: return False",
        ]

    def _kw_propertyNames(self, names: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        return self._each("dict", names, v, base, "k")  # a dict's members, for "in", are its keys

    def _kw_items(self, items: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        if "prefixItems" in node or isinstance(items, list):
            raise SchemaCompileError("only the single-schema form of 'items' is supported")
        return self._each("list", items, v, base, "i")

    def _kw_contains(self, contains: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        if "minContains" in node or "maxContains" in node:
            raise SchemaCompileError("minContains/maxContains are not supported")
        item = self._fresh("i")
        call = self._call(contains, item, base)
        return [f"if isinstance({v}, list) and not any({call} for {item} in {v}): return False"]

    def _kw_allOf(self, subs: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        return [line for sub in subs for line in self._emit(sub, v, base)]

    def _kw_anyOf(self, subs: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        # Branches that are only {"type": ...} (e.g. the value types allowed
        # for custom properties) become one cheap type test, tried first.
        def type_only(sub: Any) -> bool:
            return isinstance(sub, Mapping) and set(sub) - _ANNOTATIONS == {"type"}

        tests = [self._type_expression(sub["type"], v) for sub in subs if type_only(sub)]
        tests += [self._call(sub, v, base) for sub in subs if not type_only(sub)]
        if not tests:
            raise SchemaCompileError("empty anyOf")
        return [f"if not ({' or '.join(tests)}): return False"]

    def _kw_oneOf(self, subs: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:  # noqa: N802
        calls = [f"bool({self._call(sub, v, base)})" for sub in subs]
        return [f"if ({' + '.join(calls)}) != 1: return False"]

    def _kw_not(self, sub: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        return [f"if {self._call(sub, v, base)}: return False"]

    def _kw_if(self, condition: Any, node: Mapping[str, Any], v: str, base: str) -> list[str]:
        then = self._emit(node.get("then", True), v, base)
        otherwise = self._emit(node.get("else", True), v, base)
        lines = [f"if {self._call(condition, v, base)}:"]
        lines.extend("    " + line for line in then or ["pass"])
        lines.append("else:")
        lines.extend("    " + line for line in otherwise or ["pass"])
        return lines

    def _unsupported(self, keyword: str, value: Any) -> list[str]:
        raise SchemaCompileError(f"unsupported form of {keyword!r}: {value!r}")
