"""``crisis-hub login``: a person signs the command line in from the situation room, and its token is theirs.

The command runs as a user runs it (a real process) against a real hub; the
person approves with their browser's session, as the page does.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.store import TokenRecord, TokenStore
from hub.store.client import connect
from hub.tlp import TLP
from hub.tokens import new_token
from tests.cli.test_cli import no_traceback
from tests.conftest import Hub
from tests.people.helpers import signed_in
from tests.stixgen import bundle, indicator
from tests.stream.clients import STIX
from tests.timing import STARTUP

pytestmark = pytest.mark.asyncio

CODE = re.compile(r"code ([A-Z]{4}-[A-Z]{4})")


class Command:
    """One ``crisis-hub`` process, its environment's config home in ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CRISIS_HUB_")}
        self.env["XDG_CONFIG_HOME"] = str(home)

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", *args, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    async def run(self, *args: str) -> tuple[int, str, str]:
        process = await self.start(*args)
        out, err = await asyncio.wait_for(process.communicate(), STARTUP)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


async def user_code(process: asyncio.subprocess.Process) -> tuple[str, str]:
    """The code (and the link) the login command prints, read from its stderr as it waits."""
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + STARTUP
    while (match := CODE.search(seen)) is None:
        line = await asyncio.wait_for(process.stderr.readline(), max(0.1, deadline - time.monotonic()))
        assert line, f"the command ended before printing a code: {seen}"
        seen += line.decode()
    link = next(word for word in seen.split() if word.startswith("http"))
    return match.group(1), link


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(process.communicate(), STARTUP)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def url(hub: Hub) -> str:
    return str(hub.client.make_url("")).rstrip("/")


async def test_login_makes_a_token_that_acts_for_the_person_until_they_are_disabled_or_log_out(
    hub: Hub, tmp_path: Path
) -> None:
    command = Command(tmp_path)
    login = await command.start("login", "--url", url(hub), "--label", "luis@laptop")
    code, link = await user_code(login)
    assert link == f"{url(hub)}/?approve={code}"

    luis = await signed_in(hub, "luis")
    status, shown = await luis.call("GET", f"/api/v1/cli-login/{code.lower()}")  # typed in any case
    assert status == 200, shown
    assert shown["user_code"] == code and shown["label"] == "luis@laptop" and shown["address"] == "127.0.0.1"
    status, approved = await luis.call("POST", f"/api/v1/cli-login/{code}", {"approve": True})
    assert status == 200 and approved["approved"] is True, approved
    returncode, out, err = await finish(login)
    assert returncode == 0, err
    assert "Luis Herrera" in out, out
    no_traceback(err)

    saved = tmp_path / "crisis-hub" / "tokens.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    token = orjson.loads(saved.read_bytes())["hubs"][url(hub)]["token"]
    assert token.startswith("chub_") and token not in (await luis.call("GET", "/api/v1/me"))[1].values()

    # Commands given no --token use it; it acts for Luis, with his stakeholder's rights.
    returncode, out, err = await command.run("crises", "--url", url(hub))
    assert returncode == 0, err
    bearer = {"Authorization": f"Bearer {token}"}
    async with hub.client.get("/api/v1/me", headers=bearer) as response:
        me = await response.json()
    assert me["stakeholder"] == "banxico" and me["person"] == {"id": "luis", "name": "Luis Herrera"}
    marker = indicator(TLP.AMBER)
    async with hub.client.post("/api/v1/channels/sector.finance/objects", data=orjson.dumps(bundle(marker)),
                               headers={**bearer, **STIX}) as response:  # fmt: skip
        assert response.status in (200, 201), await response.text()
    async with hub.client.get(f"/api/v1/objects/{marker['id']}", headers=hub.auth("cert-mx")) as response:
        event = (await response.json())["events"][0]
    assert event["source"] == "banxico" and event["person"] == {"id": "luis", "name": "Luis Herrera"}

    # Administrators see whose it is and until when.
    args = ("--redis-url", hub.redis_url, "--namespace", hub.namespace)
    returncode, listing, err = await command.run("token", "list", *args, *(["--redis-cluster"] if hub.cluster else []))
    assert returncode == 0, err
    row = next(line for line in listing.splitlines() if token.split("_")[1] in line)
    assert row.split()[1:3] == ["banxico", "luis"] and "crisis-hub login: luis@laptop" in row

    # Disabling Luis stops his token at once; enabling him brings it back.
    async with hub.client.post("/api/v1/admin/people/luis/disable", headers=hub.auth("cidge")) as response:
        assert response.status == 200
    async with hub.client.get("/api/v1/me", headers=bearer) as response:
        assert response.status == 401
    async with hub.client.post("/api/v1/admin/people/luis/enable", headers=hub.auth("cidge")) as response:
        assert response.status == 200

    returncode, out, err = await command.run("logout", "--url", url(hub))
    assert returncode == 0, err
    assert "revoked and forgotten" in out
    assert url(hub) not in orjson.loads(saved.read_bytes())["hubs"]
    async with hub.client.get("/api/v1/me", headers=bearer) as response:
        assert response.status == 401
    returncode, _out, err = await command.run("crises", "--url", url(hub))
    assert returncode == 2 and "crisis-hub login" in err


