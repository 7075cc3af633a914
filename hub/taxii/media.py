"""TAXII 2.1 media types: which ``Accept`` headers we can satisfy, which request bodies we read.

Pure: no aiohttp, redis or asyncio import.

Every TAXII answer is ``application/taxii+json;version=2.1``. A request may
accept it explicitly, as ``application/taxii+json`` (any TAXII version: 2.1 is
ours), through a wildcard, or by sending no ``Accept`` at all; anything else
gets 406. A request body (an envelope) must be ``application/taxii+json``, at
version 2.1 when a version is given; anything else gets 415.
"""

from __future__ import annotations

from typing import Final

from hub.errors import NotAcceptable, UnsupportedMediaType

TAXII_TYPE: Final = "application/taxii+json"
TAXII_VERSION: Final = "2.1"
TAXII_MEDIA_TYPE: Final = f"{TAXII_TYPE};version={TAXII_VERSION}"
STIX_MEDIA_TYPE: Final = "application/stix+json;version=2.1"
TAXII_ROOT: Final = "/taxii2"
"""Where TAXII is served: discovery, and the API root below it."""


def is_taxii_path(path: str) -> bool:
    """Whether a request for ``path`` is a TAXII request, to be answered (errors too) in TAXII's media type.

    Declared here rather than sniffed by each caller: a path the router does
    not know, or a request line too long to parse, still gets a TAXII error
    when it was meant for the TAXII server.
    """
    return path == TAXII_ROOT or path.startswith(TAXII_ROOT + "/")


def parse_media_type(text: str) -> tuple[str, dict[str, str]]:
    """``type/subtype`` (lower case) and its parameters (names lower case, values unquoted)."""
    head, *params = text.split(";")
    parameters: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"')
    return head.strip().lower(), parameters


def _serves_taxii(media_range: str) -> bool:
    kind, params = parse_media_type(media_range)
    try:
        if float(params.get("q", "1")) <= 0:  # q=0 means "not this one"
            return False
    except ValueError:
        return False
    if kind in ("*/*", "application/*"):
        return True
    return kind == TAXII_TYPE and params.get("version", TAXII_VERSION) == TAXII_VERSION


def check_accept(header: str | None) -> None:
    """NotAcceptable unless the ``Accept`` header allows a TAXII 2.1 answer."""
    if header is None or not header.strip():
        return
    if not any(_serves_taxii(media_range) for media_range in header.split(",")):
        raise NotAcceptable(f"this server answers only {TAXII_MEDIA_TYPE}; the request accepts {header[:80]!r}")


def check_content_type(header: str | None) -> None:
    """UnsupportedMediaType unless the request body is declared as a TAXII 2.1 envelope."""
    kind, params = parse_media_type(header or "")
    if kind != TAXII_TYPE or params.get("version", TAXII_VERSION) != TAXII_VERSION:
        raise UnsupportedMediaType(
            f"send the envelope as {TAXII_MEDIA_TYPE}, not {(header or 'no content type')[:80]!r}"
        )
