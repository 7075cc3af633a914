"""The conditions of a plan's if-, while- and switch-condition steps, read against a crisis. Pure.

CACAO writes a condition in the STIX Patterning grammar. The hub's plans
compare the crisis the run belongs to, as the object type ``crisis``::

    [crisis:severity >= 3]
    [crisis:category IN ('ransomware', 'ddos') AND crisis:affected_sectors[*] = 'energy']
    [crisis:exercise = true] OR [crisis:status = 'escalated']

Properties: ``severity`` (the level, an integer), ``status``, ``category``,
``subcategory``, ``affected_sectors[*]``, ``affected_stakeholders[*]``,
``exercise`` (true or false). Operators: ``= != > >= < <= IN LIKE MATCHES``,
``NOT``, ``AND``, ``OR`` and brackets. A list property compares true when any
of its members does. Time qualifiers (``WITHIN``, ``REPEATS``, ``START``) have
no meaning for a crisis and are refused, like any other object or property.

A switch-condition's ``switch`` names one property, as ``crisis:category``
(or the CACAO variable form ``__crisis_category__``); its value, as text
(``3``, ``true``), picks the case.

The stix2 library parses; this module only evaluates. Its tree builder
drops a ``NOT`` before ``IN``, ``LIKE``, ``MATCHES`` and the order operators
(and reads ``NOT !=`` as ``!=``): :class:`_Tree` puts it back, since a lost
``NOT`` would turn a condition into its opposite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from stix2 import patterns  # type: ignore[import-untyped]
from stix2.pattern_visitor import STIXPatternVisitorForSTIX21  # type: ignore[import-untyped]
from stix2patterns.v21.grammars.STIXPatternParser import STIXPatternParser  # type: ignore[import-untyped]
from stix2patterns.v21.pattern import Pattern  # type: ignore[import-untyped]

from hub.errors import BadRequest

OBJECT: Final = "crisis"
SCALARS: Final = frozenset({"severity", "status", "category", "subcategory", "exercise"})
LISTS: Final = frozenset({"affected_sectors", "affected_stakeholders"})
_ORDERS: Final[Mapping[type, Any]] = {
    patterns.GreaterThanComparisonExpression: lambda a, b: a > b,
    patterns.GreaterThanEqualComparisonExpression: lambda a, b: a >= b,
    patterns.LessThanComparisonExpression: lambda a, b: a < b,
    patterns.LessThanEqualComparisonExpression: lambda a, b: a <= b,
}
_COMPARISONS: Final = (
    patterns.EqualityComparisonExpression,
    patterns.InComparisonExpression,
    patterns.LikeComparisonExpression,
    patterns.MatchesComparisonExpression,
    *_ORDERS,
)
_VARIABLE: Final = re.compile(r"\A__crisis_([a-z_]+?)__(?::value)?\Z")


class ConditionError(BadRequest):
    """A condition the hub cannot evaluate, with the reason."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition may ask of a crisis."""

    severity: int
    status: str
    category: str
    subcategory: str
    affected_sectors: tuple[str, ...]
    affected_stakeholders: tuple[str, ...]
    exercise: bool = False

    def value(self, name: str) -> Any:
        return getattr(self, name)


def condition_problem(text: str) -> str | None:
    """None if the hub can evaluate ``text`` as a condition, else why not, in one sentence."""
    try:
        _check(_parse(text))
    except ConditionError as exc:
        return exc.description
    return None


def evaluate(text: str, facts: Facts) -> bool:
    """Whether the condition holds for the crisis ``facts`` describe; ConditionError if it cannot be read."""
    tree = _parse(text)
    _check(tree)
    return _observation(tree, facts)


def switch_property(text: str) -> str:
    """The crisis property a switch-condition's ``switch`` names; ConditionError if none."""
    name = text.strip()
    variable = _VARIABLE.match(name)
    if variable is not None:
        name = variable.group(1)
    else:
        name = name.removeprefix(f"{OBJECT}:")
    if name not in SCALARS:
        raise ConditionError(f"switch must name one of crisis:{', crisis:'.join(sorted(SCALARS))}, got {text[:60]!r}")
    return name


def switch_value(text: str, facts: Facts) -> str:
    """The case key a switch on ``text`` selects for ``facts``: the property's value as text."""
    value = facts.value(switch_property(text))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# parsing and checking ---------------------------------------------------------------------
class _Tree(STIXPatternVisitorForSTIX21):  # type: ignore[misc]
    """stix2's tree builder, with ``NOT`` kept on every comparison (``objectPath NOT? operator literal``)."""

    def __init__(self) -> None:
        super().__init__(STIXPatternParser, "", "")

    @staticmethod
    def _not(node: Any, ctx: Any) -> Any:
        node.negated = ctx.getChildCount() > 3
        return node

    def visitPropTestEqual(self, ctx: Any) -> Any:
        node = self._not(super().visitPropTestEqual(ctx), ctx)
        node.negated ^= ctx.getChild(ctx.getChildCount() - 2).getText() != "="
        return node

    def visitPropTestOrder(self, ctx: Any) -> Any:
        children = self.visitChildren(ctx)
        kind = {">": "GreaterThan", ">=": "GreaterThanEqual", "<": "LessThan", "<=": "LessThanEqual"}
        operator = ctx.getChild(ctx.getChildCount() - 2).getText()
        node = self.instantiate(f"{kind[operator]}ComparisonExpression", children[0], children[-1], False)
        return self._not(node, ctx)

    def visitPropTestSet(self, ctx: Any) -> Any:
        return self._not(super().visitPropTestSet(ctx), ctx)

    def visitPropTestLike(self, ctx: Any) -> Any:
        return self._not(super().visitPropTestLike(ctx), ctx)

    def visitPropTestRegex(self, ctx: Any) -> Any:
        return self._not(super().visitPropTestRegex(ctx), ctx)