async def test_a_refused_request_ends_the_command_with_one_sentence(hub: Hub, tmp_path: Path) -> None:
    login = await Command(tmp_path).start("login", "--url", url(hub))
    code, _link = await user_code(login)
    jorge = await signed_in(hub, "jorge")
    status, refused = await jorge.call("POST", f"/api/v1/cli-login/{code}", {"approve": False})
    assert status == 200 and refused["approved"] is False
    returncode, _out, err = await finish(login)
    assert returncode == 1
    assert "refused in the situation room" in err
    no_traceback(err)
    assert not (tmp_path / "crisis-hub" / "tokens.json").exists()


async def ask(hub: Hub, label: str = "") -> tuple[str, str]:
    """A command line's request, made as ``crisis-hub login`` makes it: (its token, the user code)."""
    token = new_token()
    body = {"token_id": token.token_id, "digest": token.digest, "label": label}
    async with hub.client.post("/api/v1/cli-login", json=body) as response:
        answer = await response.json()
        assert response.status == 201, answer
    return token.text, answer["user_code"]


async def poll(hub: Hub, token: str) -> tuple[int, Any]:
    async with hub.client.get("/api/v1/cli-login", headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


async def test_a_code_is_answered_once_and_only_by_a_signed_in_person(hub: Hub) -> None:
    token, code = await ask(hub)
    assert (await poll(hub, token))[0] == 202
    # A stakeholder's token may not approve: tokens never breed tokens.
    async with hub.client.post(f"/api/v1/cli-login/{code}", json={"approve": True}, headers=hub.auth("banxico")) as r:
        assert r.status == 403
    luis = await signed_in(hub, "luis")
    assert (await luis.call("POST", f"/api/v1/cli-login/{code}", {"approve": True}))[0] == 200
    status, answer = await poll(hub, token)
    assert status == 200 and answer["person"]["id"] == "luis"
    assert (await luis.call("POST", f"/api/v1/cli-login/{code}", {"approve": True}))[0] == 404
    # Nor may the personal token just made approve another command line.
    _other, second = await ask(hub)
    bearer = {"Authorization": f"Bearer {token}"}
    async with hub.client.post(f"/api/v1/cli-login/{second}", json={"approve": True}, headers=bearer) as r:
        assert r.status == 403
    # A page request without the session's anti-CSRF token changes nothing.
    status, _ = await luis.call("POST", f"/api/v1/cli-login/{second}", {"approve": True}, csrf=False)
    assert status == 403


async def test_polling_needs_the_tokens_secret_and_an_expired_request_is_gone(hub: Hub) -> None:
    token, _code = await ask(hub)
    token_id = token.split("_")[1]
    forged = f"chub_{token_id}_{new_token().secret}"
    assert (await poll(hub, forged))[0] == 401
    status, answer = await poll(hub, new_token().text)
    assert status == 410 and "run crisis-hub login again" in answer["description"]
    async with hub.client.post("/api/v1/cli-login", json={"token_id": token_id, "digest": "0" * 64}) as response:
        assert response.status == 409  # the id is taken
    for bad in ({"token_id": "XYZ", "digest": "0" * 64}, {"token_id": "0" * 12, "digest": "short"},
                {"token_id": "0" * 12, "digest": "0" * 64, "label": "x" * 101}):  # fmt: skip
        async with hub.client.post("/api/v1/cli-login", json=bad) as response:
            assert response.status == 400


async def test_a_personal_token_has_its_persons_narrower_rights_and_an_end(hub: Hub) -> None:
    token, code = await ask(hub)
    sofia = await signed_in(hub, "sofia")  # read-only
    assert (await sofia.call("POST", f"/api/v1/cli-login/{code}", {"approve": True}))[0] == 200
    bearer = {"Authorization": f"Bearer {token}"}
    body = orjson.dumps(bundle(indicator(TLP.GREEN)))
    async with hub.client.post("/api/v1/channels/sector.finance/objects", data=body, headers={**bearer, **STIX}) as r:
        assert r.status == 403
    # Only a personal token ends itself; a stakeholder's is an administrator's to revoke.
    async with hub.client.delete("/api/v1/cli-login", headers=hub.auth("banxico")) as response:
        assert response.status == 403
    # A personal token stops at its end, whatever else holds.
    client = connect(hub.redis_url, cluster=hub.cluster)
    try:
        made = new_token()
        past = time.time() - 1
        record = TokenRecord(made.token_id, "banxico", made.digest, past - 60, None, "old", "luis", past)
        assert await TokenStore(client, hub.namespace).add_new(record)
    finally:
        await client.aclose()
    async with hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {made.text}"}) as response:
        assert response.status == 401
        assert "expired" in (await response.json())["description"]
