"""Micro-benchmark of STIX validation, fast path against full path: ``python -m bench.validation``.

A script, not a test; about 20 seconds. It prints one ``name: value`` line per
figure:

* ``indicator_{fast,full}_us``: :func:`hub.stix.validate` per novel
  indicator (each with its own id and its own pattern, cycling through an IPv4
  address, a domain, a URL and a SHA-256 file hash), the pattern cache cleared
  first; ``full`` is ``validate(..., full=True)`` (stix2validator + stix2 on
  every object). ``indicator_speedup`` is their ratio and
  ``indicator_fast_path_share`` the share the fast path vouched for.
* ``indicator_cached_pattern_fast_us``: the same, for indicators whose patterns
  are already in the verdict cache (new ids, patterns seen before).
* ``pattern_{cache_hit,recognised,grammar}_us``: one pattern verdict from the
  cache, from the recogniser (a cache miss), and from the ANTLR grammar of both
  libraries (what a miss outside the simple forms costs).
* ``attack_ics_{fast,full}_s``: the ATT&CK for ICS bundle (1826 objects, a
  third of them custom ``x-mitre-*`` content), decode + validate, and their
  ratio; ``attack_ics_fast_path_share`` as above.

Fast figures are the best of three runs (the machine is shared); full ones
are measured once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bench.stixgen import pattern
from hub.stix import decode, validate
from hub.stix.fast import fast_accepts, patterns
from hub.tlp import TLP

ATTACK: Final = Path(__file__).resolve().parent.parent / "tests" / "data" / "stix" / "attack" / "ics-attack-18.1.json"
FAST_INDICATORS: Final = 4000
FULL_INDICATORS: Final = 300


def novel_pattern(n: int) -> str:
    """The ``n``-th pattern: one of four common simple forms, with a value unique to ``n``."""
    return pattern(n)


def indicators(first: int, count: int) -> list[dict[str, Any]]:
    """Novel valid indicators ``first`` … ``first + count - 1``."""
    moment = datetime.now(UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": stamp,
            "modified": stamp,
            "name": f"bench indicator {n}",
            "indicator_types": ["malicious-activity"],
            "pattern": novel_pattern(n),
            "pattern_type": "stix",
            "valid_from": stamp,
        }
        for n in range(first, first + count)
    ]


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def best_of_three(prepare: Callable[[], Callable[[], object]]) -> float:
    """The fastest of three runs, each on freshly prepared input."""
    return min(seconds(prepare()) for _ in range(3))


def share_fast(objects: list[Any]) -> float:
    return sum(1 for obj in objects if fast_accepts(obj)) / len(objects)


def report(name: str, value: float, digits: int = 1) -> None:
    print(f"{name}: {value:.{digits}f}", flush=True)


def main() -> None:
    validate(indicators(0, 10), TLP.AMBER)  # import, compile the schemas, warm up
    serial = iter(range(1_000_000, 100_000_000, FAST_INDICATORS))

    def fresh_batch() -> Callable[[], object]:
        batch = indicators(next(serial), FAST_INDICATORS)
        patterns.cache_clear()
        return lambda: validate(batch, TLP.AMBER)

    fast = best_of_three(fresh_batch) / FAST_INDICATORS
    full_batch = indicators(200_000_000, FULL_INDICATORS)
    full = seconds(lambda: validate(full_batch, TLP.AMBER, full=True)) / FULL_INDICATORS
    report("indicator_fast_us", fast * 1e6)
    report("indicator_full_us", full * 1e6)
    report("indicator_speedup", full / fast)
    report("indicator_fast_path_share", share_fast(indicators(300_000_000, 1000)), 3)

    seen = indicators(400_000_000, FAST_INDICATORS)
    validate(seen, TLP.AMBER)  # their patterns are now cached

    def seen_again() -> Callable[[], object]:
        batch = [{**obj, "id": f"indicator--{uuid.uuid4()}"} for obj in seen]
        return lambda: validate(batch, TLP.AMBER)

    report("indicator_cached_pattern_fast_us", best_of_three(seen_again) / FAST_INDICATORS * 1e6)

    texts = [novel_pattern(n) for n in range(500_000_000, 500_000_000 + FAST_INDICATORS)]
    patterns.cache_clear()
    recognised = seconds(lambda: [patterns.pattern_accepted(text, "2.1", "2.1") for text in texts])
    hit = best_of_three(lambda: lambda: [patterns.pattern_accepted(text, "2.1", "2.1") for text in texts])
    grammar = seconds(lambda: [patterns.library_verdict(text, "2.1", "2.1") for text in texts[:300]])
    report("pattern_cache_hit_us", hit / len(texts) * 1e6, 2)
    report("pattern_recognised_us", recognised / len(texts) * 1e6, 2)
    report("pattern_grammar_us", grammar / 300 * 1e6)

    body = ATTACK.read_bytes()
    attack_fast = best_of_three(lambda: lambda: validate(decode(body), TLP.GREEN))
    attack_full = seconds(lambda: validate(decode(body), TLP.GREEN, full=True))
    report("attack_ics_objects", len(decode(body)), 0)
    report("attack_ics_fast_s", attack_fast, 3)
    report("attack_ics_full_s", attack_full, 2)
    report("attack_ics_speedup", attack_full / attack_fast)
    report("attack_ics_fast_path_share", share_fast(decode(body)), 3)


if __name__ == "__main__":
    main()
