"""TAXII status resources: the answer to an Add Objects request, one verdict per object. Pure: no I/O.

Objects are validated and stored before the answer is sent, so a status is
always ``complete`` with nothing pending. An object already in the collection
(same id and version) counts as a success: adding it again changes nothing.
Each failure carries a message; one without a usable id or version (not an
object at all, say) is reported with empty strings there and its position in
the envelope in the message, so that every failure is listed and the counts
add up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from hub.events import iso_millis
from hub.taxii.filters import reported_version

if TYPE_CHECKING:  # only their shapes are needed here, not the store and validators they bring in
    from hub.ingest import IngestResult
    from hub.store import Appended


def status_resource(
    status_id: str, request_ms: int, objects: Sequence[Any], result: IngestResult, readable: Collection[str] = ()
) -> dict[str, Any]:
    """The status resource of an Add Objects request of ``objects`` that ingest answered with ``result``.

    ``readable``: the event ids of the duplicates the caller may read. For the
    others the request's own time stands in for ``date_added`` (the version
    reported for an object without ``modified``), which tells nothing.
    """
    successes = [_success(a, "added") for a in result.accepted]
    successes += [
        _success(a, "already in the collection", None if a.event_id in readable else request_ms)
        for a in result.duplicates
    ]
    failures = [
        {
            "id": rejection.id or "",
            "version": _claimed_version(objects[rejection.index]),
            "message": f"object {rejection.index}: {rejection.reason}",
        }
        for rejection in result.rejected
    ]
    resource: dict[str, Any] = {
        "id": status_id,
        "status": "complete",
        "request_timestamp": iso_millis(request_ms),
        "total_count": len(objects),
        "success_count": len(successes),
        "failure_count": len(failures),
        "pending_count": 0,
    }
    if successes:
        resource["successes"] = successes
    if failures:
        resource["failures"] = failures
    return resource


def _success(appended: Appended, message: str, stand_in_ms: int | None = None) -> dict[str, Any]:
    millis = int(appended.event_id.split("-", 1)[0]) if stand_in_ms is None else stand_in_ms
    date_added = iso_millis(millis)
    return {
        "id": appended.item.id,
        "version": reported_version(appended.item.version, date_added),
        "message": message,
    }


def _claimed_version(candidate: Any) -> str:
    """The version a rejected object claims, if it is an object with a string ``modified`` or ``created``."""
    if isinstance(candidate, dict):
        for key in ("modified", "created"):
            if isinstance(candidate.get(key), str):
                return str(candidate[key])
    return ""
