"""Who may use TAXII, and collections one may write but not read, on a configuration made for it."""

from __future__ import annotations

import orjson
import pytest

from hub.config import Config, parse_config
from hub.tlp import TLP
from tests.conftest import Hub
from tests.stixgen import indicator
from tests.taxii.helpers import TAXII, collection_path, envelope, taxii_headers

CONFIG = """
[channels.drop]
title = "Drop box"
default_tlp = "green"

[channels.other]
title = "Somewhere else"
default_tlp = "green"

[roles.dropper]
write = ["drop"]
access = ["taxii"]

[roles.reader]
read = ["drop"]
tlp = "red"
access = ["api"]

[roles.nobody]
access = ["taxii"]

[stakeholders.sender]
name = "Writes, never reads"
roles = ["dropper"]

[stakeholders.api-only]
name = "Reads over the API only"
roles = ["reader"]

[stakeholders.outsider]
name = "Sees no drop box"
roles = ["nobody"]
"""


@pytest.fixture
def config() -> Config:
    return parse_config(CONFIG, "test configuration")


async def test_a_stakeholder_without_the_taxii_interface_is_403(hub: Hub) -> None:
    async with hub.client.get("/taxii2/", headers=taxii_headers(hub, "api-only")) as response:
        assert response.status == 403 and "taxii" in (await response.json())["description"]


async def test_a_write_only_collection_takes_objects_but_is_403_to_read(hub: Hub) -> None:
    drop = collection_path("drop")
    async with hub.client.get("/taxii2/api/collections/", headers=taxii_headers(hub, "sender")) as response:
        [listed] = (await response.json())["collections"]
    assert (listed["alias"], listed["can_read"], listed["can_write"]) == ("drop", False, True)
    headers = taxii_headers(hub, "sender", **{"Content-Type": TAXII})
    async with hub.client.post(
        drop + "objects/", data=orjson.dumps(envelope(indicator(TLP.GREEN))), headers=headers
    ) as r:
        assert r.status == 202 and (await r.json())["success_count"] == 1
    for path in ("objects/", "manifest/"):
        async with hub.client.get(drop + path, headers=taxii_headers(hub, "sender")) as response:
            assert response.status == 403, path


async def test_a_caller_with_no_collection_gets_an_empty_list_and_404s(hub: Hub) -> None:
    async with hub.client.get("/taxii2/api/collections/", headers=taxii_headers(hub, "outsider")) as response:
        assert await response.json() == {}
    async with hub.client.get(collection_path("drop"), headers=taxii_headers(hub, "outsider")) as response:
        assert response.status == 404
