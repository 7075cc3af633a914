"""How full the store is, as values: what the health check, the metrics and the log say about Redis's memory.

Pure: :mod:`hub.store.capacity` reads Redis (``INFO memory``, ``INFO errorstats``,
``CONFIG GET maxmemory-policy``) into a :class:`Memory`; this module decides
what that reading means.

- The store is *full* when Redis holds its ``maxmemory`` or more (with
  ``noeviction`` it then refuses every write), or when the hub's last write
  was refused for memory.
- :class:`Watermarks` says when usage crosses 80 % and 95 % of the limit, once
  per crossing: a warning is armed again only after usage fell back a few
  points below its mark, so a store hovering at a mark does not fill the log.
- Only ``noeviction`` is safe for a store of record: any other policy lets
  Redis delete stored objects, silently, to make room (:func:`eviction_problem`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

WARN_AT = (0.80, 0.95)
"""The shares of the limit at which usage is logged as a warning, once per crossing."""

REARM_MARGIN = 0.05
"""How far below a mark usage must fall before crossing it again warns again."""

SAFE_POLICY = "noeviction"

REFUSALS: Mapping[str, str] = MappingProxyType(
    {
        "OOM": "out_of_memory",
        "READONLY": "read_only",
        "MISCONF": "persistence_failing",
        "NOREPLICAS": "too_few_replicas",
        "MASTERDOWN": "primary_down",
        "LOADING": "loading",
    }
)
"""Redis's error codes that refuse a write, by the reason the metrics name them."""


@dataclass(frozen=True, slots=True)
class Memory:
    """One reading of the store's memory: bytes ``used`` and the ``limit`` (0: none)."""

    used: int
    limit: int

    @property
    def share(self) -> float | None:
        """``used`` as a share of ``limit``; None without a limit."""
        return self.used / self.limit if self.limit > 0 else None

    @property
    def at_limit(self) -> bool:
        """Redis holds its limit or more: with ``noeviction`` it refuses every write."""
        return self.limit > 0 and self.used >= self.limit


class Watermarks:
    """Which of :data:`WARN_AT` usage has crossed; :meth:`observe` names a mark newly crossed, once."""

    def __init__(self, marks: tuple[float, ...] = WARN_AT, margin: float = REARM_MARGIN) -> None:
        self.marks = marks
        self.margin = margin
        self.crossed: set[float] = set()

    def observe(self, memory: Memory) -> float | None:
        """The highest mark this reading crosses that was not crossed before, if any (to be logged once)."""
        share = memory.share
        if share is None:
            self.crossed.clear()
            return None
        self.crossed = {mark for mark in self.crossed if share >= mark - self.margin}
        new = [mark for mark in self.marks if share >= mark and mark not in self.crossed]
        self.crossed.update(new)
        return max(new) if new else None


def warning(mark: float, memory: Memory) -> str:
    """The log line for usage crossing ``mark``."""
    return (
        f"the store is {memory.used / memory.limit:.0%} full (over {mark:.0%}): Redis holds {size_text(memory.used)} "
        f"of its {size_text(memory.limit)} limit; at the limit it refuses every write (507): raise maxmemory, "
        "or shorten the channels' retention"
    )


def eviction_problem(policy: str) -> str | None:
    """Why the hub refuses to start on a Redis with ``maxmemory-policy`` ``policy``; None for ``noeviction``."""
    if policy == SAFE_POLICY:
        return None
    return (
        f"Redis's maxmemory-policy is {policy}, which silently deletes stored objects once the memory limit is "
        f"reached: set it to {SAFE_POLICY} (CONFIG SET maxmemory-policy {SAFE_POLICY}, and "
        f"maxmemory-policy {SAFE_POLICY} in redis.conf) and start the hub again"
    )


_SIZE = re.compile(r"([0-9]+)\s*(k|kb|m|mb|g|gb|)", re.IGNORECASE)
_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def parse_size(text: str) -> int:
    """Bytes of a size written as Redis writes them (``2gb``, ``512mb``, ``1000000``; ``1k`` is 1000, ``1kb`` 1024).

    Raises ValueError, saying the form, for anything else or for zero.
    """
    match = _SIZE.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a memory size: give bytes or a size such as 512mb or 2gb")
    return int(match[1]) * _UNITS[match[2].lower()]


def size_text(n: int) -> str:
    """``n`` bytes for people: ``1.5 GiB``, ``512 MiB``, ``900 B``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.0f} GiB" if value >= 100 else f"{value:.1f} GiB"
