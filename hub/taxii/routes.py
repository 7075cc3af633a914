"""The TAXII 2.1 endpoints under ``/taxii2/``: thin aiohttp handlers.

Each handler authenticates the caller (HTTP Basic or Bearer, and the
``taxii`` interface), checks that it accepts a TAXII 2.1 answer, finds the
collection as the caller sees it, and hands over to the pure modules and the
store. Errors are raised as :mod:`hub.errors` classes; the middleware turns
them into TAXII error messages. Every route answers with and without its
trailing slash (taxii2-client asks for status resources without one).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Final

import orjson
from aiohttp import web

from hub import keys
from hub.auth import principal_for_basic_or_bearer, require_access, session_for_request, uses_session
from hub.errors import Forbidden, NotFound, PayloadTooLarge
from hub.ingest import check_channel_write, ingest
from hub.middleware import Handler
from hub.policy import (
    Level,
    Principal,
    may_delete,
    may_delete_from,
    may_read,
    may_read_channel,
    may_see_status,
    rights_key,
)
from hub.taxii import resources
from hub.taxii.catalog import Collection
from hub.taxii.filters import (
    ALL,
    DELETE_FILTERS,
    LAST,
    OBJECT_FILTERS,
    OBJECTS_FILTERS,
    VERSIONS_FILTERS,
    Query,
    VersionMatch,
    parse_query,
)
from hub.taxii.media import TAXII_MEDIA_TYPE, TAXII_ROOT, check_accept, check_content_type
from hub.taxii.pagination import cursor_context, decode_cursor, encode_cursor, parse_limit, start_position
from hub.taxii.query import Page, VersionIndex, matching_versions, select_page
from hub.taxii.status import status_resource

API_ROOT: Final = TAXII_ROOT + "/api/"
_COLLECTION: Final = API_ROOT + "collections/{collection}"
_OBJECT: Final = _COLLECTION + "/objects/{object_id}"


def add_routes(app: web.Application) -> None:
    routes: list[tuple[str, str, Handler]] = [
        ("GET", TAXII_ROOT, discovery),
        ("GET", API_ROOT.rstrip("/"), api_root),
        ("GET", API_ROOT + "status/{status_id}", get_status),
        ("GET", API_ROOT + "collections", get_collections),
        ("GET", _COLLECTION, get_collection),
        ("GET", _COLLECTION + "/objects", get_objects),
        ("POST", _COLLECTION + "/objects", add_objects),
        ("GET", _COLLECTION + "/manifest", get_manifest),
        ("GET", _OBJECT, get_object),
        ("DELETE", _OBJECT, delete_object),
        ("GET", _OBJECT + "/versions", get_versions),
    ]
    for method, path, handler in routes:
        for variant in (path, path + "/"):
            if method == "GET":
                app.router.add_get(variant, handler)
            else:
                app.router.add_route(method, variant, handler)


# --- common steps -------------------------------------------------------------


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, headers={"Content-Type": TAXII_MEDIA_TYPE, **(headers or {})}
    )


async def caller(request: web.Request) -> Principal:
    """The authenticated stakeholder (a partner's credentials, or a person signed in to the situation room),
    allowed to use TAXII, asking for an answer we can give."""
    if uses_session(request):
        _session, principal = await session_for_request(request, request.app[keys.PEOPLE])
    else:
        principal = await principal_for_basic_or_bearer(request, request.app[keys.TOKENS], request.app[keys.PEOPLE])
    require_access(principal, "taxii")
    check_accept(", ".join(request.headers.getall("Accept", [])) or None)
    return principal


def collection_for(request: web.Request, principal: Principal) -> Collection:
    return request.app[keys.CATALOG].find(request.match_info["collection"], principal)


def readable_collection(request: web.Request, principal: Principal) -> Collection:
    collection = collection_for(request, principal)
    if not may_read_channel(principal, collection.channel.name):
        raise Forbidden(f"{principal.id} may not read collection {collection.channel.name}")
    return collection


def version_index(request: web.Request, principal: Principal, collection: Collection) -> VersionIndex:
    return VersionIndex(request.app[keys.STORE], principal, collection.channel.name)


async def read_page(
    request: web.Request, collection: Collection, index: VersionIndex, query: Query
) -> tuple[Page, str | None]:
    """The page of ``query`` that the request's ``limit`` and ``next`` ask for, and the ``next`` cursor to send."""
    limit = parse_limit(request.query.get("limit"), request.app[keys.CONFIG].hub.page_limit)
    cursor_text = request.query.get("next")
    # Sealed (see hub.taxii.pagination): a page cut short may stop at an entry hidden from the reader.
    context = cursor_context("taxii", collection.id, rights_key(index.principal))
    secret = await request.app[keys.CURSOR_SECRET].get(request.app[keys.STORE])
    cursor = None if cursor_text is None else decode_cursor(secret, context, cursor_text)
    page = await select_page(index, query, start_position(query.added_after_ms, cursor), limit)
    following = None if page.resume_after is None else encode_cursor(secret, context, page.resume_after)
    request.app[keys.AUDIT].record_for(
        index.principal, "read", via="taxii", channel=collection.channel.name, events=[e.id for e in page.events]
    )
    return page, following


def parse_filters(request: web.Request, allowed: frozenset[str], versions: VersionMatch = LAST) -> Query:
    return parse_query(list(request.query.items()), allowed, versions)


async def require_visible_object(index: VersionIndex, object_id: str) -> None:
    """NotFound unless the reader may see at least one version of the object."""
    if not (await index.readable([object_id]))[object_id]:
        raise NotFound(f"no object {object_id[:100]} in this collection that you may read")


# --- server and API root --------------------------------------------------------


async def discovery(request: web.Request) -> web.Response:
    await caller(request)
    root_url = f"{request.url.origin()}{API_ROOT}"
    return respond(resources.discovery(request.app[keys.CONFIG].hub.title, root_url))


async def api_root(request: web.Request) -> web.Response:
    await caller(request)
    settings = request.app[keys.CONFIG].hub
    return respond(resources.api_root(settings.title, settings.max_body_bytes))


async def get_status(request: web.Request) -> web.Response:
    """A status resource, for the stakeholder that created it (or an admin); 404 for anyone else."""
    principal = await caller(request)
    status_id = request.match_info["status_id"]
    try:
        uuid.UUID(status_id)
    except ValueError:
        raise NotFound(f"no status {status_id[:40]!r}") from None
    record = await request.app[keys.STORE].statuses.load(status_id)
    if record is None or not may_see_status(principal, record[0]):
        raise NotFound(f"no status {status_id} (statuses are kept for a few days)")
    return respond(record[1])


# --- collections ------------------------------------------------------------------


async def get_collections(request: web.Request) -> web.Response:
    principal = await caller(request)
    found = [c.resource(principal) for c in request.app[keys.CATALOG].visible(principal)]
    return respond({"collections": found} if found else {})


async def get_collection(request: web.Request) -> web.Response:
    principal = await caller(request)
    return respond(collection_for(request, principal).resource(principal))


async def get_objects(request: web.Request) -> web.Response:
    principal = await caller(request)
    collection = readable_collection(request, principal)
    query = parse_filters(request, OBJECTS_FILTERS)
    page, following = await read_page(request, collection, version_index(request, principal, collection), query)
    body = resources.paged(page.more, following, "objects", resources.envelope_objects(page.events))
    return respond(body, headers=resources.date_added_headers(page.events))


async def get_manifest(request: web.Request) -> web.Response:
    principal = await caller(request)
    collection = readable_collection(request, principal)
    query = parse_filters(request, OBJECTS_FILTERS)
    page, following = await read_page(request, collection, version_index(request, principal, collection), query)
    records = [resources.manifest_record(e) for e in page.events]
    return respond(
        resources.paged(page.more, following, "objects", records), headers=resources.date_added_headers(page.events)
    )


async def add_objects(request: web.Request) -> web.Response:
    """Validate, authorise and store an envelope's objects; answer with a (complete) status resource."""
    request_ms = int(time.time() * 1000)
    principal = await caller(request)
    collection = collection_for(request, principal)
    channel = collection.channel
    check_channel_write(principal, channel)
    check_content_type(request.headers.get("Content-Type"))
    await request.app[keys.GATE].admit(principal, channel.name, "taxii")  # held, unread, while the streams are behind
    limit = request.app[keys.CONFIG].hub.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is over this API root's max_content_length of {limit} bytes")
    body = await request.read()
    objects = resources.decode_envelope(body)  # here too: the status resource names them
    # Validation is CPU-bound (the STIX pattern grammar): off the event loop, in a worker process or a thread.
    submission = await request.app[keys.VALIDATOR].judge(resources.decode_envelope, body, channel.default_tlp, objects)
    app = request.app
    result = await ingest(
        app[keys.STORE], app[keys.CONFIG].principals, principal, channel, submission, app[keys.AUDIT],
        "taxii", app[keys.METRICS],
    )  # fmt: skip
    status_id = str(uuid.uuid4())
    # A duplicate's date_added says when it was stored first: only for those who may read it.
    readable = {a.event_id for a in result.duplicates if may_read(principal, Level(channel.name, a.tlp))}
    resource = status_resource(status_id, request_ms, objects, result, readable)
    await request.app[keys.STORE].statuses.save(status_id, principal.id, resource)
    return respond(resource, status=202)


# --- one object -----------------------------------------------------------------------


async def object_page(
    request: web.Request, allowed: frozenset[str], versions: VersionMatch = LAST
) -> tuple[Page, str | None]:
    """A page of the versions of the route's object the caller may see, filtered; NotFound if it sees none."""
    principal = await caller(request)
    collection = readable_collection(request, principal)
    object_id = request.match_info["object_id"]
    query = parse_filters(request, allowed, versions).with_ids([object_id])
    index = version_index(request, principal, collection)
    await require_visible_object(index, object_id)
    return await read_page(request, collection, index, query)


async def get_object(request: web.Request) -> web.Response:
    page, following = await object_page(request, OBJECT_FILTERS)
    body = resources.paged(page.more, following, "objects", resources.envelope_objects(page.events))
    return respond(body, headers=resources.date_added_headers(page.events))


async def get_versions(request: web.Request) -> web.Response:
    page, following = await object_page(request, VERSIONS_FILTERS, ALL)
    body = resources.paged(page.more, following, "versions", resources.version_list(page.events))
    return respond(body, headers=resources.date_added_headers(page.events))


async def delete_object(request: web.Request) -> web.Response:
    """Delete the matching versions of an object (every version by default).

    Only for a caller that may read and write the collection, and that is an
    admin or the source of every version it deletes.
    """
    principal = await caller(request)
    collection = collection_for(request, principal)
    allowed = may_delete_from(principal, collection.channel.name)
    if not allowed:
        raise Forbidden(allowed.reason)
    object_id = request.match_info["object_id"]
    query = parse_filters(request, DELETE_FILTERS, ALL)
    index = version_index(request, principal, collection)
    chosen = matching_versions((await index.readable([object_id]))[object_id], query)
    if not chosen:
        raise NotFound(f"no version of object {object_id[:100]} in this collection matches")
    allowed = may_delete(principal, [e.source for e in chosen])
    if not allowed:
        raise Forbidden(allowed.reason)
    await index.store.delete_versions(collection.channel.name, chosen)
    request.app[keys.AUDIT].record_for(
        principal, "delete", via="taxii", channel=collection.channel.name, events=[e.id for e in chosen]
    )
    return web.Response(status=200)
