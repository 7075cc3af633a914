"""The hub's one exception tree.

    HubError                      every error the hub raises on purpose
    ├── BadRequest                400 — the request cannot be understood
    │   ├── InvalidJson           the body is not JSON
    │   └── InvalidStix           the body is JSON but not acceptable STIX 2.1
    ├── Unauthorized              401 — no, unknown or revoked credentials
    ├── Forbidden                 403 — authenticated, but not allowed
    ├── NotFound                  404 — no such channel, object, … (for this caller)
    ├── NotAcceptable             406 — no acceptable response media type
    ├── Conflict                  409 — clashes with what exists (a token id taken)
    ├── Gone                      410 — it existed, and is over (an expired request)
    ├── PayloadTooLarge           413 — body over the configured limit
    ├── UnsupportedMediaType      415 — wrong request Content-Type
    ├── TooManyRequests           429 — too many failed attempts; retry later
    ├── Overloaded                503 — live streams are behind: producers wait, then retry later
    ├── ConfigError               a configuration file or option is wrong (start-up only)
    └── StoreUnavailable          503 — Redis cannot be reached
        └── NotReplicated         stored on the primary, not yet confirmed by enough replicas

Domain code raises these and never builds a response: each class carries a
*hint* of the HTTP status (``status_hint``) and a short ``title``; one
middleware turns them into the JSON error body. Messages are written for the
client: they never contain secrets or stack traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HubError(Exception):
    """Root of every error the hub raises on purpose.

    A subclass names its status hint and title as class arguments:
    ``class NotFound(HubError, status_hint=404, title="Not found")``; one it
    does not name is its parent's.
    """

    status_hint = 500
    title = "Internal error"
    retry_after: float | None = None
    """Seconds after which the same request may succeed (answered as ``Retry-After``), if the error says."""

    def __init_subclass__(cls, *, status_hint: int | None = None, title: str | None = None) -> None:
        super().__init_subclass__()
        if status_hint is not None:
            cls.status_hint = status_hint
        if title is not None:
            cls.title = title

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class BadRequest(HubError, status_hint=400, title="Bad request"):
    """The request cannot be understood."""


class InvalidJson(BadRequest, title="Malformed JSON"):
    """The body is not JSON."""


class InvalidStix(BadRequest, title="Invalid STIX"):
    """The body is JSON but not acceptable STIX 2.1."""


class Unauthorized(HubError, status_hint=401, title="Unauthorized"):
    """No, unknown or revoked credentials."""


class Forbidden(HubError, status_hint=403, title="Forbidden"):
    """Authenticated, but not allowed."""


class NotFound(HubError, status_hint=404, title="Not found"):
    """No such channel, object, … (for this caller)."""


class NotAcceptable(HubError, status_hint=406, title="Not acceptable"):
    """No acceptable response media type."""


class Conflict(HubError, status_hint=409, title="Conflict"):
    """The request clashes with what exists already: a token id that is taken, say."""


class Gone(HubError, status_hint=410, title="Gone"):
    """What the request names existed and is over: a sign-in request that expired, say."""


class PayloadTooLarge(HubError, status_hint=413, title="Payload too large"):
    """A body over the configured limit."""


class UnsupportedMediaType(HubError, status_hint=415, title="Unsupported media type"):
    """A wrong request Content-Type."""


class TooManyRequests(HubError, status_hint=429, title="Too many requests"):
    """Too many failed attempts; ``retry_after`` says in how many seconds to try again."""

    def __init__(self, description: str, retry_after: float) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class Overloaded(HubError, status_hint=503, title="Service unavailable"):
    """The live streams are behind what the hub accepts: a producer retries after ``retry_after`` seconds.

    Nothing of the refused request was read or written (see :mod:`hub.admission`).
    """

    def __init__(self, description: str, retry_after: float) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class ConfigError(HubError, status_hint=500, title="Configuration error"):
    """A configuration value is wrong; the message names the key at fault."""


class StoreUnavailable(HubError, status_hint=503, title="Service unavailable"):
    """Redis cannot be reached, or cannot take writes now: retry shortly."""

    retry_after = 5.0


class StoreFull(StoreUnavailable, status_hint=507, title="Insufficient storage"):
    """Redis is at its memory limit and refuses writes; reads go on. Retry once space is freed.

    A kind of unavailable store, so every path that backs off and retries (connectors, the audit
    writer, the CLI) treats it so; only its answer differs: 507, saying the store is full.
    """

    retry_after = 60.0


class NotReplicated(StoreUnavailable):
    """An append the primary holds but too few replicas confirmed in time (``hub.redis_wait_replicas``).

    Answered 503 like any unavailable store, because a failover could still
    lose it: the producer retries, and the objects the primary kept are then
    reported as duplicates once enough replicas hold them. ``stored`` is what
    the primary holds of the append (``hub.store.Appended``), for the audit
    trail: live streams may already have it.
    """

    def __init__(self, description: str, stored: Sequence[Any] = ()) -> None:
        super().__init__(description)
        self.stored = tuple(stored)
