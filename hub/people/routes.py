"""Signing people in and out, the people directory, and the admins' management of people.

* ``GET /api/v1/sign-in`` — how one may sign in here (no authentication):
  the institutions' identity providers, local passwords, and whether the page
  offers token sign-in.
* ``POST /api/v1/session`` — sign in with ``{"person", "password", "code"}``;
  ``GET`` — the current session (with its anti-CSRF token, for the page), 204 if none;
  ``DELETE`` — sign out (``?everywhere=true``: every session of the person).
* ``GET /api/v1/people`` — everyone's id, name and stakeholder (signed-in or
  token callers); e-mail addresses and state only in the admin view.
* ``GET/POST /api/v1/admin/people``, ``POST /api/v1/admin/people/{id}/disable``
  and ``…/enable`` — for administrators.

The session cookie: HttpOnly, SameSite=Strict, Secure when the request came
over TLS, a fresh random value at every sign-in (a cookie the browser
brought is never adopted), living as long as the session may.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import keys
from hub.auth import SESSION_COOKIE, require_admin, session_for_request, uses_session
from hub.errors import BadRequest, Forbidden, Unauthorized
from hub.events import iso_millis
from hub.i18n import LANGUAGES
from hub.middleware import check_throttle, client_address, note_auth_failure
from hub.people import Person
from hub.people.service import People
from hub.requests import authenticate, json_response, read_json_object
from hub.store.people import NewSession, WebSession
from hub.tlp import TLP


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/sign-in", sign_in_options)
    app.router.add_post("/api/v1/session", sign_in)
    app.router.add_get("/api/v1/session", current_session)
    app.router.add_delete("/api/v1/session", sign_out)
    app.router.add_get("/api/v1/people", directory)
    app.router.add_put("/api/v1/me/preferences", set_preferences)
    app.router.add_get("/api/v1/admin/people", admin_people)
    app.router.add_post("/api/v1/admin/people", admin_add_person)
    app.router.add_post("/api/v1/admin/people/{person}/disable", admin_disable)
    app.router.add_post("/api/v1/admin/people/{person}/enable", admin_enable)


def _people(request: web.Request) -> People:
    return request.app[keys.PEOPLE]


async def sign_in_options(request: web.Request) -> web.Response:
    config = request.app[keys.CONFIG]
    return json_response(
        {
            "title": config.hub.title,
            "providers": [{"id": p.id, "label": p.label, "url": f"/auth/oidc/{p.id}"} for p in config.sign_in.oidc],
            "local": True,
            "token_on_page": config.sign_in.token_on_page,
        }
    )


def session_body(people: People, person: Person, session: WebSession) -> dict[str, Any]:
    return {
        "person": person.public(people.stakeholder_name(person)),
        "label": people.label(person),
        "csrf": session.csrf,
        "via": session.via,
        "expires": iso_millis(int(session.expires * 1000)),
    }


def set_session_cookie(request: web.Request, response: web.StreamResponse, new: NewSession) -> None:
    """Put a new session's cookie on ``response`` (see the module's docstring for its flags)."""
    response.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        max_age=max(1, int(new.session.expires - new.session.created)),
        path="/",
        httponly=True,
        secure=request.secure,
        samesite="Strict",
    )


async def start_session(request: web.Request, person: Person, via: str) -> tuple[NewSession, dict[str, Any]]:
    """Open a session for ``person`` (already authenticated ``via`` something), recorded in the audit trail."""
    people = _people(request)
    new = await people.open_session(person, via)
    principal = people.rights(person)
    request.app[keys.AUDIT].record_for(principal, "sign-in", via=via, address=client_address(request))
    return new, session_body(people, person, new.session)


async def sign_in(request: web.Request) -> web.Response:
    """Sign a person in with their local password (and one-time code)."""
    check_throttle(request)
    body = await read_json_object(request, 'the body must be a JSON object: {"person", "password", "code"}')
    person_id, password, code = (body.get(name, "") for name in ("person", "password", "code"))
    if not all(isinstance(v, str) for v in (person_id, password, code)):
        raise BadRequest("person, password and code must be strings")
    if not person_id or not password:
        raise BadRequest("give your person id and password")
    people = _people(request)
    try:
        person = await people.check_password(str(person_id), str(password), str(code))
    except Unauthorized:
        note_auth_failure(request)
        request.app[keys.AUDIT].record(
            "sign-in-refused", "-", person=str(person_id)[:64], via="password", address=client_address(request)
        )
        raise
    new, answer = await start_session(request, person, "password")
    response = json_response(answer)
    set_session_cookie(request, response, new)
    return response


async def current_session(request: web.Request) -> web.Response:
    """This browser's session; 204 when it has none (the page asks at every load: no session is no error)."""
    people = _people(request)
    try:
        found = await people.session(request.cookies.get(SESSION_COOKIE, "")) if uses_session(request) else None
    except Unauthorized:  # live, but its person may no longer sign in
        found = None
    if found is None:
        response = web.Response(status=204)
        if SESSION_COOKIE in request.cookies:
            response.del_cookie(SESSION_COOKIE, path="/")
        return response
    session, person, _principal = found
    return json_response(session_body(people, person, session))


