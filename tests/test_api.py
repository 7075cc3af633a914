"""The HTTP API on a real socket against a real Redis server."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from hub.config import Config
from hub.identities import identity_id
from hub.tlp import TLP
from tests.conftest import STIX_DATA, Hub, HubFactory
from tests.schemas import conforms
from tests.stixgen import bundle, indicator

STIX = {"Content-Type": "application/stix+json;version=2.1"}


async def post(
    hub: Hub, who: str, channel: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    async with hub.client.post(
        f"/api/v1/channels/{channel}/objects", data=data, headers={**STIX, **hub.auth(who), **(headers or {})}
    ) as response:
        answer: dict[str, Any] = await response.json()
        conforms("post-result" if "accepted" in answer else "error", answer)
        return response.status, answer


async def events(hub: Hub, who: str, channel: str, **params: str) -> tuple[int, dict[str, Any]]:
    async with hub.client.get(f"/api/v1/channels/{channel}/events", params=params, headers=hub.auth(who)) as response:
        body = await response.json()
        conforms("events-page" if response.status == 200 else "error", body)
        return response.status, body


async def test_health_reports_redis_ok_without_auth(hub: Hub) -> None:
    async with hub.client.get("/api/v1/health") as response:
        assert response.status == 200
        body = await response.json()
    assert (body["status"], body["redis"]) == ("ok", "ok")
    assert {"audit", "capacity", "escalation"} <= set(body["tasks"]) and set(body["tasks"].values()) == {"running"}
    memory = body["memory"]
    assert memory["used"] > 0 and (memory["limit"] is None or memory["used"] < memory["limit"])


async def test_health_is_503_when_redis_is_unreachable(config: Config, namespace: str) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from hub.app import create_app

    app = create_app(config, "redis://127.0.0.1:1/0", namespace=namespace)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        async with client.get("/api/v1/health") as response:
            assert response.status == 503
            body = await response.json()
            assert (body["status"], body["redis"]) == ("unavailable", "down")


async def test_write_is_503_and_json_when_redis_is_unreachable(config: Config, namespace: str, redis_url: str) -> None:
    """A producer is told the hub cannot store, never a 2xx; auth needs Redis too, so it is 503 first."""
    from aiohttp.test_utils import TestClient, TestServer

    from hub.app import create_app

    app = create_app(config, "redis://127.0.0.1:1/0", namespace=namespace)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        async with client.post(
            "/api/v1/channels/committee/objects",
            data=orjson.dumps(indicator()),
            headers={**STIX, "Authorization": "Bearer chub_000000000000_" + "a" * 43},
        ) as response:
            assert response.status == 503
            body = await response.json()
            assert body["http_status"] == "503" and "Redis" in body["description"]


async def test_me_describes_rights_per_channel(hub: Hub) -> None:
    async with hub.client.get("/api/v1/me", headers=hub.auth("banxico")) as response:
        assert response.status == 200
        me = conforms("me", await response.json())
    assert me["stakeholder"] == "banxico"
    assert me["roles"] == ["institution"]
    assert me["tlp_ceiling"] == "amber+strict"
    assert me["channels"]["sector.finance"] == {"read": True, "write": True, "tlp_ceiling": "amber+strict"}
    assert me["channels"]["sector.energy"] == {"read": False, "write": False, "tlp_ceiling": None}
    assert me["channels"]["committee"]["read"] and not me["channels"]["committee"]["write"]


@pytest.mark.parametrize(
    "header, reason",
    [
        (None, "Authorization"),
        ("Basic abc", "Bearer"),
        ("Bearer nonsense", "malformed"),
        ("Bearer chub_0123456789ab_" + "x" * 43, "unknown"),
    ],
)
async def test_bad_credentials_are_401_with_a_challenge(hub: Hub, header: str | None, reason: str) -> None:
    headers = {"Authorization": header} if header else {}
    async with hub.client.get("/api/v1/me", headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.json()
    conforms("error", body)
    assert body["http_status"] == "401" and reason in body["description"]


async def test_revoked_token_is_refused(hub: Hub) -> None:
    from hub.store import TokenStore, connect
    from hub.tokens import split_token

    token = await hub.token("pemex")
    headers = {"Authorization": f"Bearer {token}"}
    async with hub.client.get("/api/v1/me", headers=headers) as response:
        assert response.status == 200
    client = connect(hub.redis_url)
    parts = split_token(token)
    assert parts is not None
    await TokenStore(client, hub.namespace).revoke(parts[0])
    await client.aclose()
    async with hub.client.get("/api/v1/me", headers=headers) as response:
        assert response.status == 401
        assert "revoked" in (await response.json())["description"]


async def test_a_wrong_secret_for_a_real_token_id_is_refused(hub: Hub) -> None:
    token_id = hub.tokens["pemex"].split("_")[1]
    async with hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer chub_{token_id}_{'A' * 43}"}) as r:
        assert r.status == 401


async def test_taxii_only_partner_may_not_use_the_api(hub: Hub) -> None:
    async with hub.client.get("/api/v1/me", headers=hub.auth("partner-cert")) as response:
        assert response.status == 403
        assert "taxii" in (await response.json())["description"]


async def stakeholders(hub: Hub, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with hub.client.get("/api/v1/stakeholders", headers=headers) as response:
        body = await response.json()
        conforms("stakeholders" if response.status == 200 else "error", body)
        return response.status, body


@pytest.mark.parametrize("who", ["cidge", "banxico", "observer"])
async def test_the_stakeholder_directory_names_everyone_and_says_nothing_of_their_rights(hub: Hub, who: str) -> None:
    status, body = await stakeholders(hub, hub.auth(who))
    assert status == 200
    assert body["title"] == hub.config.hub.title
    assert [s["id"] for s in body["stakeholders"]] == sorted(hub.config.stakeholders)
    assert {"id": "banxico", "name": "Central Bank", "sector": "finance", "identity": identity_id("banxico")} in body[
        "stakeholders"
    ]
    # No roles, rights or tokens.
    assert all(set(s) == {"id", "name", "sector", "identity"} for s in body["stakeholders"])
    text = orjson.dumps(body).decode()
    assert not any(token in text for token in hub.tokens.values())
    assert set(body) == {"title", "hub_source", "stakeholders", "severity_scale"} and body["hub_source"] == "hub"
    assert not any(word in text for word in ("institution", "admin", "tlp"))  # role names, rights
    assert [(s["level"], s["name"], s["colour"]) for s in body["severity_scale"]] == [
        (0, "Baseline", "#ffffff"), (1, "Low", "#00b050"), (2, "Medium", "#ffff00"),
        (3, "High", "#ffc000"), (4, "Severe", "#ff0000"), (5, "Emergency", "#000000"),
    ]  # fmt: skip


async def test_the_stakeholder_directory_needs_a_token_with_api_access(hub: Hub) -> None:
    status, body = await stakeholders(hub, {})
    assert status == 401 and "Authorization" in body["description"]
    status, _ = await stakeholders(hub, {"Authorization": "Bearer chub_0123456789ab_" + "x" * 43})
    assert status == 401
    status, body = await stakeholders(hub, hub.auth("partner-cert"))
    assert status == 403 and "api" in body["description"]


async def test_the_directory_gives_the_configured_title_and_severity_scale(hub_factory: HubFactory) -> None:
    from hub.crisis.taxonomy import SeverityLevel

    scale = (SeverityLevel(0, "Watch", "#203040", "Being watched."), SeverityLevel(1, "Crisis", "#ff0000"))
    hub = await hub_factory(crisis={"severity": scale}, title="Ministry of Finance crisis cell")
    status, body = await stakeholders(hub, hub.auth("pemex"))
    assert status == 200 and body["title"] == "Ministry of Finance crisis cell"
    assert body["severity_scale"] == [
        {"level": 0, "name": "Watch", "colour": "#203040", "description": "Being watched."},
        {"level": 1, "name": "Crisis", "colour": "#ff0000", "description": ""},
    ]


async def test_post_then_read_back_an_event(hub: Hub) -> None:
    obj = indicator(TLP.GREEN)
    status, answer = await post(hub, "banxico", "sector.finance", bundle(obj))
    assert status == 201
    assert answer["duplicates"] == [] and answer["rejected"] == []
    [accepted] = answer["accepted"]
    assert accepted["id"] == obj["id"] and accepted["modified"] == obj["modified"]
    status, page = await events(hub, "sspc", "sector.finance")
    assert status == 200
    [event] = page["events"]
    assert event["id"] == accepted["event_id"]
    assert event["channel"] == "sector.finance" and event["source"] == "banxico"
    assert event["tlp"] == "green" and event["type"] == "indicator"
    assert event["object"] == obj
    assert event["time"].endswith("Z")
    assert page["next"] is None


async def test_a_lone_object_with_plain_json_media_type_is_accepted(hub: Hub) -> None:
    status, answer = await post(hub, "pemex", "sector.energy", indicator(), {"Content-Type": "application/json"})
    assert status == 201 and len(answer["accepted"]) == 1


async def test_reposting_the_same_version_is_idempotent(hub: Hub) -> None:
    obj = indicator()
    first_status, first = await post(hub, "banxico", "sector.finance", bundle(obj))
    again_status, again = await post(hub, "banxico", "sector.finance", bundle(obj))
    assert (first_status, again_status) == (201, 200)
    assert again["accepted"] == [] and again["duplicates"] == first["accepted"]
    _, page = await events(hub, "banxico", "sector.finance")
    assert len(page["events"]) == 1


async def test_a_new_version_is_a_new_event_and_both_versions_are_kept(hub: Hub) -> None:
    v1 = indicator(modified="2026-11-27T10:00:00.000Z")
    v2 = {**v1, "modified": "2026-11-27T11:00:00.000Z", "name": "updated"}
    await post(hub, "banxico", "sector.finance", v1)
    status, _ = await post(hub, "banxico", "sector.finance", v2)
    assert status == 201
    async with hub.client.get(f"/api/v1/objects/{v1['id']}", headers=hub.auth("banxico")) as response:
        newest = conforms("events-page", await response.json())
    assert [e["object"]["name"] for e in newest["events"]] == ["updated"]
    async with hub.client.get(
        f"/api/v1/objects/{v1['id']}", params={"versions": "all"}, headers=hub.auth("banxico")
    ) as response:
        every = await response.json()
    assert [e["object"]["modified"] for e in every["events"]] == [v1["modified"], v2["modified"]]


async def test_object_lookup_hides_what_the_caller_may_not_read(hub: Hub) -> None:
    red = indicator(TLP.RED)
    await post(hub, "banxico", "sector.finance", red)
    async with hub.client.get(f"/api/v1/objects/{red['id']}", headers=hub.auth("cidge")) as response:
        assert response.status == 200
    for who in ("banxico", "pemex", "observer"):
        async with hub.client.get(f"/api/v1/objects/{red['id']}", headers=hub.auth(who)) as response:
            assert response.status == 404, who


async def test_a_mixed_bundle_accepts_the_valid_and_rejects_the_rest(hub: Hub) -> None:
    good = indicator()
    bad = {**indicator(), "modified": "2020-01-01T00:00:00.000Z"}  # modified before created
    status, answer = await post(hub, "banxico", "sector.finance", bundle(good, bad, {"type": "indicator"}))
    assert status == 201
    assert [a["id"] for a in answer["accepted"]] == [good["id"]]
    assert [(r["index"], r["id"]) for r in answer["rejected"]] == [(1, bad["id"]), (2, None)]
    assert all(r["reason"] for r in answer["rejected"])
    _, page = await events(hub, "cidge", "sector.finance")
    assert [e["object"]["id"] for e in page["events"]] == [good["id"]]


async def test_a_bundle_with_nothing_acceptable_is_400_and_writes_nothing(hub: Hub) -> None:
    bad = {**indicator(), "modified": "2020-01-01T00:00:00.000Z"}
    status, answer = await post(hub, "banxico", "sector.finance", bundle(bad))
    assert status == 400
    assert answer["accepted"] == [] and len(answer["rejected"]) == 1
    _, page = await events(hub, "cidge", "sector.finance")
    assert page["events"] == []


async def test_the_channel_max_tlp_is_enforced_per_object(hub: Hub) -> None:
    clear, amber = indicator(TLP.CLEAR), indicator(TLP.AMBER)
    status, answer = await post(hub, "cidge", "public", bundle(clear, amber))
    assert status == 201
    assert [a["id"] for a in answer["accepted"]] == [clear["id"]]
    [rejected] = answer["rejected"]
    assert rejected["id"] == amber["id"] and "TLP:CLEAR" in rejected["reason"]


@pytest.mark.parametrize(
    "who, channel, status",
    [
        ("banxico", "sector.energy", 403),
        ("banxico", "committee", 403),
        ("observer", "public", 403),
        ("cert-mx", "sector.energy", 201),
        ("sedena", "committee", 201),
        ("banxico", "no-such-channel", 404),
    ],
)
async def test_write_authorisation_per_role(hub: Hub, who: str, channel: str, status: int) -> None:
    got, body = await post(hub, who, channel, indicator())
    assert got == status, body
    if status >= 400:
        assert body["http_status"] == str(status)


@pytest.mark.parametrize(
    "tlp, readers, non_readers",
    [
        (TLP.CLEAR, {"cidge", "cert-mx", "banxico"}, {"pemex", "observer"}),
        (TLP.GREEN, {"cidge", "cert-mx", "banxico"}, {"pemex", "observer"}),
        (TLP.AMBER, {"sspc", "cert-mx", "banxico"}, {"cfe", "observer"}),
        (TLP.AMBER_STRICT, {"sedena", "cert-mx", "banxico"}, {"pemex", "observer"}),
        (TLP.RED, {"cnpc", "cert-mx"}, {"banxico", "pemex", "observer"}),
    ],
)
async def test_history_shows_each_reader_only_what_its_role_and_tlp_allow(
    hub: Hub, tlp: TLP, readers: set[str], non_readers: set[str]
) -> None:
    obj = indicator(tlp)
    status, _ = await post(hub, "cert-mx", "sector.finance", obj)
    assert status == 201
    for who in readers:
        status, page = await events(hub, who, "sector.finance")
        assert status == 200 and [e["object"]["id"] for e in page["events"]] == [obj["id"]], who
    for who in non_readers:
        status, page = await events(hub, who, "sector.finance")
        # A reader of the channel gets an empty page; a non-reader is refused outright.
        assert (status, page.get("events")) in ((200, []), (403, None)), who


async def test_unmarked_objects_take_the_channel_default(hub: Hub) -> None:
    await post(hub, "cidge", "committee", indicator())
    _, page = await events(hub, "cidge", "committee")
    assert page["events"][0]["tlp"] == "amber"


async def test_paging_with_after_and_limit_walks_every_event_once(hub: Hub) -> None:
    objects = [indicator(TLP.GREEN) if i % 3 else indicator(TLP.RED) for i in range(25)]
    await post(hub, "cert-mx", "sector.energy", bundle(*objects))
    visible = [o["id"] for i, o in enumerate(objects) if i % 3]
    seen: list[str] = []
    after = "0"
    while True:
        status, page = await events(hub, "pemex", "sector.energy", after=after, limit="4")
        assert status == 200 and len(page["events"]) <= 4
        seen += [e["object"]["id"] for e in page["events"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == visible


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"after": "yesterday"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"limit": "100000"}, "limit"),
    ],
)
async def test_bad_paging_parameters_are_400(hub: Hub, params: dict[str, str], fragment: str) -> None:
    status, body = await events(hub, "cidge", "committee", **params)
    assert status == 400 and fragment in body["description"]


async def test_reading_a_channel_one_may_not_read_is_403_and_unknown_is_404(hub: Hub) -> None:
    assert (await events(hub, "observer", "committee"))[0] == 403
    assert (await events(hub, "cidge", "nope"))[0] == 404


@pytest.mark.parametrize(
    "body, headers, status, title",
    [
        (b"{not json", {}, 400, "Malformed JSON"),
        (b'[{"type": "indicator"}]', {}, 400, "Invalid STIX"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "Unsupported media type"),
    ],
)
async def test_bad_bodies_get_a_clear_error(
    hub: Hub, body: bytes, headers: dict[str, str], status: int, title: str
) -> None:
    got, answer = await post(hub, "banxico", "sector.finance", body, headers)
    assert got == status
    assert answer["title"] == title and answer["http_status"] == str(status) and answer["description"]


async def test_an_oversized_body_is_413(hub: Hub) -> None:
    big = b'{"type": "bundle", "objects": [' + b" " * (hub.config.hub.max_body_bytes + 10) + b"]}"
    got, answer = await post(hub, "banxico", "sector.finance", big)
    assert got == 413 and answer["http_status"] == "413"


async def test_unknown_routes_are_json_404_and_wrong_methods_405(hub: Hub) -> None:
    async with hub.client.get("/api/v1/nothing-here") as response:
        assert response.status == 404 and (await response.json())["http_status"] == "404"
    async with hub.client.delete("/api/v1/health") as response:
        assert response.status == 405 and "GET" in response.headers["Allow"]


async def test_responses_carry_security_headers(hub: Hub) -> None:
    async with hub.client.get("/api/v1/health") as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


async def test_attack_bundle_is_ingested_readable_by_committee_and_not_by_observer(hub: Hub) -> None:
    """The issue's acceptance path: a real ATT&CK bundle pushed to sector.finance."""
    raw = (STIX_DATA / "attack" / "ics-attack-18.1.json").read_bytes()
    total = len(orjson.loads(raw)["objects"])
    status, answer = await post(hub, "banxico", "sector.finance", raw)
    assert status == 201
    assert len(answer["accepted"]) == total and answer["rejected"] == []
    status, page = await events(hub, "sspc", "sector.finance", limit="1000")
    assert status == 200 and len(page["events"]) == 1000 and page["next"]
    assert {e["tlp"] for e in page["events"]} == {"amber"}
    assert (await events(hub, "observer", "sector.finance"))[0] == 403
