"""Who the client is behind reverse proxies: the socket peer, or what trusted proxies say it was.

How this works: a reverse proxy such as HAProxy (``option forwardfor``) appends
the address it received a connection from to ``X-Forwarded-For``. Everything
left of that entry came from the client, which can write anything there, so
the header is read from the right: while the hop we are looking at is a trusted
proxy, step one entry left; the first address that is not a trusted proxy is
the client. A peer that is not a trusted proxy is the client itself, and its
header is ignored entirely. An entry that is not an address (``unknown``,
garbage, an obfuscated name) stops the walk: the last trusted hop reached is
then taken as the client, the most a garbled chain lets us know.

Only ``X-Forwarded-For`` is read, never RFC 7239 ``Forwarded``: a proxy that
sets one header passes the other through from the client untouched, so
reading both would let a client speak for the proxy.

Pure: no I/O; :func:`hub.middleware.client_address` is the adapter to a request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def network_error(entry: str) -> str | None:
    """Why ``entry`` is not an IP address or CIDR network, or None if it is one."""
    try:
        ipaddress.ip_network(entry)
    except ValueError:
        try:
            loose = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"{entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
        return f"{entry!r} has host bits set: the network is {loose}, or give the address alone"
    return None


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Networks of ``entries`` (addresses are one-address networks); ValueError, per :func:`network_error`."""
    networks: list[Network] = []
    for entry in entries:
        problem = network_error(entry)
        if problem is not None:
            raise ValueError(problem)
        networks.append(ipaddress.ip_network(entry))
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """The address of one hop (``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``, ``[2001:db8::1]:5678``), or None.

    An IPv4-mapped IPv6 address is its IPv4 address, as a dual-stack socket reports it.
    """
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest[:1] == ":" and rest[1:].isascii() and rest[1:].isdigit())):
            return None
        text = host
    elif text.count(":") == 1:  # v4:port
        host, _, port = text.partition(":")
        if not (port.isascii() and port.isdigit()):
            return None
        text = host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: ``peer``, or when ``peer`` is a trusted proxy, the rightmost untrusted hop.

    ``forwarded_for`` holds the request's ``X-Forwarded-For`` header lines, in order.
    """
    if not trusted:
        return peer
    hop = parse_address(peer)
    if hop is None or not is_trusted(hop, trusted):
        return peer
    for line in reversed(forwarded_for):
        for entry in reversed(line.split(",")):
            if not entry.strip():
                continue  # "a, , b" or a trailing comma: nothing said, nothing to stop at
            previous, hop = hop, parse_address(entry)
            if hop is None:
                return str(previous)
            if not is_trusted(hop, trusted):
                return str(hop)
    return str(hop)  # every hop is a trusted proxy: the leftmost is as far as we can see