async def sign_out(request: web.Request) -> web.Response:
    """End this session, or with ``?everywhere=true`` every session of its person."""
    session, principal = await session_for_request(request, _people(request))
    store = _people(request).store
    everywhere = request.query.get("everywhere", "false")
    if everywhere not in ("true", "false"):
        raise BadRequest("everywhere must be true or false")
    if everywhere == "true":
        ended = await store.end_sessions(session.person)
    else:
        await store.end_session(request.cookies[SESSION_COOKIE])
        ended = 1
    request.app[keys.AUDIT].record_for(principal, "sign-out", sessions=ended)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def set_preferences(request: web.Request) -> web.Response:
    """A person's own choices: ``{"language": "es"}`` (``null``: the hub's, or their browser's)."""
    principal = await authenticate(request)
    if principal.person is None:
        raise Forbidden("a stakeholder's token has no person to remember preferences for; sign in as yourself")
    body = await read_json_object(request, 'the body must be a JSON object: {"language": "en" or "es"}')
    unknown = sorted(set(body) - {"language"})
    if unknown:
        raise BadRequest(f"unknown preference {unknown[0][:40]!r}; known: language")
    language = body.get("language")
    if language is not None and language not in LANGUAGES:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)} or null")
    person = await _people(request).set_language(principal.person.id, language)
    return json_response({"language": person.language})


async def directory(request: web.Request) -> web.Response:
    """Everyone who may sign in here: what anyone signed in may see of them."""
    await authenticate(request)
    people = _people(request)
    everyone = sorted((await people.all()).values(), key=lambda p: (p.stakeholder, p.name))
    return json_response({"people": [p.public(people.stakeholder_name(p)) for p in everyone if not p.disabled]})


async def admin_people(request: web.Request) -> web.Response:
    require_admin(await authenticate(request))
    people = _people(request)
    everyone = sorted((await people.all()).values(), key=lambda p: p.id)
    return json_response({"people": [p.admin_view(people.stakeholder_name(p)) for p in everyone]})


async def admin_add_person(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    require_admin(principal)
    body = await read_json_object(request, "the body must be a JSON object describing the person")
    person = person_from_request(body)
    people = _people(request)
    added = await people.add(person)
    request.app[keys.AUDIT].record_for(principal, "person-add", person_added=added.id, stakeholder=added.stakeholder)
    return json_response(added.admin_view(people.stakeholder_name(added)), status=201)


def person_from_request(body: dict[str, Any]) -> Person:
    """A person from an admin's JSON: ``id``, ``stakeholder``, ``name``, and optionally ``email``, ``subject``,
    ``max_tlp``, ``read_only``, ``admin``."""
    known = {"id", "stakeholder", "name", "email", "subject", "max_tlp", "read_only", "admin", "language"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise BadRequest(f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}")
    for name in ("id", "stakeholder", "name"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise BadRequest(f"{name} is required, a non-empty string")
    for name in ("email", "subject"):
        if not isinstance(body.get(name, ""), str) or len(body.get(name, "")) > 255:
            raise BadRequest(f"{name} must be a string of at most 255 characters")
    for name in ("read_only", "admin"):
        if not isinstance(body.get(name, False), bool):
            raise BadRequest(f"{name} must be true or false")
    max_tlp = body.get("max_tlp")
    if max_tlp is not None:
        try:
            max_tlp = TLP.parse(str(max_tlp))
        except ValueError:
            raise BadRequest(f"max_tlp must be a TLP level such as amber, got {str(max_tlp)[:20]!r}") from None
    if body.get("language") not in (None, *LANGUAGES):
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}")
    if len(body["name"]) > 120:
        raise BadRequest("name must be at most 120 characters")
    return Person(
        id=body["id"],
        stakeholder=body["stakeholder"],
        name=body["name"].strip(),
        email=body.get("email", ""),
        subject=body.get("subject", ""),
        max_tlp=max_tlp,
        read_only=body.get("read_only", False),
        admin=body.get("admin", False),
        origin="admin",
        language=body.get("language"),
    )


async def _set_disabled(request: web.Request, disabled: bool) -> web.Response:
    principal = await authenticate(request)
    require_admin(principal)
    people = _people(request)
    person = await people.set_disabled(request.match_info["person"], disabled)
    request.app[keys.AUDIT].record_for(principal, "person-disable" if disabled else "person-enable", subject=person.id)
    return json_response(person.admin_view(people.stakeholder_name(person)))


async def admin_disable(request: web.Request) -> web.Response:
    """Disable a person: their sessions end now, their open streams within ``stream_token_recheck``."""
    return await _set_disabled(request, True)


async def admin_enable(request: web.Request) -> web.Response:
    return await _set_disabled(request, False)
