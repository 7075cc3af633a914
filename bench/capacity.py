"""The store phase of ``python -m bench.hub``: what one stored object costs Redis, and reads at size.

How this works: novel indicators (:mod:`bench.stixgen`) are POSTed in bundles
through the HTTP API into one channel, ``bench.store``, until it holds each of
``--store-sizes`` objects in turn. At each size the phase prints

* ``store_n{N}_bytes_per_object``: Redis ``used_memory`` grown since the phase
  began, divided by the objects stored (``store_object_bytes`` is the size of
  one object's JSON);
* where those bytes went, per key family, from ``MEMORY USAGE``
  (``SAMPLES 0``: every element counted): the channel's stream and its index
  of objects whole, the hub-wide ``owners`` hash and the audit trail (each
  write's record lists its objects) as their growth, and the
  per-object ``r:`` (referrers) keys as the mean of a sample times the
  objects (a hub before the channel index: also its ``latest`` hash, its
  indicator type index, and its per-object ``v:`` keys). ``MEMORY USAGE``
  counts a key's name and its entry in the keyspace, not the keyspace's
  bucket array nor the allocator's fragmentation: ``other`` is what ``used_memory`` grew beyond the families;
* p50 / p99 of four reads a partner or a member makes: TAXII's first page at
  ``limit=1000``, ``match[id]`` of one object, the manifest's first page at
  ``limit=1000``, and ``GET /api/v1/objects/{id}``, of ids spread over the
  whole channel.

``used_memory`` is read from the phase's own start, so the phases before it
do not count; nothing else may write to that Redis meanwhile (a shared
``--redis-url`` would count its other writers). ``--phases store
--store-sizes 100000,1000000`` is the capacity run of docs/scaling.md.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bench import stixgen

CHANNEL = "bench.store"
BUNDLE = 100
SAMPLE_KEYS = 1000
"""Per-object keys whose ``MEMORY USAGE`` is averaged."""
READ_TRIES = 100
"""Requests per read and size (after a few unmeasured ones)."""


class Reporter(Protocol):
    def __call__(self, name: str, value: float | str, digits: int = 1) -> None: ...


@dataclass
class Filled:
    """What the phase has stored so far."""

    objects: int = 0
    object_bytes: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    """The first id of every bundle: a sample spread over the whole channel."""


def percentile(sorted_values: Sequence[float], q: float) -> float:
    rank = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[rank]


async def used_memory(client: Redis | RedisCluster) -> int:
    """``used_memory`` of the Redis (every primary's, summed, of a cluster)."""
    if isinstance(client, RedisCluster):
        replies = await client.info("memory", target_nodes=RedisCluster.PRIMARIES)
        return sum(int(info["used_memory"]) for info in replies.values())
    return int((await client.info("memory"))["used_memory"])


async def key_bytes(client: Redis | RedisCluster, key: str) -> int:
    value = await client.memory_usage(key, samples=0)
    return int(value or 0)


def bundle(count: int, fill: Filled) -> bytes:
    objects = stixgen.indicators(count)
    fill.ids.append(objects[0]["id"])
    # Sent with the send-time placeholder as it is: the same bytes as the ingest phase's objects.
    if len(fill.object_bytes) < 1000:
        fill.object_bytes.extend(len(orjson.dumps(o)) for o in objects[:10])
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})


async def fill_to(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    headers: dict[str, str],
    concurrency: int,
    target: int,
    fill: Filled,
) -> float:
    """POST bundles until the channel holds ``target`` objects; the seconds it took."""
    start = time.monotonic()

    async def poster(url: str) -> None:
        while fill.objects < target:
            count = min(BUNDLE, target - fill.objects)
            fill.objects += count  # claimed before the await, so that the posters stop at target
            body = bundle(count, fill)
            async with session.post(url, data=body, headers=headers) as resp:
                data = await resp.read()
                if resp.status != 201 or len(orjson.loads(data)["accepted"]) != count:
                    raise RuntimeError(f"store POST answered {resp.status}: {data[:200]!r}")

    await asyncio.gather(*(poster(url) for url in urls for _ in range(concurrency)))
    return time.monotonic() - start


