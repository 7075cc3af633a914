"""Helpers for the TAXII tests: taxii2-client against the test hub, and bulk objects without the slow validator."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from taxii2client.v21 import ApiRoot, Collection, Server  # type: ignore[import-untyped]  # no type information

from hub.federation.partner import BearerAuth
from hub.stix import StixItem, validate
from hub.store import Appended, Store, connect
from hub.taxii.catalog import collection_id
from hub.tlp import TLP
from tests.conftest import Hub
from tests.stixgen import indicator

TAXII = "application/taxii+json;version=2.1"
T = TypeVar("T")


async def blocking(call: Callable[[], T]) -> T:
    """Run a taxii2-client call (synchronous) off the loop that serves the hub."""
    return await asyncio.to_thread(call)


def discovery_url(hub: Hub) -> str:
    return str(hub.client.make_url("/taxii2/"))


def api_root_url(hub: Hub) -> str:
    return str(hub.client.make_url("/taxii2/api/"))


def collection_path(channel: str) -> str:
    return f"/taxii2/api/collections/{collection_id(channel)}/"


def collection_url(hub: Hub, channel: str) -> str:
    return str(hub.client.make_url(collection_path(channel)))


def server(hub: Hub, who: str, *, bearer: bool = False) -> Server:
    if bearer:
        return Server(discovery_url(hub), auth=BearerAuth(hub.tokens[who]))
    return Server(discovery_url(hub), user=who, password=hub.tokens[who])


def api_root(hub: Hub, who: str) -> ApiRoot:
    return ApiRoot(api_root_url(hub), user=who, password=hub.tokens[who])


def collection(hub: Hub, who: str, channel: str) -> Collection:
    return Collection(collection_url(hub, channel), user=who, password=hub.tokens[who])


def envelope(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"objects": list(objects)}


def taxii_headers(hub: Hub, who: str, **extra: str) -> dict[str, str]:
    return {"Accept": TAXII, **hub.auth(who), **extra}


def bulk_items(count: int, tlp: TLP = TLP.GREEN) -> list[StixItem]:
    """``count`` valid indicators marked ``tlp``, built from one validated template (the validator is slow)."""
    [template] = validate([indicator(tlp)], TLP.GREEN).items
    items = []
    for index in range(count):
        obj = {**template.obj, "id": f"indicator--{uuid.uuid4()}", "name": f"bulk {index}"}
        items.append(StixItem(index, obj["id"], template.type, template.version, template.tlp, orjson.dumps(obj), obj))
    return items


def versions_of(obj: dict[str, Any], *modified: str, tlp: TLP | None = None) -> list[StixItem]:
    """Validated items, one per ``modified`` timestamp, of the object ``obj``."""
    objects = [{**obj, "modified": stamp} for stamp in modified]
    submission = validate(objects, TLP.GREEN if tlp is None else tlp)
    assert not submission.rejected, submission.rejected
    return list(submission.items)


async def append(hub: Hub, channel: str, source: str, items: Sequence[StixItem], chunk: int = 2000) -> list[Appended]:
    """Store ``items`` straight into ``channel``, in big atomic appends (so that many share a millisecond)."""
    client = connect(hub.redis_url)
    try:
        store = Store(client, hub.namespace)
        done: list[Appended] = []
        for start in range(0, len(items), chunk):
            done += await store.append(channel, source, items[start : start + chunk])
        return done
    finally:
        await client.aclose()
