"""Validation in worker processes: the same verdicts as in the hub process, and a dead worker replaced."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import orjson
import pytest

from hub.errors import InvalidJson, InvalidStix
from hub.stix import parse_submission
from hub.stix.pool import Validator
from hub.tlp import TLP
from tests.conftest import HubFactory
from tests.stixgen import bundle, indicator
from tests.stream.clients import STIX


@pytest.fixture
async def validator() -> AsyncIterator[Validator]:
    pool = Validator(1)
    pool.start()
    yield pool
    await pool.close()


async def test_a_worker_gives_the_verdicts_the_hub_process_gives(validator: Validator) -> None:
    good = [indicator(TLP.GREEN), indicator()]
    bad = {**indicator(), "pattern": "[not a pattern"}
    body = orjson.dumps(bundle(good[0], bad, good[1]))
    assert await validator.parse(body, TLP.AMBER) == parse_submission(body, TLP.AMBER)
    submission = await validator.parse(body, TLP.AMBER)
    assert [i.id for i in submission.items] == [good[0]["id"], good[1]["id"]]
    assert [i.tlp for i in submission.items] == [TLP.GREEN, TLP.AMBER]
    assert submission.items[0].obj == good[0] and [r.index for r in submission.rejected] == [1]


async def test_a_body_that_is_not_stix_is_refused_as_in_the_hub_process(validator: Validator) -> None:
    with pytest.raises(InvalidJson):
        await validator.parse(b'{"type": ', TLP.GREEN)
    with pytest.raises(InvalidStix, match="'objects' is empty"):
        await validator.parse(orjson.dumps({"type": "bundle", "id": bundle()["id"], "objects": []}), TLP.GREEN)


async def test_a_dead_worker_is_replaced_and_its_submission_still_validated(validator: Validator) -> None:
    body = orjson.dumps(bundle(indicator()))
    await validator.parse(body, TLP.GREEN)
    killed = validator.pids()
    assert len(killed) == 1
    os.kill(killed[0], signal.SIGKILL)  # as the kernel's OOM killer would
    assert len((await validator.parse(body, TLP.GREEN)).items) == 1
    assert len((await validator.parse(body, TLP.GREEN)).items) == 1
    assert validator.pids() and validator.pids() != killed


async def test_a_hub_with_validation_workers_stores_what_it_validates(hub_factory: HubFactory) -> None:
    hub = await hub_factory(validation_workers=1)
    objects = [indicator() for _ in range(3)]
    async with hub.client.post(
        "/api/v1/channels/committee/objects", data=orjson.dumps(bundle(*objects)), headers={**STIX, **hub.auth("cidge")}
    ) as response:
        assert response.status == 201
        answer = await response.json()
    assert [a["id"] for a in answer["accepted"]] == [o["id"] for o in objects]
    async with hub.client.post(
        "/api/v1/channels/committee/objects", data=b"[1, 2", headers={**STIX, **hub.auth("cidge")}
    ) as response:
        assert response.status == 400 and (await response.json())["title"] == "Malformed JSON"


async def test_a_taxii_envelope_is_validated_in_a_worker_too(hub_factory: HubFactory) -> None:
    hub = await hub_factory(validation_workers=1)
    good, bad = indicator(), {**indicator(), "pattern": "[not a pattern"}
    taxii = "application/taxii+json;version=2.1"
    async with hub.client.post(
        "/taxii2/api/collections/committee/objects/",
        data=orjson.dumps({"objects": [good, bad]}),
        headers={"Accept": taxii, "Content-Type": taxii, **hub.auth("cidge")},
    ) as response:
        assert response.status == 202
        status = await response.json()
    assert (status["success_count"], status["failure_count"]) == (1, 1)
    assert status["failures"][0]["id"] == bad["id"] and status["successes"][0]["id"] == good["id"]
