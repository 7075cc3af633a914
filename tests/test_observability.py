"""Metrics that move when events flow, request ids, and logs that never carry secrets or payloads."""

from __future__ import annotations

import logging

import orjson
import pytest

from hub.logs import JsonFormatter, TextFormatter
from hub.tlp import TLP
from hub.tokens import split_token
from tests.conftest import Hub, HubFactory
from tests.stixgen import indicator
from tests.stream.clients import open_ws, post


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample in exposition text."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{", 1)[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    raise AssertionError(f"no sample {name} {labels}")


async def scrape(hub: Hub, who: str = "cidge") -> str:
    async with hub.client.get("/metrics", headers=hub.auth(who)) as response:
        assert response.status == 200 and response.content_type == "text/plain"
        return await response.text()


async def test_metrics_are_for_admins_only_by_default(hub: Hub) -> None:
    async with hub.client.get("/metrics") as response:
        assert response.status == 401
    async with hub.client.get("/metrics", headers=hub.auth("sspc")) as response:
        assert response.status == 403


async def test_metrics_can_be_opened_to_a_trusted_network(hub_factory: HubFactory) -> None:
    hub = await hub_factory(metrics_public=True)
    async with hub.client.get("/metrics") as response:
        assert response.status == 200


async def test_metrics_move_when_events_flow(hub: Hub) -> None:
    before = await scrape(hub)
    ws = await open_ws(hub, "sspc")
    await ws.subscribe("sector.finance")
    objects = [indicator(TLP.GREEN), indicator(TLP.RED)]
    await post(hub, "cert-mx", "sector.finance", *objects)
    await ws.events_until(objects[-1]["id"])
    bad = {**indicator(), "modified": "2000-01-01T00:00:00.000Z"}
    async with hub.client.post(
        "/api/v1/channels/sector.finance/objects",
        data=orjson.dumps(bad),
        headers={"Content-Type": "application/json", **hub.auth("cert-mx")},
    ) as response:
        assert response.status == 400
    after = await scrape(hub)
    assert sample(after, "chub_events_ingested_total", channel="sector.finance", via="api") == 2
    assert sample(after, "chub_objects_rejected_total", channel="sector.finance", reason="invalid") == 1
    assert sample(after, "chub_deliveries_total", channel="sector.finance") == 2
    assert sample(after, "chub_delivery_latency_seconds_count") >= 2
    assert sample(after, "chub_stream_connections") == 1
    assert sample(after, "chub_http_requests_total", route="/api/v1/channels/{channel}/objects", status="201") == 1
    with pytest.raises(AssertionError):
        sample(before, "chub_events_ingested_total", channel="sector.finance", via="api")


async def test_every_response_carries_a_request_id_and_a_given_one_is_kept(hub: Hub) -> None:
    async with hub.client.get("/api/v1/health", headers={"X-Request-Id": "trace-42"}) as response:
        assert response.headers["X-Request-Id"] == "trace-42"
    async with hub.client.get("/api/v1/nowhere") as response:
        assert response.status == 404 and len(response.headers["X-Request-Id"]) == 16
    async with hub.client.get("/api/v1/health", headers={"X-Request-Id": "bad id\u00e9"}) as response:
        assert response.headers["X-Request-Id"] != "bad id\u00e9"


async def test_logs_carry_request_ids_but_never_tokens_or_payloads(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "SECRET-PAYLOAD-a1b2c3"
    await post(hub, "banxico", "sector.finance", indicator(TLP.AMBER, description=secret))
    ws = await open_ws(hub, "banxico")
    await ws.subscribe("sector.finance")
    async with hub.client.get("/api/v1/me", headers={"Authorization": "Bearer chub_000000000000_" + "z" * 43}) as r:
        assert r.status == 401
    await ws.ws.close()
    lines = [JsonFormatter().format(r) for r in caplog.records] + [TextFormatter().format(r) for r in caplog.records]
    assert any('"request_id"' in line and "/api/v1/channels/sector.finance/objects" in line for line in lines)
    parts = [split_token(t) for t in hub.tokens.values()]
    tokens = [part[1] for part in parts if part is not None] + ["z" * 43]  # the secrets
    for line in lines:
        assert secret not in line
        assert not any(token in line for token in tokens), line


def test_json_log_lines_are_json_with_their_context() -> None:
    record = logging.LogRecord("hub.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.request_id = "r1"
    entry = orjson.loads(JsonFormatter().format(record))
    assert entry["message"] == "GET /x" and entry["request_id"] == "r1" and entry["level"] == "info"


async def test_metrics_say_whether_stix_validation_takes_the_fast_path(hub: Hub) -> None:
    assert sample(await scrape(hub), "chub_stix_fast_path") == 1.0  # the audited libraries are installed here


def test_a_fast_path_switched_off_shows_as_zero() -> None:
    from prometheus_client import generate_latest

    from hub.metrics import Metrics

    assert sample(generate_latest(Metrics(stix_fast_path=False).registry).decode(), "chub_stix_fast_path") == 0.0
    assert sample(generate_latest(Metrics(stix_fast_path=True).registry).decode(), "chub_stix_fast_path") == 1.0
