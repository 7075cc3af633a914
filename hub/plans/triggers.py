"""When a configured trigger starts a plan for a crisis. Pure.

A ``[[plans]]`` entry (:class:`hub.config.PlanTrigger`) starts its plan once
per crisis, when:

- ``declared``: the crisis was declared at ``min_severity`` or above;
- ``raised``: a later version raised its severity from below ``min_severity``
  to it or above.

and the crisis's category is one of ``categories`` (when given), it is not
closed, and it is real, or an exercise and the trigger says ``exercises``.
The versions are read oldest first; the answer depends on nothing else, so
every hub process gives the same one.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.config import PlanTrigger
from hub.crisis.model import Crisis


def starts(trigger: PlanTrigger, versions: Sequence[Crisis]) -> bool:
    """Whether ``trigger`` starts its plan for the crisis whose versions, oldest first, are ``versions``."""
    if not versions:
        return False
    current = versions[-1]
    if current.status == "closed" or (current.exercise and not trigger.exercises):
        return False
    if trigger.categories is not None and current.category not in trigger.categories:
        return False
    threshold = trigger.min_severity
    if "declared" in trigger.on and versions[0].severity.level >= threshold:
        return True
    if "raised" in trigger.on:
        levels = [v.severity.level for v in versions]
        return any(before < threshold <= after for before, after in zip(levels, levels[1:], strict=False))
    return False