async def timed(
    session: aiohttp.ClientSession, urls: Sequence[str], headers: dict[str, str], tries: int
) -> tuple[float, float]:
    """p50 and p99 in ms of GET of each of ``urls`` in turn (cycled to ``tries``), one at a time."""
    for url in urls[:3]:  # connections, caches: not measured
        async with session.get(url, headers=headers) as resp:
            await resp.read()
    times = []
    for k in range(tries):
        url = urls[k % len(urls)]
        start = time.monotonic()
        async with session.get(url, headers=headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"GET {url} answered {resp.status}: {body[:200]!r}")
        times.append((time.monotonic() - start) * 1000)
    times.sort()
    return percentile(times, 0.50), percentile(times, 0.99)


async def breakdown(
    client: Redis | RedisCluster, namespace: str, fill: Filled, owners_before: int, audit_before: int
) -> dict[str, float]:
    """Bytes per stored object of each key family."""
    prefix = f"{namespace}:{{ch:{CHANNEL}}}:"
    n = fill.objects
    sample = random.sample(fill.ids, min(SAMPLE_KEYS, len(fill.ids)))
    referrers = [await key_bytes(client, f"{prefix}r:{i}") for i in sample]
    families = {
        "stream": await key_bytes(client, prefix + "log") / n,
        "index": await key_bytes(client, prefix + "objects") / n,
        "referrers": statistics.fmean(referrers),
        "owners": (await key_bytes(client, f"{namespace}:owners") - owners_before) / n,
        "audit": (await key_bytes(client, f"{namespace}:audit") - audit_before) / n,
    }
    if await client.exists(prefix + "latest"):  # a hub before the channel index (to compare against)
        versions = [await key_bytes(client, f"{prefix}v:{i}") for i in sample]
        families |= {
            "versions": statistics.fmean(versions),
            "latest": await key_bytes(client, prefix + "latest") / n,
            "type_index": await key_bytes(client, prefix + "t:indicator") / n,
        }
    return families


async def store_phase(
    session: aiohttp.ClientSession,
    *,
    hub_urls: Sequence[str],
    api_headers: dict[str, str],
    taxii_headers: dict[str, str],
    client: Redis | RedisCluster,
    namespace: str,
    sizes: Sequence[int],
    concurrency: int,
    report: Reporter,
) -> None:
    """Fill ``bench.store`` to each of ``sizes`` in turn; print its bytes per object and read latencies."""
    await asyncio.sleep(1.0)  # the warm-up's writes settle
    memory_before = await used_memory(client)
    owners_before = await key_bytes(client, f"{namespace}:owners")
    audit_before = await key_bytes(client, f"{namespace}:audit")
    fill = Filled()
    post_urls = [u + f"/api/v1/channels/{CHANNEL}/objects" for u in hub_urls]
    base = hub_urls[0]
    collection = f"{base}/taxii2/api/collections/{CHANNEL}"
    for size in sorted(sizes):
        name = f"store_n{size}"
        had = fill.objects
        seconds = await fill_to(session, post_urls, api_headers, concurrency, size, fill)
        report(f"{name}_fill_s", seconds)
        report(f"{name}_fill_objects_per_s", (size - had) / seconds, 0)
        await asyncio.sleep(2.0)  # Redis frees the clients' buffers
        grown = await used_memory(client) - memory_before
        report("store_object_bytes", statistics.fmean(fill.object_bytes), 0)
        report(f"{name}_bytes_per_object", grown / fill.objects, 0)
        families = await breakdown(client, namespace, fill, owners_before, audit_before)
        for family, value in families.items():
            report(f"{name}_{family}_bytes_per_object", value, 0)
        report(f"{name}_other_bytes_per_object", grown / fill.objects - sum(families.values()), 0)
        ids = random.sample(fill.ids, min(READ_TRIES, len(fill.ids)))
        reads: dict[str, tuple[list[str], dict[str, str]]] = {
            "taxii_first_page_l1000": ([f"{collection}/objects/?limit=1000"], taxii_headers),
            "taxii_match_id": ([f"{collection}/objects/?match[id]={i}" for i in ids], taxii_headers),
            "taxii_manifest_l1000": ([f"{collection}/manifest/?limit=1000"], taxii_headers),
            "api_object": ([f"{base}/api/v1/objects/{i}" for i in ids], api_headers),
        }
        for read, (urls, headers) in reads.items():
            p50, p99 = await timed(session, urls, headers, READ_TRIES)
            report(f"{name}_{read}_p50_ms", p50)
            report(f"{name}_{read}_p99_ms", p99)


def parse_sizes(text: str) -> list[int]:
    sizes = [int(n) for n in text.split(",")]
    if any(not BUNDLE <= n <= 10_000_000 for n in sizes):
        raise ValueError("each size between 100 and 10,000,000")
    return sizes
