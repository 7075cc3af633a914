"""Clients behind reverse proxies: who the hub takes the client to be, for throttling, logs and streams.

The parser alone first (no event loop), then a hub on a real loopback socket
whose test client plays the proxy (127.0.0.1 trusted, or not), then HAProxy
itself, with the deployment's ``defaults``, in front of a hub.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hub.forwarded import client_address, network_error, parse_address, parse_networks
from tests.conftest import Hub, HubFactory
from tests.stream.clients import Ws
from tests.timing import STARTUP, WAIT

ROOT = Path(__file__).parent.parent
BAD = {"Authorization": "Bearer chub_000000000000_" + "d" * 43}
PROXY = parse_networks(["127.0.0.1", "10.0.0.0/8"])
LOOPBACK = parse_networks(["127.0.0.1"])


# ---------------------------------------------------------------- the parser, without a loop


@pytest.mark.parametrize(
    "peer, headers, expected",
    [
        ("192.0.2.1", ["203.0.113.5"], "192.0.2.1"),  # an untrusted peer's header is ignored
        ("127.0.0.1", [], "127.0.0.1"),  # a trusted peer that forwards nothing is the client
        ("127.0.0.1", ["203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["198.51.100.1, 203.0.113.5"], "203.0.113.5"),  # what the client wrote is left of it
        ("127.0.0.1", ["198.51.100.1", "203.0.113.5"], "203.0.113.5"),  # the same, as two header lines
        ("127.0.0.1", ["203.0.113.5, 10.1.2.3"], "203.0.113.5"),  # a second trusted proxy is skipped
        ("127.0.0.1", ["10.9.9.9, 10.1.2.3"], "10.9.9.9"),  # all trusted: the leftmost
        ("127.0.0.1", ["203.0.113.5, unknown"], "127.0.0.1"),  # garbage stops the walk at the last trusted hop
        ("127.0.0.1", ["203.0.113.5, 10.1.2.3, _hidden"], "127.0.0.1"),
        ("127.0.0.1", ["garbage, 203.0.113.5"], "203.0.113.5"),  # garbage left of the client is never read
        ("127.0.0.1", ["203.0.113.5,", " , "], "203.0.113.5"),  # empty entries say nothing
        ("127.0.0.1", ["203.0.113.5:4711"], "203.0.113.5"),
        ("127.0.0.1", ["[2001:db8::7]:4711"], "2001:db8::7"),
        ("127.0.0.1", ["2001:db8::7"], "2001:db8::7"),
        ("127.0.0.1", ["::ffff:203.0.113.5"], "203.0.113.5"),
        ("::ffff:127.0.0.1", ["203.0.113.5"], "203.0.113.5"),  # a dual-stack socket's view of the proxy
        ("", ["203.0.113.5"], ""),  # no peer address (a Unix socket): nothing to trust
    ],
)
def test_the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(
    peer: str, headers: list[str], expected: str
) -> None:
    assert client_address(peer, headers, PROXY) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("127.0.0.1", ["203.0.113.5"], ()) == "127.0.0.1"


@pytest.mark.parametrize(
    "text", ["", "unknown", "1.2.3", "300.1.1.1", "1.2.3.4:port", "[::1", "[::1]x", "[::1]:", "::::1", "a,b"]
)
def test_hops_that_are_not_addresses_are_none(text: str) -> None:
    assert parse_address(text) is None


def test_bad_trusted_proxy_entries_are_explained() -> None:
    assert network_error("10.0.0.0/8") is None and network_error("2001:db8::1") is None
    assert "not an IP address or network" in str(network_error("proxy.internal"))
    assert "the network is 10.0.0.0/8" in str(network_error("10.1.2.3/8"))
    with pytest.raises(ValueError, match="not an IP address"):
        parse_networks(["10.0.0.1", "10.0.0.256"])


addresses = st.ip_addresses().map(str)
header_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)
# Pure functions: how long one example took on a loaded machine proves nothing, so no deadline.
untimed = settings(deadline=None)


@untimed
@given(peer=st.one_of(addresses, header_text), headers=st.lists(header_text, max_size=4))
def test_any_header_gives_the_peer_or_one_of_its_own_addresses(peer: str, headers: list[str]) -> None:
    found = client_address(peer, headers, PROXY)
    said = {str(a) for line in headers for a in map(parse_address, line.split(",")) if a is not None}
    assert found == peer or found in said or found == str(parse_address(peer))


@untimed
@given(peer=addresses.filter(lambda a: not ipaddress.ip_address(a).is_loopback), headers=st.lists(header_text))
def test_an_untrusted_peer_is_the_client_whatever_it_says(peer: str, headers: list[str]) -> None:
    assert client_address(peer, headers, LOOPBACK) == peer


@untimed
@given(spoofed=st.lists(header_text, max_size=4), client=addresses, inline=st.booleans())
@example(spoofed=[], client="::ffff:0:0", inline=False)  # an IPv4-mapped client is its IPv4 address
@example(spoofed=[], client="::ffff:127.0.0.1", inline=True)
def test_nothing_a_client_writes_hides_the_address_the_proxy_appends(
    spoofed: list[str], client: str, inline: bool
) -> None:
    """HAProxy appends the client's address after whatever the client sent: that is who it is."""
    if parse_address(client) in LOOPBACK[0]:  # as the hub reads it: an IPv4-mapped address is its IPv4 one
        client = "203.0.113.9"
    headers = [", ".join([*spoofed, client])] if inline else [*spoofed, client]
    assert client_address("127.0.0.1", headers, LOOPBACK) == str(parse_address(client))


