"""Paging never skips or repeats an object: same-millisecond entries, hidden entries, a 10,000-object walk."""

from __future__ import annotations

import time
from typing import Any

import orjson
from taxii2client.v21 import as_pages  # type: ignore[import-untyped]  # no type information

from hub.events import iso_millis
from hub.tlp import TLP
from tests.conftest import Hub
from tests.taxii.helpers import append, blocking, bulk_items, collection, collection_path, taxii_headers


async def walk(hub: Hub, who: str, path: str, **params: str) -> list[dict[str, Any]]:
    """Every page of ``path``, following ``next`` as a client would; the pages' bodies."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = params | ({"next": cursor} if cursor else {})
        async with hub.client.get(path, params=query, headers=taxii_headers(hub, who)) as response:
            assert response.status == 200, await response.text()
            page = orjson.loads(await response.read())
        pages.append(page)
        if not page["more"]:
            assert "next" not in page
            return pages
        cursor = page["next"]
        assert len(pages) < 10_000, "paging does not end"


async def test_objects_added_in_the_same_millisecond_are_paged_without_skip_or_repeat(hub: Hub) -> None:
    appended = await append(hub, "partners", "partner-cert", bulk_items(600))
    millis = [int(a.event_id.split("-")[0]) for a in appended]
    assert len(set(millis)) < len(millis) / 5, "the objects should share milliseconds"
    expected = [a.item.id for a in appended]
    for endpoint in ("objects/", "manifest/"):
        pages = await walk(hub, "partner-cert", collection_path("partners") + endpoint, limit="7")
        seen = [o["id"] for page in pages for o in page.get("objects", [])]
        assert seen == expected, endpoint
        assert [len(page["objects"]) for page in pages] == [7] * 85 + [5]  # no empty last page


async def test_added_after_a_shared_millisecond_starts_at_the_next_one(hub: Hub) -> None:
    appended = await append(hub, "partners", "partner-cert", bulk_items(300))
    millis = [int(a.event_id.split("-")[0]) for a in appended]
    shared = next(ms for ms in millis if millis.count(ms) > 1)
    expected = [a.item.id for a, ms in zip(appended, millis, strict=True) if ms > shared]
    pages = await walk(
        hub, "partner-cert", collection_path("partners") + "objects/", limit="50", added_after=iso_millis(shared)
    )
    assert [o["id"] for page in pages for o in page.get("objects", [])] == expected
    # A sub-millisecond timestamp inside that millisecond means the same: strictly after it.
    later = iso_millis(shared)[:-1] + "999Z"
    pages = await walk(hub, "partner-cert", collection_path("partners") + "objects/", limit="50", added_after=later)
    assert [o["id"] for page in pages for o in page.get("objects", [])] == expected


async def test_hidden_entries_between_pages_neither_break_nor_leak_into_them(hub: Hub) -> None:
    items = []
    for i in range(120):
        items += bulk_items(1, TLP.RED if i % 3 == 0 else TLP.GREEN if i % 3 == 1 else TLP.CLEAR)
    await append(hub, "partners", "partner-cert", items)
    visible = [it.id for it in items if it.tlp <= TLP.GREEN]
    pages = await walk(hub, "partner-cert", collection_path("partners") + "objects/", limit="4")
    assert [o["id"] for page in pages for o in page.get("objects", [])] == visible
    assert all(len(page["objects"]) == 4 for page in pages[:-1])


async def test_a_page_over_a_long_hidden_run_is_cut_short_and_paging_goes_on(hub: Hub) -> None:
    hidden, shown = bulk_items(2500, TLP.RED), bulk_items(3, TLP.GREEN)
    await append(hub, "partners", "partner-cert", hidden + shown)
    pages = await walk(hub, "partner-cert", collection_path("partners") + "objects/", limit="1")
    assert pages[0] == {"more": True, "next": pages[0]["next"]}  # the scan budget ran out, nothing to show yet
    assert [o["id"] for page in pages for o in page.get("objects", [])] == [it.id for it in shown]
    assert len(pages) <= 6


async def test_a_partner_walks_a_10000_object_collection_with_as_pages(hub: Hub) -> None:
    items = bulk_items(10_000)
    await append(hub, "partners", "partner-cert", items)
    partners = collection(hub, "partner-cert", "partners")
    started = time.monotonic()
    pages = await blocking(lambda: list(as_pages(partners.get_objects, per_request=hub.config.hub.page_limit)))
    elapsed = time.monotonic() - started
    seen = [o["id"] for page in pages for o in page["objects"]]
    assert len(seen) == len(set(seen)) == 10_000
    assert seen == [it.id for it in items]
    assert [page["more"] for page in pages] == [True] * 9 + [False]
    assert elapsed < 15, f"walking 10,000 objects took {elapsed:.1f} s"


async def test_a_limit_over_the_server_maximum_gets_the_maximum(hub: Hub) -> None:
    await append(hub, "partners", "partner-cert", bulk_items(hub.config.hub.page_limit + 5))
    path = collection_path("partners") + "manifest/"
    async with hub.client.get(path, params={"limit": "100000"}, headers=taxii_headers(hub, "partner-cert")) as r:
        page = await r.json()
    assert len(page["objects"]) == hub.config.hub.page_limit and page["more"]
