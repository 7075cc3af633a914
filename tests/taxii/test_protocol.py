"""The TAXII protocol over raw HTTP: media types, headers, trailing slashes, and every error answer."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from hub.taxii.catalog import collection_id
from hub.taxii.pagination import StreamId, cursor_context, encode_cursor
from hub.tlp import TLP
from tests.conftest import Hub
from tests.schemas import conforms
from tests.stixgen import indicator
from tests.taxii.helpers import TAXII, collection_path, envelope, taxii_headers

PARTNERS = collection_path("partners")
_PARTNER_CONTEXT = cursor_context("taxii", collection_id("partners"), "partner-cert")


async def get(hub: Hub, path: str, headers: dict[str, str], **params: str) -> tuple[int, Any, dict[str, str]]:
    async with hub.client.get(path, headers=headers, params=params) as response:
        body = orjson.loads(await response.read()) if response.status != 204 else None
        return response.status, body, dict(response.headers)


async def post(hub: Hub, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
    async with hub.client.post(path, data=body, headers=headers) as response:
        return response.status, orjson.loads(await response.read()), dict(response.headers)


async def add(hub: Hub, who: str, channel: str, *objects: dict[str, Any]) -> dict[str, Any]:
    status, body, _ = await post(
        hub, collection_path(channel) + "objects/", orjson.dumps(envelope(*objects)),
        taxii_headers(hub, who, **{"Content-Type": TAXII}),
    )  # fmt: skip
    assert status == 202 and isinstance(body, dict), body
    return body


def error(status: int, body: Any, headers: dict[str, str], code: int) -> dict[str, Any]:
    """Check a TAXII error answer; return its body."""
    assert status == code, body
    assert headers["Content-Type"] == TAXII
    conforms("error", body)
    assert body["http_status"] == str(code) and body["title"] and body["description"]
    return body  # type: ignore[no-any-return]


# --- protocol details ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/taxii2/",
        "/taxii2/api/",
        "/taxii2/api/collections/",
        PARTNERS,
        PARTNERS + "objects/",
        PARTNERS + "manifest/",
    ],
)
async def test_every_route_answers_taxii_json_with_and_without_its_trailing_slash(hub: Hub, path: str) -> None:
    for variant in (path, path.rstrip("/")):
        status, _, headers = await get(hub, variant, taxii_headers(hub, "partner-cert"))
        assert status == 200, variant
        assert headers["Content-Type"] == TAXII
        assert headers["Cache-Control"] == "no-store"


async def test_object_version_and_status_routes_answer_without_trailing_slash(hub: Hub) -> None:
    obj = indicator(TLP.GREEN)
    status_id = (await add(hub, "partner-cert", "partners", obj))["id"]
    for path in (
        f"{PARTNERS}objects/{obj['id']}",
        f"{PARTNERS}objects/{obj['id']}/versions",
        f"/taxii2/api/status/{status_id}",
    ):
        for variant in (path, path + "/"):
            status, _, _ = await get(hub, variant, taxii_headers(hub, "partner-cert"))
            assert status == 200, variant


@pytest.mark.parametrize("accept", [None, "*/*", "application/taxii+json", "application/json;q=0.5, " + TAXII])
async def test_accept_may_be_missing_a_wildcard_or_taxii_without_version(hub: Hub, accept: str | None) -> None:
    headers = hub.auth("partner-cert") | ({"Accept": accept} if accept else {})
    status, _, response_headers = await get(hub, "/taxii2/api/", headers)
    assert status == 200 and response_headers["Content-Type"] == TAXII


async def test_pages_carry_the_date_added_of_their_first_and_last_object(hub: Hub) -> None:
    first, second = indicator(TLP.GREEN), indicator(TLP.GREEN)
    await add(hub, "partner-cert", "partners", first)
    await add(hub, "partner-cert", "partners", second)
    _, manifest, _ = await get(hub, PARTNERS + "manifest/", taxii_headers(hub, "partner-cert"))
    dates = [r["date_added"] for r in manifest["objects"]]
    for path in (PARTNERS + "objects/", PARTNERS + "manifest/"):
        _, _, headers = await get(hub, path, taxii_headers(hub, "partner-cert"))
        assert (headers["X-TAXII-Date-Added-First"], headers["X-TAXII-Date-Added-Last"]) == (dates[0], dates[-1])
    for path in (f"{PARTNERS}objects/{second['id']}/", f"{PARTNERS}objects/{second['id']}/versions/"):
        _, _, headers = await get(hub, path, taxii_headers(hub, "partner-cert"))
        assert headers["X-TAXII-Date-Added-First"] == headers["X-TAXII-Date-Added-Last"] == dates[1]
    _, body, headers = await get(hub, collection_path("public") + "objects/", taxii_headers(hub, "partner-cert"))
    assert body == {"more": False} and "X-TAXII-Date-Added-First" not in headers


async def test_an_observer_lists_only_the_public_collection(hub: Hub) -> None:
    status, body, _ = await get(hub, "/taxii2/api/collections/", taxii_headers(hub, "observer"))
    assert status == 200 and [c["alias"] for c in body["collections"]] == ["public"]


# --- 401 ---------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_basic_auth_is_the_stakeholder_id_and_its_token(hub: Hub) -> None:
    status, _, _ = await get(hub, "/taxii2/", {"Accept": TAXII} | basic("partner-cert", hub.tokens["partner-cert"]))
    assert status == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"Authorization": "Digest abc"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Bearer chub_0123456789ab_" + "x" * 43},
    ],
)
async def test_missing_or_bad_credentials_are_401_with_a_basic_and_bearer_challenge(
    hub: Hub, credentials: dict[str, str]
) -> None:
    status, body, headers = await get(hub, "/taxii2/", {"Accept": TAXII} | credentials)
    error(status, body, headers, 401)
    assert "Basic" in headers["WWW-Authenticate"] and "Bearer" in headers["WWW-Authenticate"]


async def test_a_token_presented_under_another_stakeholder_id_is_401(hub: Hub) -> None:
    status, body, headers = await get(hub, "/taxii2/", {"Accept": TAXII} | basic("cidge", hub.tokens["partner-cert"]))
    assert "does not belong" in error(status, body, headers, 401)["description"]


# --- 403 ---------------------------------------------------------------------


async def test_posting_to_a_read_only_collection_is_403(hub: Hub) -> None:
    status, body, headers = await post(
        hub, collection_path("public") + "objects/", orjson.dumps(envelope(indicator(TLP.CLEAR))),
        taxii_headers(hub, "partner-cert", **{"Content-Type": TAXII}),
    )  # fmt: skip
    error(status, body, headers, 403)


async def test_deleting_needs_read_and_write_and_to_be_the_source_or_an_admin(hub: Hub) -> None:
    obj = indicator(TLP.GREEN)
    await add(hub, "cert-mx", "sector.energy", obj)
    path = f"{collection_path('sector.energy')}objects/{obj['id']}/"
    async with hub.client.delete(path, headers=taxii_headers(hub, "pemex")) as response:
        error(response.status, await response.json(), dict(response.headers), 403)  # pemex is not the source
    async with hub.client.delete(path, headers=taxii_headers(hub, "sspc")) as response:
        error(response.status, await response.json(), dict(response.headers), 403)  # sspc may only read it
    async with hub.client.delete(path, headers=taxii_headers(hub, "cidge")) as response:
        assert response.status == 403  # an admin, but one that may not write the channel
    async with hub.client.delete(path, headers=taxii_headers(hub, "cert-mx")) as response:
        assert response.status == 200
    status, _, _ = await get(hub, path, taxii_headers(hub, "cert-mx"))
    assert status == 404


# --- 404 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, path",
    [
        ("partner-cert", "/taxii2/api/collections/no-such-channel/"),
        ("partner-cert", collection_path("committee")),  # exists, but not for a partner
        ("observer", collection_path("partners") + "objects/"),
        ("partner-cert", PARTNERS + "objects/indicator--00000000-0000-4000-8000-000000000000/"),
        ("partner-cert", PARTNERS + "objects/indicator--00000000-0000-4000-8000-000000000000/versions/"),
        ("partner-cert", "/taxii2/api/status/00000000-0000-4000-8000-000000000000/"),
        ("partner-cert", "/taxii2/api/status/not-a-uuid/"),
        ("partner-cert", "/taxii2/api/nothing-here/"),
    ],
)
async def test_what_does_not_exist_for_the_caller_is_404(hub: Hub, who: str, path: str) -> None:
    error(*await get(hub, path, taxii_headers(hub, who)), 404)


async def test_a_status_is_only_for_its_creator_or_an_admin(hub: Hub) -> None:
    status_id = (await add(hub, "cert-mx", "sector.energy", indicator()))["id"]
    path = f"/taxii2/api/status/{status_id}/"
    assert (await get(hub, path, taxii_headers(hub, "cert-mx")))[0] == 200
    assert (await get(hub, path, taxii_headers(hub, "cidge")))[0] == 200
    error(*await get(hub, path, taxii_headers(hub, "pemex")), 404)


# --- 406 / 415 / 413 -------------------------------------------------------------


@pytest.mark.parametrize("accept", ["application/json", "application/taxii+json;version=2.0", "text/html"])
async def test_an_accept_without_taxii_2_1_is_406(hub: Hub, accept: str) -> None:
    error(*await get(hub, PARTNERS + "objects/", hub.auth("partner-cert") | {"Accept": accept}), 406)


@pytest.mark.parametrize("content_type", ["application/json", "application/stix+json;version=2.1", "text/plain"])
async def test_an_envelope_in_another_media_type_is_415(hub: Hub, content_type: str) -> None:
    body = orjson.dumps(envelope(indicator(TLP.GREEN)))
    headers = taxii_headers(hub, "partner-cert", **{"Content-Type": content_type})
    error(*await post(hub, PARTNERS + "objects/", body, headers), 415)


async def test_a_body_over_max_content_length_is_413(hub: Hub) -> None:
    body = b'{"objects": [' + b" " * (hub.config.hub.max_body_bytes + 10) + b"]}"
    headers = taxii_headers(hub, "partner-cert", **{"Content-Type": TAXII})
    error(*await post(hub, PARTNERS + "objects/", body, headers), 413)


# --- 400 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, params, fragment",
    [
        ("objects/", {"limit": "0"}, "limit"),
        ("objects/", {"limit": "ten"}, "limit"),
        ("manifest/", {"limit": "-3"}, "limit"),
        ("objects/", {"added_after": "yesterday"}, "added_after"),
        ("objects/", {"match[version]": "newest"}, "match[version]"),
        ("objects/", {"match[colour]": "red"}, "match[colour]"),
        ("objects/", {"next": "not-a-cursor"}, "next"),
        ("objects/", {"next": encode_cursor(b"another hub" * 3, _PARTNER_CONTEXT, StreamId(1, 0))}, "next"),
        ("objects/indicator--00000000-0000-4000-8000-000000000000/", {"match[type]": "indicator"}, "match[type]"),
    ],
)
async def test_bad_filters_limits_and_cursors_are_400(
    hub: Hub, path: str, params: dict[str, str], fragment: str
) -> None:
    body = error(*await get(hub, PARTNERS + path, taxii_headers(hub, "partner-cert"), **params), 400)
    assert fragment in body["description"]


async def test_a_repeated_filter_is_400(hub: Hub) -> None:
    async with hub.client.get(
        PARTNERS + "objects/?match[type]=indicator&match[type]=malware", headers=taxii_headers(hub, "partner-cert")
    ) as response:
        body = error(response.status, await response.json(), dict(response.headers), 400)
    assert "once" in body["description"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"objects": []}', b'{"more": false}'])
async def test_a_malformed_envelope_is_400_and_stores_nothing(hub: Hub, body: bytes) -> None:
    headers = taxii_headers(hub, "partner-cert", **{"Content-Type": TAXII})
    error(*await post(hub, PARTNERS + "objects/", body, headers), 400)
    assert (await get(hub, PARTNERS + "objects/", taxii_headers(hub, "partner-cert")))[1] == {"more": False}