# ---------------------------------------------------------------- a hub on a loopback socket


def forwarded_for(address: str, **extra: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, **extra}


async def status(hub: Hub, headers: dict[str, str], path: str = "/api/v1/me") -> int:
    async with hub.client.get(path, headers=headers) as response:
        return response.status


async def test_an_untrusted_peers_forwarded_for_is_ignored(hub_factory: HubFactory) -> None:
    """Throttling keys on the socket peer: naming another address each time does not escape it."""
    hub = await hub_factory(auth_failures_per_minute=2, trusted_proxies=parse_networks(["10.0.0.0/8"]))
    assert await status(hub, forwarded_for("192.0.2.1", **BAD)) == 401
    assert await status(hub, forwarded_for("192.0.2.2", **BAD)) == 401
    assert await status(hub, forwarded_for("192.0.2.3", **hub.auth("cidge"))) == 429


async def test_behind_a_trusted_proxy_clients_are_throttled_apart(hub_factory: HubFactory) -> None:
    hub = await hub_factory(auth_failures_per_minute=2, trusted_proxies=LOOPBACK)
    for _ in range(2):
        assert await status(hub, forwarded_for("192.0.2.1", **BAD)) == 401
    assert await status(hub, forwarded_for("192.0.2.1", **hub.auth("cidge"))) == 429
    assert await status(hub, forwarded_for("192.0.2.2", **hub.auth("cidge"))) == 200
    assert await status(hub, forwarded_for("192.0.2.2", **BAD)) == 401  # its own first failure, not a 429
    assert await status(hub, hub.auth("cidge")) == 200  # the proxy itself, for requests it sends on its own


async def test_a_spoofed_chain_cannot_escape_throttling(hub_factory: HubFactory) -> None:
    """Addresses the client writes left of the one the proxy appends change nothing."""
    hub = await hub_factory(auth_failures_per_minute=3, trusted_proxies=LOOPBACK)
    for i in range(3):
        assert await status(hub, forwarded_for(f"198.51.100.{i}, 10.0.0.{i}, 192.0.2.1", **BAD)) == 401
    async with hub.client.get(
        "/api/v1/me", headers=[("X-Forwarded-For", "198.51.100.77"), ("X-Forwarded-For", "192.0.2.1"), *BAD.items()]
    ) as response:
        assert response.status == 429
    assert await status(hub, forwarded_for("192.0.2.1", Authorization="Basic eDp5"), "/taxii2/") == 429


MALFORMED = [
    "",
    ",,,",
    "unknown",
    "_hidden, , ,",
    "[::1",
    "1.2.3.4:notaport",
    "300.300.300.300",
    "2001:db8::zz",
    "192.0.2.1 192.0.2.2",
    "for=192.0.2.1;proto=https",
    "\u00e9\u00e8, 192.0.2.1",
    "1.1.1.1, " * 500,
]


@pytest.mark.parametrize("trusted", [(), LOOPBACK], ids=["untrusted", "trusted"])
async def test_malformed_forwarded_for_is_ignored_never_a_500(hub_factory: HubFactory, trusted: object) -> None:
    hub = await hub_factory(trusted_proxies=trusted, auth_failures_per_minute=1000)
    for value in MALFORMED:
        assert await status(hub, forwarded_for(value), "/api/v1/health") == 200
        assert await status(hub, forwarded_for(value, **BAD)) == 401
        assert await status(hub, forwarded_for(value, **hub.auth("sspc"))) == 200
        assert await status(hub, forwarded_for(value, **BAD), "/taxii2/") == 401
        ws = Ws(await hub.client.ws_connect("/api/v1/stream", headers=forwarded_for(value, **hub.auth("sspc"))))
        await ws.until("welcome")
        await ws.ws.close()


