"""Novel STIX 2.1 indicators for the benchmark, and request bodies that carry their send time.

Every indicator has its own id and its own pattern, so no cache keyed by id
or by pattern text can answer for it; the patterns cycle through the common
simple IOC forms (an IPv4 address, a domain, a URL, a SHA-256 file hash).
Timestamps have millisecond precision.

Bodies are built before a phase starts, each with a fixed-width placeholder in
every object's ``description``; :func:`stamp` writes the send time (the
``time.monotonic_ns()`` clock, which is one clock for every process of the
machine) into it just before the request leaves. A watcher reads it back with
:func:`sent_ns` to measure POST → receipt latency.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any, Final

import orjson

MARK: Final = "bench-t="
_DIGITS: Final = 19
PLACEHOLDER: Final = (MARK + "0" * _DIGITS).encode()
_MARK_BYTES: Final = MARK.encode()

_serial = itertools.count(1)


def now_millis() -> str:
    """The current UTC time with millisecond precision, as STIX timestamps are written."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def pattern(n: int) -> str:
    """The ``n``-th novel pattern: one of four common simple forms, each value unique to ``n``."""
    kind = n % 4
    if kind == 0:
        return f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']"
    if kind == 1:
        return f"[domain-name:value = 'c2-{n}.bench.example']"
    if kind == 2:
        return f"[url:value = 'https://dl-{n}.bench.example/payload/{n * 7919}.bin']"
    digest = hashlib.sha256(n.to_bytes(8, "big")).hexdigest()
    return f"[file:hashes.'SHA-256' = '{digest}']"


def indicator(stamp: str, n: int | None = None) -> dict[str, Any]:
    """A novel, valid STIX 2.1 indicator whose description holds the send-time placeholder."""
    n = next(_serial) if n is None else n
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": stamp,
        "modified": stamp,
        "name": f"Benchmark indicator {n}",
        "description": PLACEHOLDER.decode(),
        "indicator_types": ["malicious-activity"],
        "pattern": pattern(n),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": stamp,
        "labels": ["benchmark"],
    }


def indicators(count: int) -> list[dict[str, Any]]:
    stamp = now_millis()
    return [indicator(stamp) for _ in range(count)]


def bundle_body(count: int) -> bytes:
    """A STIX bundle of ``count`` novel indicators (HTTP API)."""
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": indicators(count)})


def envelope_body(count: int) -> bytes:
    """A TAXII envelope of ``count`` novel indicators."""
    return orjson.dumps({"objects": indicators(count)})


def stamp(body: bytes, sent_ns: int) -> bytes:
    """``body`` with every placeholder replaced by the send time ``sent_ns``."""
    return body.replace(PLACEHOLDER, _MARK_BYTES + str(sent_ns).zfill(_DIGITS).encode())


def sent_ns(text: str) -> int | None:
    """The send time a received event carries, if it carries one."""
    at = text.find(MARK)
    if at < 0:
        return None
    start = at + len(MARK)
    try:
        return int(text[start : start + _DIGITS])
    except ValueError:
        return None
