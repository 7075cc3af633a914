"""The hub's one exception tree.

    HubError                      every error the hub raises on purpose
    ├── BadRequest                400 — the request cannot be understood
    │   ├── InvalidJson           the body is not JSON
    │   └── InvalidStix           the body is JSON but not acceptable STIX 2.1
    ├── Unauthorized              401 — no, unknown or revoked credentials
    ├── Forbidden                 403 — authenticated, but not allowed
    ├── NotFound                  404 — no such channel, object, … (for this caller)
    ├── NotAcceptable             406 — no acceptable response media type
    ├── PayloadTooLarge           413 — body over the configured limit
    ├── UnsupportedMediaType      415 — wrong request Content-Type
    ├── TooManyRequests           429 — too many failed attempts; retry later
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
    """Root of every error the hub raises on purpose."""

    status_hint = 500
    title = "Internal error"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class BadRequest(HubError):
    status_hint = 400
    title = "Bad request"


class InvalidJson(BadRequest):
    title = "Malformed JSON"


class InvalidStix(BadRequest):
    title = "Invalid STIX"


class Unauthorized(HubError):
    status_hint = 401
    title = "Unauthorized"


class Forbidden(HubError):
    status_hint = 403
    title = "Forbidden"


class NotFound(HubError):
    status_hint = 404
    title = "Not found"


class NotAcceptable(HubError):
    status_hint = 406
    title = "Not acceptable"


class PayloadTooLarge(HubError):
    status_hint = 413
    title = "Payload too large"


class UnsupportedMediaType(HubError):
    status_hint = 415
    title = "Unsupported media type"


class TooManyRequests(HubError):
    status_hint = 429
    title = "Too many requests"

    def __init__(self, description: str, retry_after: float) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class ConfigError(HubError):
    """A configuration value is wrong; the message names the key at fault."""

    status_hint = 500
    title = "Configuration error"


class StoreUnavailable(HubError):
    status_hint = 503
    title = "Service unavailable"


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