async def test_the_stream_and_the_access_log_show_the_forwarded_address(
    hub_factory: HubFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    hub = await hub_factory(trusted_proxies=LOOPBACK)
    raw = await hub.client.ws_connect("/api/v1/stream", headers=forwarded_for("203.0.113.7", **hub.auth("banxico")))
    welcome = await Ws(raw).until("welcome")
    async with hub.client.get("/api/v1/admin/connections", headers=hub.auth("cidge")) as response:
        [shown] = [c for c in (await response.json())["connections"] if c["id"] == welcome["connection"]]
    assert shown["peer"] == "203.0.113.7"
    assert any(f"{welcome['connection']} opened by banxico from 203.0.113.7" in r.getMessage() for r in caplog.records)
    assert await status(hub, forwarded_for("203.0.113.8", **hub.auth("cidge")), "/api/v1/health") == 200
    peers = [r.peer for r in caplog.records if r.name == "hub.access"]  # type: ignore[attr-defined]
    assert peers[-2:] == ["127.0.0.1", "203.0.113.8"]  # no header: the proxy's own request


async def test_failed_stream_auth_messages_are_throttled_per_forwarded_client(hub_factory: HubFactory) -> None:
    hub = await hub_factory(auth_failures_per_minute=2, trusted_proxies=LOOPBACK)

    async def authenticate(client: str, token: str, answer: str) -> dict[str, object]:
        ws = Ws(await hub.client.ws_connect("/api/v1/stream", headers=forwarded_for(client)))
        await ws.send(op="auth", token=token)
        reply = await ws.until(answer)
        await ws.ws.close()
        return reply

    for _ in range(2):
        assert (await authenticate("192.0.2.1", BAD["Authorization"][7:], "error"))["code"] == "unauthorized"
    refused = await authenticate("192.0.2.1", hub.tokens["cidge"], "error")
    assert "too many" in str(refused["message"])
    await authenticate("192.0.2.2", hub.tokens["cidge"], "welcome")


# ---------------------------------------------------------------- HAProxy in front, as deployed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def deployment_defaults() -> str:
    """deploy/haproxy.cfg's ``defaults`` section, where ``option forwardfor`` is set."""
    lines = (ROOT / "deploy" / "haproxy.cfg").read_text().splitlines()
    start = lines.index("defaults")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace())
    return "\n".join(lines[start:end])


@pytest.fixture
def haproxy_cfg(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed")
    yield tmp_path / "haproxy.cfg", free_port()


@pytest.fixture
async def through_haproxy(hub_factory: HubFactory, haproxy_cfg: tuple[Path, int]) -> AsyncIterator[tuple[Hub, str]]:
    """A hub that trusts 127.0.0.1, behind HAProxy on 127.0.0.1 with the deployment's defaults."""
    hub = await hub_factory(auth_failures_per_minute=2, trusted_proxies=LOOPBACK)
    path, port = haproxy_cfg
    path.write_text(
        f"{deployment_defaults()}\n\nfrontend hub\n    bind 127.0.0.1:{port}\n    default_backend hubs\n\n"
        f"backend hubs\n    server hub1 127.0.0.1:{hub.client.server.port}\n"
    )
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with asyncio.timeout(STARTUP):
            while True:
                assert proxy.poll() is None, proxy.stderr.read().decode() if proxy.stderr else "haproxy exited"
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break
        yield hub, f"http://127.0.0.1:{port}"
    finally:
        proxy.terminate()
        proxy.wait(WAIT)


async def test_through_haproxy_each_client_address_is_throttled_on_its_own(
    through_haproxy: tuple[Hub, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Clients from 127.0.0.2 and 127.0.0.3; the first also writes its own X-Forwarded-For, which changes nothing."""
    caplog.set_level(logging.INFO, logger="hub.access")
    hub, url = through_haproxy

    async def get(source: str, headers: dict[str, str]) -> int:
        connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(f"{url}/api/v1/me", headers=headers) as response:
                return response.status

    for i in range(2):
        assert await get("127.0.0.2", forwarded_for(f"198.51.100.{i}", **BAD)) == 401
    assert await get("127.0.0.2", forwarded_for("198.51.100.9", **hub.auth("cidge"))) == 429
    assert await get("127.0.0.3", hub.auth("cidge")) == 200
    peers = [r.peer for r in caplog.records if r.name == "hub.access"]  # type: ignore[attr-defined]
    assert peers == ["127.0.0.2"] * 3 + ["127.0.0.3"]
