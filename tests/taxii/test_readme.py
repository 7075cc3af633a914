"""The README's TAXII 2.1 section against a real hub with taxii2-client: its example runs as printed, and it
promises collection URLs only in the forms taxii2-client accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from taxii2client.exceptions import ValidationError  # type: ignore[import-untyped]  # no type information
from taxii2client.v21 import Collection  # type: ignore[import-untyped]  # no type information

from hub.taxii.catalog import collection_id
from hub.tlp import TLP
from tests.conftest import Hub
from tests.stixgen import indicator
from tests.taxii.helpers import TAXII, blocking, collection, collection_url

README = Path(__file__).parents[2] / "README.md"


def taxii_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## TAXII 2.1") : text.index("## Crisis workflow")]


async def test_the_readme_taxii_example_runs_as_printed(hub: Hub) -> None:
    match = re.search(r"```python\n(.*?)```", taxii_section(), re.S)
    assert match is not None
    code = match.group(1).replace("http://127.0.0.1:8080/", str(hub.client.make_url("/")))
    obj = indicator(TLP.GREEN)
    scope: dict[str, Any] = {"TOKEN": hub.tokens["partner-cert"], "indicator": obj}
    await blocking(lambda: exec(code, scope))
    assert scope["status"].status == "complete" and scope["partners"].id == collection_id("partners")
    stored = await blocking(scope["partners"].get_objects)
    assert [o["id"] for o in stored["objects"]] == [obj["id"]]


async def test_taxii2client_needs_the_id_url_of_a_collection_and_the_readme_says_so(hub: Hub) -> None:
    """taxii2-client checks the collection's id against the URL it was given: an alias URL cannot pass."""
    by_alias = Collection(
        collection_url(hub, "partners").replace(collection_id("partners"), "partners"),
        user="partner-cert",
        password=hub.tokens["partner-cert"],
    )
    with pytest.raises(ValidationError, match="does not match the url"):
        await blocking(by_alias.refresh)
    by_id = collection(hub, "partner-cert", "partners")
    await blocking(by_id.refresh)
    assert by_id.alias == "partners" and (await blocking(by_id.get_manifest)) == {"more": False}
    [row] = [line for line in taxii_section().splitlines() if line.startswith("| `GET /taxii2/api/collections/[")]
    assert "either works in URLs" not in row and "Give taxii2-client the id URL" in row
    # What the README still promises plain HTTP clients: the alias in place of the id, in every collection URL.
    for tail in ("", "objects/", "manifest/"):
        path = f"/taxii2/api/collections/partners/{tail}"
        async with hub.client.get(path, headers={"Accept": TAXII, **hub.auth("partner-cert")}) as response:
            assert response.status == 200, (path, await response.text())