def _parse(text: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition must be a STIX pattern such as [crisis:severity >= 3]")
    try:
        return Pattern(text).visit(_Tree())
    except Exception as exc:  # the parser raises its own classes, and ANTLR's  # noqa: BLE001
        raise ConditionError(f"not a STIX pattern: {str(exc).splitlines()[-1][:160]}") from None


def _check(node: Any) -> None:
    """Raise ConditionError for anything :func:`evaluate` would not read."""
    if isinstance(node, patterns.QualifiedObservationExpression):
        raise ConditionError("time qualifiers (WITHIN, REPEATS, START/STOP) have no meaning for a crisis")
    if isinstance(node, patterns.ParentheticalExpression):
        _check(node.expression)
    elif isinstance(node, patterns._BooleanExpression | patterns._CompoundObservationExpression):
        for operand in node.operands:
            _check(operand)
    elif isinstance(node, patterns.ObservationExpression):
        _check(node.operand)
    elif isinstance(node, patterns._ComparisonExpression):
        if not isinstance(node, _COMPARISONS):
            raise ConditionError(f"the hub cannot evaluate {node.operator} in a condition")
        _property(node.lhs)
    else:
        raise ConditionError(f"the hub cannot evaluate {type(node).__name__} in a condition")


def _property(path: Any) -> tuple[str, bool]:
    """(property name, whether it is a list) for ``crisis:<name>`` or ``crisis:<list>[*]``."""
    if path.object_type_name != OBJECT:
        raise ConditionError(f"a condition compares the crisis ({OBJECT}:…), not {path.object_type_name}")
    if len(path.property_path) != 1:
        raise ConditionError(f"{OBJECT} has no nested properties: {path}")
    [component] = path.property_path
    name = component.property_name
    if isinstance(component, patterns.ListObjectPathComponent):
        if name not in LISTS or component.index != "*":
            raise ConditionError(f"{OBJECT}:{name}[{component.index}] is not a list the hub compares (use [*])")
        return name, True
    if name in LISTS:
        raise ConditionError(f"{OBJECT}:{name} is a list: compare its members as {OBJECT}:{name}[*]")
    if name not in SCALARS:
        known = ", ".join(sorted(SCALARS | {f"{n}[*]" for n in LISTS}))
        raise ConditionError(f"{OBJECT} has no property {name!r} (known: {known})")
    return name, False


# evaluating ---------------------------------------------------------------------------------
def _observation(node: Any, facts: Facts) -> bool:
    if isinstance(node, patterns.ParentheticalExpression):
        return _observation(node.expression, facts)
    if isinstance(node, patterns.AndObservationExpression | patterns.FollowedByObservationExpression):
        return all(_observation(o, facts) for o in node.operands)
    if isinstance(node, patterns.OrObservationExpression):
        return any(_observation(o, facts) for o in node.operands)
    return _boolean(node.operand, facts)


def _boolean(node: Any, facts: Facts) -> bool:
    if isinstance(node, patterns.ParentheticalExpression):
        return _boolean(node.expression, facts)
    if isinstance(node, patterns.AndBooleanExpression):
        return all(_boolean(o, facts) for o in node.operands)
    if isinstance(node, patterns.OrBooleanExpression):
        return any(_boolean(o, facts) for o in node.operands)
    name, is_list = _property(node.lhs)
    value = facts.value(name)
    members = value if is_list else (value,)
    held = any(_compare(node, member) for member in members)
    return held != bool(node.negated)


def _constant(node: Any) -> Any:
    if isinstance(node, patterns.ListConstant):
        return [_constant(v) for v in node.value]
    return node.value


def _compare(node: Any, value: Any) -> bool:
    wanted = _constant(node.rhs)
    if isinstance(node, patterns.InComparisonExpression):
        return any(_equal(value, w) for w in wanted)
    if isinstance(node, patterns.EqualityComparisonExpression):
        return _equal(value, wanted)
    if isinstance(node, patterns.LikeComparisonExpression):
        pattern = re.escape(str(wanted)).replace("%", ".*").replace("_", ".")
        return re.fullmatch(pattern, str(value), re.DOTALL) is not None
    if isinstance(node, patterns.MatchesComparisonExpression):
        try:
            return re.search(str(wanted), str(value)) is not None
        except re.error as exc:
            raise ConditionError(f"MATCHES needs a regular expression: {exc}") from None
    if type(value) is not type(wanted) and not (isinstance(value, int) and isinstance(wanted, int | float)):
        return False  # an order between a number and a word is no order
    return bool(_ORDERS[type(node)](value, wanted))


def _equal(value: Any, wanted: Any) -> bool:
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    return bool(value == wanted)
