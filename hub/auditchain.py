"""The audit trail's hash chain. Pure: no I/O.

Each entry stores its record (canonical JSON), the hash of the entry before
it, and its own hash: ``sha256(previous_hash + "\\n" + record)``. Editing a
record changes its hash; deleting or inserting an entry breaks the link to
the next one; cutting the tail leaves the chain's recorded head pointing at
an entry that is gone. :func:`verify` finds the first such break.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = ""


def encode(record: Mapping[str, Any]) -> bytes:
    """A record's canonical bytes: sorted keys, no whitespace."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def link(previous: str, body: bytes) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + body).hexdigest()


def chain(previous: str, bodies: Iterable[bytes]) -> list[tuple[bytes, str, str]]:
    """``(body, previous_hash, hash)`` for each body appended after ``previous``."""
    out = []
    for body in bodies:
        digest = link(previous, body)
        out.append((body, previous, digest))
        previous = digest
    return out


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int
    problem: str = ""
    entry_id: str | None = None


class Verifier:
    """Checks entries one at a time, so a long trail never has to sit in memory."""

    def __init__(self) -> None:
        self.previous = GENESIS
        self.count = 0
        self.failure: Verdict | None = None

    def feed(self, entry_id: str, body: bytes, prev: str, digest: str) -> bool:
        """Check the next entry; False (and ``failure`` set) at the first break."""
        if self.failure is not None:
            return False
        if prev != self.previous:
            problem = "the link to the previous entry is broken (an entry was removed or inserted)"
            self.failure = Verdict(False, self.count, problem, entry_id)
        elif link(prev, body) != digest:
            self.failure = Verdict(
                False, self.count, "the entry's content does not match its hash (it was edited)", entry_id
            )
        else:
            self.previous = digest
            self.count += 1
        return self.failure is None

    def finish(self, head: str | None) -> Verdict:
        if self.failure is not None:
            return self.failure
        if (head or GENESIS) != self.previous:
            problem = "the chain's head does not match its last entry (entries were cut off the end)"
            return Verdict(False, self.count, problem)
        return Verdict(True, self.count)


def verify(entries: Iterable[tuple[str, bytes, str, str]], head: str | None) -> Verdict:
    """Check ``(entry_id, body, previous_hash, hash)`` in order against the recorded ``head``."""
    verifier = Verifier()
    for entry in entries:
        if not verifier.feed(*entry):
            break
    return verifier.finish(head)
