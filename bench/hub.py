"""The hub benchmark: ``python -m bench.hub [--quick] [--processes 2] [--runs 3]``.

A script, not a test. It starts an embedded Redis in a temporary folder, the
hub as separate ``crisis-hub serve`` processes on it (so that the load
generator shares neither the hub's event loop nor its CPU accounting), and the
watchers in worker processes of their own (:mod:`bench.watchers`). Then it
prints one ``name: value`` line per figure, as measured:

* ``ingest_w{N}_*``: HTTP-API ingest of bundles of 100 novel indicators into a
  channel that N watchers stream live. ``objects_per_s`` counts an object once
  every watcher has received it (time from the first POST to the last
  receipt); ``latency_p50/p99_ms`` is POST send → receipt at a watcher, over
  every (object, watcher) delivery; ``ack_p50_ms`` is POST → HTTP answer. The
  CPU lines say who was busy (100 = one core): on a 2-core machine the hub,
  Redis and the clients share two cores.
* ``hub_rss_mb_w{N}``: the hub process's resident memory with the most
  watchers connected, idle and after their ingest phase.
* ``taxii_post_*``: TAXII envelopes of 100 novel indicators.
* ``taxii_get_*``: paging through a collection of 100,000 objects (5,000 with
  ``--quick``) at ``limit`` 1000 and 100, and the first page's latency. The
  collection is filled through :meth:`hub.store.Store.append` — the hub's own
  write path below validation — with one indicator validated by
  :func:`hub.stix.validate` and then varied (id, pattern, name), because
  posting 100,000 objects over HTTP would take most of the time budget and
  measure ingest, not reads.
* ``medallion_*`` and ``compare_*``: the OASIS reference TAXII server
  (medallion, memory backend; ``pip install medallion``) and the hub, side by
  side, on the same 2,000 objects (500 with ``--quick``): POST and GET
  objects/s and the hub/medallion ratios. medallion's reads grow
  quadratically, hence not on 100,000 objects.
* ``store_*``: Redis bytes per object posted through the HTTP API, where they
  go per key family, and the p50/p99 of four reads at each of
  ``--store-sizes`` objects (20,000; 2,000 with ``--quick``): see
  :mod:`bench.capacity`.

``--redis-url URL`` runs on an existing, empty Redis on this machine instead
(one run), and ``--redis-cluster`` says it is a node of a Redis Cluster: the
hubs are started with ``--redis-cluster`` and the Redis CPU figures add up
every primary (docs/scaling.md shows how to start a local cluster).

``--processes 2`` runs two hub processes on the one Redis: watchers, POSTs
and TAXII readers are spread over both. ``--runs 3`` repeats everything on a
fresh Redis and hubs and prints the medians at the end. ``--profile DIR``
records each phase with py-spy (``pip install py-spy``) into DIR as
collapsed stacks; ``python -m bench.profile_summary DIR/*.txt`` summarises them.

Every loop is bounded in count and in time; every socket is on 127.0.0.1.
"""

# ruff: noqa: E402
from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # Run as a file, bench/ would come first on sys.path and this hub.py would hide the
    # hub package: run again as a module, from the repository.
    _root = str(Path(__file__).resolve().parent.parent)
    _env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (_root, os.environ.get("PYTHONPATH")) if p))
    os.chdir(_root)
    os.execve(sys.executable, [sys.executable, "-m", "bench.hub", *sys.argv[1:]], _env)

import argparse
import asyncio
import base64
import dataclasses
import importlib.util
import json
import math
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from redis.asyncio.cluster import RedisCluster

from bench import capacity, stixgen
from bench.procs import (
    ROOT,
    Processes,
    Started,
    WatcherWorker,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    memory_mb,
    start_hub,
    wait_http,
)
from bench.watchers import BUCKET_NS

CONFIG = ROOT / "bench" / "hub.toml"
NAMESPACE = "chub"
BUNDLE = 100
TAXII = "application/taxii+json;version=2.1"
LIVE = "bench.live"
PHASES = ("ingest", "stall", "overload", "taxii-post", "taxii-get", "compare", "store")
STALL_WATCHERS = 200
OFFER_SLOTS = 8  # open-loop senders per hub process in the overload phase


@dataclass(frozen=True)
class Plan:
    """How much of everything a run does."""

    quick: bool
    processes: int
    watcher_counts: tuple[int, ...]
    duration: float
    """Seconds of each ingest and TAXII POST phase (fewer if its bodies run out)."""
    max_bundles: int
    concurrency: int
    """POSTs in flight per hub process."""
    big: int
    compare: int
    get_seconds: float
    """Time bound of one pass through the big collection."""
    drain_seconds: float
    watcher_procs: int
    profile: Path | None
    phases: frozenset[str]
    single_bundles: int
    """Bundles sent one at a time after each ingest phase, for the latency without queueing."""
    single_seconds: float
    launcher: Path | None
    logs: Path | None
    redis_url: str | None
    """An existing Redis (empty, namespace ``chub`` unused) instead of an embedded one."""
    redis_cluster: bool
    store_sizes: tuple[int, ...]
    """The channel sizes at which the store phase measures."""
    validation_workers: int | None
    """``hub.validation_workers`` of every hub process; None: bench/hub.toml's."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        quick = bool(args.quick)
        return cls(
            quick=quick,
            processes=args.processes,
            watcher_counts=tuple(args.watchers) or ((1, 10, 50) if quick else (1, 100, 1000)),
            duration=args.duration or (2.0 if quick else 8.0),
            max_bundles=40 if quick else 2000,
            concurrency=args.concurrency,
            big=5_000 if quick else 100_000,
            compare=500 if quick else 2_000,
            get_seconds=10.0 if quick else 40.0,
            drain_seconds=15.0 if quick else 60.0,
            watcher_procs=args.watcher_procs,
            profile=args.profile,
            phases=frozenset(args.phases),
            single_bundles=3 if quick else 5,
            single_seconds=5.0 if quick else 15.0,
            launcher=args.hub_launcher,
            validation_workers=args.validation_workers,
            logs=args.logs,
            redis_url=args.redis_url,
            redis_cluster=args.redis_cluster,
            store_sizes=tuple(args.store_sizes) or ((2_000,) if quick else (20_000,)),
        )


# --- figures ----------------------------------------------------------------------------


@dataclass
class Report:
    """The figures of one run, printed as they come."""

    values: dict[str, float | str] = field(default_factory=dict)
    quiet: bool = False

    def __call__(self, name: str, value: float | str, digits: int = 1) -> None:
        if isinstance(value, float):
            value = round(value, digits) if digits else round(value)
        self.values[name] = value
        if not self.quiet:
            print(f"{name}: {value}", flush=True)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    rank = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[rank]


def hist_percentile(hist: dict[int, int], q: float) -> float:
    """The ``q`` quantile in ms of a histogram of ``BUCKET_NS`` buckets (each bucket's upper edge)."""
    total = sum(hist.values())
    if not total:
        return math.nan
    want = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= want:
            return (bucket + 1) * BUCKET_NS / 1e6
    return math.nan


def merged_hist(waits: Iterable[dict[str, Any]]) -> dict[int, int]:
    """The latency histograms of every watcher worker's ``wait`` answer, added up (bucket → count)."""
    hist: dict[int, int] = {}
    for w in waits:
        for bucket, n in w["hist"]:
            hist[bucket] = hist.get(bucket, 0) + n
    return hist


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


# --- HTTP load ----------------------------------------------------------------------------


@dataclass
class Posted:
    """What POSTs stored (``objects``), and for an open loop what it offered and the hub refused (503)."""

    objects: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    acks_ns: list[int] = field(default_factory=list)
    first_ns: int = 0
    last_ack_ns: int = 0
    offered: int = 0
    refused: int = 0


async def post_loop(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    bodies: Sequence[bytes],
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    expect: int,
    count: Callable[[bytes], int],
) -> Posted:
    """POST ``bodies`` in order, ``concurrency`` at a time per URL, for at most ``seconds``."""
    result = Posted(first_ns=time.monotonic_ns())
    deadline = time.monotonic() + seconds
    next_body = 0

    async def poster(url: str) -> None:
        nonlocal next_body
        while next_body < len(bodies) and time.monotonic() < deadline:
            body = bodies[next_body]
            next_body += 1
            sent = time.monotonic_ns()
            async with session.post(url, data=stixgen.stamp(body, sent), headers=headers) as resp:
                data = await resp.read()
                status = resp.status
            done = time.monotonic_ns()
            result.requests += 1
            if status != expect:
                result.failures.append(f"HTTP {status}: {data[:200]!r}")
                continue
            result.objects += count(data)
            result.acks_ns.append(done - sent)
            result.last_ack_ns = max(result.last_ack_ns, done)

    await asyncio.gather(*(poster(url) for url in urls for _ in range(concurrency)))
    return result


async def offer_loop(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    bodies: Iterator[bytes],
    headers: dict[str, str],
    rate: float,
    seconds: float,
) -> Posted:
    """Offer bundles at ``rate`` objects/s for ``seconds``, whatever the hub answers (an open loop).

    Each URL gets ``OFFER_SLOTS`` senders, each on its own fixed schedule; a sender never has more
    than one POST in flight, so a hub that holds POSTs lowers what is offered: the refused and the
    slowed down both count as not taken. A refused bundle is not sent again: it would only add to the
    offered load, which is already twice what the hub delivers.
    """
    result = Posted(first_ns=time.monotonic_ns())
    slots = OFFER_SLOTS * len(urls)
    interval = slots * BUNDLE / rate
    start = time.monotonic()

    async def sender(url: str, k: int) -> None:
        due = start + k * interval / slots
        while due < start + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due += interval
            body = next(bodies)
            sent = time.monotonic_ns()
            result.offered += BUNDLE
            async with session.post(url, data=stixgen.stamp(body, sent), headers=headers) as resp:
                data = await resp.read()
                status = resp.status
            if status == 503:
                result.refused += 1
                continue
            if status != 201:
                result.failures.append(f"HTTP {status}: {data[:200]!r}")
                continue
            result.objects += accepted_count(data)
            result.last_ack_ns = max(result.last_ack_ns, time.monotonic_ns())

    await asyncio.gather(*(sender(url, k) for k, url in enumerate(u for u in urls for _ in range(OFFER_SLOTS))))
    return result


async def gather_into(out: list[Pass], readers: Iterable[Awaitable[Pass]]) -> None:
    out.extend(await asyncio.gather(*readers))


def accepted_count(data: bytes) -> int:
    return len(orjson.loads(data)["accepted"])


def taxii_success_count(data: bytes) -> int:
    return int(orjson.loads(data)["success_count"])


@dataclass
class Pass:
    objects: int = 0
    pages: int = 0
    seconds: float = 0.0
    complete: bool = False


async def get_pass(
    session: aiohttp.ClientSession, url: str, limit: int, headers: dict[str, str], seconds: float
) -> Pass:
    """Page through a TAXII collection's objects from the start, for at most ``seconds``."""
    result = Pass()
    start = time.monotonic()
    cursor: str | None = None
    while time.monotonic() - start < seconds:
        params = {"limit": str(limit)}
        if cursor is not None:
            params["next"] = cursor
        async with session.get(url, params=params, headers=headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"GET {url} answered {resp.status}: {body[:200]!r}")
        doc = orjson.loads(body)
        result.objects += len(doc.get("objects", ()))
        result.pages += 1
        if not doc.get("more"):
            result.complete = True
            break
        cursor = doc["next"]
    result.seconds = time.monotonic() - start
    return result


async def first_page_ms(
    session: aiohttp.ClientSession, url: str, limit: int, headers: dict[str, str], tries: int = 5
) -> float:
    times = []
    for _ in range(tries):
        start = time.monotonic()
        async with session.get(url, params={"limit": str(limit)}, headers=headers) as resp:
            await resp.read()
        times.append((time.monotonic() - start) * 1000)
    return statistics.median(times)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- profiling ---------------------------------------------------------------------------


class Profiler:
    """py-spy recording a hub process during one phase (``--profile``)."""

    def __init__(self, directory: Path | None, procs: Processes) -> None:
        self.directory = directory
        self.procs = procs
        self.exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    async def around(self, name: str, pids: Sequence[int], phase: Awaitable[None]) -> None:
        if self.directory is None:
            await phase
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        spies: list[Started] = []
        for k, pid in enumerate(pids):
            out = self.directory / f"{name}-hub{k}.txt"
            args = [self.exe, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--threads"]
            args += ["--nonblocking", "--output", str(out)]
            spies.append(self.procs.spawn(f"py-spy-{name}-{k}", args))
        await asyncio.sleep(1.0)  # py-spy attaches
        try:
            await phase
        finally:
            for spy in spies:
                spy.process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            for spy in spies:
                try:
                    spy.process.wait(30)
                except subprocess.TimeoutExpired:
                    pass
                self.procs.stop(spy)


# --- one run -----------------------------------------------------------------------------


class Run:
    def __init__(self, plan: Plan, report: Report, procs: Processes, redis_url: str, redis_pids: list[int]) -> None:
        self.plan = plan
        self.report = report
        self.procs = procs
        self.redis_url = redis_url
        self.redis_pids = redis_pids
        self.hubs: list[tuple[Started, str]] = []
        self.tokens: dict[str, str] = {}
        self.rate = 1000.0  # objects/s: sizes the bodies prepared for the next phase
        self.peak_rate = 1000.0
        self.profiler = Profiler(plan.profile, procs)

    @property
    def hub_pids(self) -> list[int]:
        return [h.pid for h, _ in self.hubs]

    @property
    def hub_urls(self) -> list[str]:
        return [url for _, url in self.hubs]

    def config(self) -> Path:
        """bench/hub.toml, or a copy of it with the plan's ``validation_workers``."""
        workers = self.plan.validation_workers
        if workers is None:
            return CONFIG
        copy = self.procs.workdir / "hub.toml"
        copy.write_text(CONFIG.read_text().replace("[hub]\n", f"[hub]\nvalidation_workers = {workers}\n", 1))
        return copy

    async def start(self) -> None:
        for k in range(self.plan.processes):
            self.hubs.append(
                start_hub(
                    self.procs, k, self.redis_url, self.config(), self.plan.launcher, cluster=self.plan.redis_cluster
                )
            )
        await asyncio.gather(*(wait_http(url + "/api/v1/health", 60) for url in self.hub_urls))
        await self.create_tokens()

    async def create_tokens(self) -> None:
        from hub.store import TokenStore, connect
        from hub.tokens import new_token

        client = connect(self.redis_url, cluster=self.plan.redis_cluster)
        try:
            store = TokenStore(client, NAMESPACE)
            for stakeholder in ("producer", "watcher", "partner"):
                token = new_token()
                await store.add(stakeholder, token, "benchmark")
                self.tokens[stakeholder] = token.text
        finally:
            await client.aclose()

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['producer']}", "Content-Type": "application/stix+json"}

    def taxii_headers(self, body: bool = False) -> dict[str, str]:
        headers = {"Authorization": basic("partner", self.tokens["partner"]), "Accept": TAXII}
        if body:
            headers["Content-Type"] = TAXII
        return headers

    def cpu(self, pids: Sequence[int]) -> dict[str, float]:
        times = os.times()
        return {
            "wall": time.monotonic(),
            "hub": sum(cpu_seconds(pid) for pid in self.hub_pids),
            "redis": sum(cpu_seconds(pid) for pid in self.redis_pids),
            "clients": sum(cpu_seconds(pid) for pid in pids) + times.user + times.system,
            "machine": machine_busy_seconds(),
        }

    def report_cpu(self, name: str, before: dict[str, float], after: dict[str, float], objects: int) -> None:
        """Who used the CPU during a phase (100 = one core), and the hub's CPU time per object.

        The per-object figure hardly depends on what else the machine runs: 10^6 / it is
        the objects/s one hub process would reach with a whole core to itself.
        """
        wall = after["wall"] - before["wall"]
        used = {key: after[key] - before[key] for key in ("hub", "redis", "clients", "machine")}
        if objects:
            self.report(f"{name}_hub_cpu_us_per_object", 1e6 * used["hub"] / objects, 0)
        for key in ("hub", "redis", "clients"):
            self.report(f"{name}_{key}_cpu_pct", 100 * used[key] / wall, 0)
        # Other work on the machine (not this benchmark's) competes for the same cores: say how much.
        others = used["machine"] - used["hub"] - used["redis"] - used["clients"]
        self.report(f"{name}_others_cpu_pct", max(0.0, 100 * others / wall), 0)

    def report_rss(self, name: str) -> None:
        rss = [memory_mb(pid) for pid in self.hub_pids]
        self.report(name, sum(r[0] for r in rss))
        if len(rss) > 1:
            for k, (now, _) in enumerate(rss):
                self.report(f"{name}_hub{k}", now)

    def bundles(self, seconds: float) -> list[bytes]:
        """Enough bundles for ``seconds`` at 3× the last measured rate, within the plan's bound."""
        wanted = math.ceil(3 * self.rate * seconds / BUNDLE)
        return [stixgen.bundle_body(BUNDLE) for _ in range(max(10, min(self.plan.max_bundles, wanted)))]

    # phases ------------------------------------------------------------------------
    async def warm_up(self, session: aiohttp.ClientSession) -> None:
        """A few bundles before anything is measured (imports, caches, connection pools)."""
        urls = [u + f"/api/v1/channels/{LIVE}/objects" for u in self.hub_urls]
        bodies = [stixgen.bundle_body(BUNDLE) for _ in range(5 * len(urls))]
        posted = await post_loop(session, urls, bodies, self.api_headers(), 1, 60, 201, accepted_count)
        if posted.failures:
            raise RuntimeError(f"warm-up POSTs failed: {posted.failures[:2]}")
        # A first estimate of the rate, from the last bundles (the first may pay for imports).
        self.rate = self.peak_rate = BUNDLE * 1e9 / max(1, statistics.median(posted.acks_ns))

    async def connect_watchers(self, name: str, watchers: int) -> list[WatcherWorker]:
        """Open ``watchers`` live streams of the ingest channel, spread over the worker processes."""
        workers = [WatcherWorker(self.procs, k) for k in range(max(1, min(self.plan.watcher_procs, watchers)))]
        urls = self.hub_urls
        answers = await asyncio.gather(
            *(
                worker.call(
                    {
                        "cmd": "connect",
                        "urls": urls[k % len(urls) :] + urls[: k % len(urls)],
                        "token": self.tokens["watcher"],
                        "channel": LIVE,
                        "count": share,
                    }
                )
                for k, (worker, share) in enumerate(zip(workers, split(watchers, len(workers)), strict=True))
            )
        )
        connected = sum(a["connected"] for a in answers)
        retries = sum(a["retries"] for a in answers)
        if retries:
            self.report(f"{name}_connect_retries", retries, 0)
        if connected != watchers:
            why = [w for a in answers for w in a["why"]]
            await self.close_watchers(workers, watchers)
            raise RuntimeError(f"only {connected} of {watchers} watchers connected: {why}")
        return workers

    async def close_watchers(self, workers: list[WatcherWorker], watchers: int) -> None:
        await asyncio.gather(*(w.call({"cmd": "close"}) for w in workers), return_exceptions=True)
        for worker in workers:
            self.procs.stop(worker.started)
        await asyncio.sleep(0.5 + watchers / 500)  # the hub notices the closed streams before the next phase

    async def ingest(self, session: aiohttp.ClientSession, watchers: int) -> None:
        plan = self.plan
        name = f"ingest_w{watchers}"
        workers = await self.connect_watchers(name, watchers)
        try:
            biggest = watchers == max(plan.watcher_counts)
            if biggest:
                await asyncio.sleep(1.0)
                self.report_rss(f"hub_rss_mb_w{watchers}_idle")
            bodies = self.bundles(plan.duration)
            await asyncio.gather(*(w.call({"cmd": "reset"}) for w in workers))
            urls = [u + f"/api/v1/channels/{LIVE}/objects" for u in self.hub_urls]
            before = self.cpu([w.pid for w in workers])
            result: list[Posted] = []

            async def phase() -> None:
                result.append(
                    await post_loop(
                        session, urls, bodies, self.api_headers(), plan.concurrency, plan.duration, 201, accepted_count
                    )
                )

            await self.profiler.around(name, self.hub_pids, phase())
            posted = result[0]
            waits = await asyncio.gather(
                *(w.call({"cmd": "wait", "expected": posted.objects, "timeout": plan.drain_seconds}) for w in workers)
            )
            after = self.cpu([w.pid for w in workers])
            last_ns = max([posted.last_ack_ns, *(w["last_ns"] for w in waits)])
            hist = merged_hist(waits)
            delivered = sum(w["total"] for w in waits)
            closed = sum(w["closed"] for w in waits)
            acks = sorted(posted.acks_ns)
            seconds = (last_ns - posted.first_ns) / 1e9
            rate = posted.objects / seconds if seconds > 0 else math.nan
            self.report(f"{name}_objects_per_s", rate, 0)
            self.report(f"{name}_ack_objects_per_s", posted.objects * 1e9 / (posted.last_ack_ns - posted.first_ns), 0)
            self.report(f"{name}_latency_p50_ms", hist_percentile(hist, 0.50))
            self.report(f"{name}_latency_p99_ms", hist_percentile(hist, 0.99))
            self.report(f"{name}_latency_max_ms", hist_percentile(hist, 1.0))
            self.report(f"{name}_ack_p50_ms", percentile(acks, 0.50) / 1e6)
            self.report(f"{name}_ack_p99_ms", percentile(acks, 0.99) / 1e6)
            self.report(f"{name}_objects", posted.objects, 0)
            self.report(f"{name}_delivered_pct", 100 * delivered / max(1, posted.objects * watchers))
            self.report_cpu(name, before, after, posted.objects)
            if closed or posted.failures:
                errors = sorted({e for w in waits for e in w["errors"]})
                self.report(f"{name}_watchers_closed", closed, 0)
                self.report(f"{name}_failed_posts", len(posted.failures), 0)
                print(f"# {name}: errors {errors[:5]} {posted.failures[:2]}", file=sys.stderr)
            if biggest:
                self.report_rss(f"hub_rss_mb_w{watchers}")
                self.report(f"hub_rss_peak_mb_w{watchers}", sum(memory_mb(pid)[1] for pid in self.hub_pids))
            if posted.objects:
                self.rate = posted.objects / seconds
                self.peak_rate = max(self.peak_rate, self.rate)
            await self.single_bundles(session, workers, name)
        finally:
            await self.close_watchers(workers, watchers)

    async def stalled(self, session: aiohttp.ClientSession, watchers: int = STALL_WATCHERS) -> None:
        """One stream that stops reading, among ``watchers``: the others' latency must not move.

        The same steady load (a third of the best measured ingest rate, or
        250,000 deliveries/s if less, so that neither the hub nor the clients
        are saturated and latency is not queueing) runs
        twice: with every stream reading, then with one stream stalled. The
        stalled stream fills its socket buffers, then its queue in the hub,
        and is cut off as a slow consumer; the others' POST→receipt latency
        is compared across the two runs.
        """
        plan = self.plan
        name = f"stall_w{watchers}"
        workers = await self.connect_watchers(name, watchers)
        try:
            cut_before = await self.slow_consumers(session)  # the counter counts since the hub started
            urls = [u + f"/api/v1/channels/{LIVE}/objects" for u in self.hub_urls]
            # Steady, well below saturation: a third of the best ingest rate, at most 250,000 deliveries/s.
            rate = min(self.peak_rate / 3, 250_000 / watchers)
            interval = BUNDLE / max(1.0, rate)
            for label in ("all_reading", "one_stalled"):
                if label == "one_stalled":
                    await workers[0].call({"cmd": "stall", "count": 1})
                await asyncio.gather(*(w.call({"cmd": "reset"}) for w in workers))
                sent = 0
                started = time.monotonic()
                while time.monotonic() - started < plan.duration:
                    body = [stixgen.bundle_body(BUNDLE)]
                    posted = await post_loop(session, urls[:1], body, self.api_headers(), 1, 60, 201, accepted_count)
                    sent += posted.objects
                    await asyncio.sleep(max(0.0, interval - posted.acks_ns[0] / 1e9) if posted.acks_ns else interval)
                waits = await asyncio.gather(
                    *(w.call({"cmd": "wait", "expected": sent, "timeout": plan.drain_seconds}) for w in workers)
                )
                hist = merged_hist(waits)
                expected = sent * sum(w["watchers"] for w in waits)  # the reading streams only
                self.report(f"{name}_{label}_latency_p50_ms", hist_percentile(hist, 0.50))
                self.report(f"{name}_{label}_latency_p99_ms", hist_percentile(hist, 0.99))
                self.report(f"{name}_{label}_delivered_pct", 100 * sum(w["total"] for w in waits) / max(1, expected))
            self.report(f"{name}_objects_per_s", sent / plan.duration, 0)
            self.report(f"{name}_slow_consumers_cut", await self.slow_consumers(session) - cut_before, 0)
        finally:
            await self.close_watchers(workers, watchers)

    async def overload(self, session: aiohttp.ClientSession, watchers: int) -> None:
        """Producers at twice what the hub delivers to ``watchers``: are healthy streams cut, or producers slowed?

        First the rate the hub delivers to every watcher is measured (closed loop, as the ingest phase:
        ``plan.concurrency`` POSTs in flight per process, for half the phase's duration). Then bundles
        are offered at twice that rate for ``plan.duration`` (:func:`offer_loop`). Reported: what was
        offered, taken and refused; streams the hub cut off (its ``/metrics``) and closed; what every
        watcher got, and the POST → receipt latency of what was taken.
        """
        plan = self.plan
        name = f"overload_w{watchers}"
        workers = await self.connect_watchers(name, watchers)
        try:
            cut_before = await self.slow_consumers(session)
            urls = [u + f"/api/v1/channels/{LIVE}/objects" for u in self.hub_urls]
            bodies = self.bundles(plan.duration / 2)
            await asyncio.gather(*(w.call({"cmd": "reset"}) for w in workers))
            posted = await post_loop(
                session, urls, bodies, self.api_headers(), plan.concurrency, plan.duration / 2, 201, accepted_count
            )
            waits = await asyncio.gather(
                *(w.call({"cmd": "wait", "expected": posted.objects, "timeout": plan.drain_seconds}) for w in workers)
            )
            last_ns = max([posted.last_ack_ns, *(w["last_ns"] for w in waits)])
            capacity = posted.objects * 1e9 / max(1, last_ns - posted.first_ns)
            self.report(f"{name}_capacity_objects_per_s", capacity, 0)
            await asyncio.gather(*(w.call({"cmd": "reset"}) for w in workers))
            count = math.ceil(2 * capacity * plan.duration / BUNDLE) + OFFER_SLOTS * len(urls)
            offers = iter([stixgen.bundle_body(BUNDLE) for _ in range(count)])
            offered = await offer_loop(session, urls, offers, self.api_headers(), 2 * capacity, plan.duration)
            waits = await asyncio.gather(
                *(w.call({"cmd": "wait", "expected": offered.objects, "timeout": plan.drain_seconds}) for w in workers)
            )
            last_ns = max([offered.last_ack_ns, *(w["last_ns"] for w in waits)])
            hist = merged_hist(waits)
            delivered = sum(w["total"] for w in waits)
            self.report(f"{name}_offered_objects_per_s", offered.offered / plan.duration, 0)
            self.report(f"{name}_accepted_objects_per_s", offered.objects / plan.duration, 0)
            self.report(
                f"{name}_delivered_objects_per_s", offered.objects * 1e9 / max(1, last_ns - offered.first_ns), 0
            )
            self.report(f"{name}_refused_posts", offered.refused, 0)
            self.report(f"{name}_watchers_cut", await self.slow_consumers(session) - cut_before, 0)
            self.report(f"{name}_watchers_closed", sum(w["closed"] for w in waits), 0)
            self.report(f"{name}_delivered_pct", 100 * delivered / max(1, offered.objects * watchers))
            self.report(f"{name}_latency_p50_ms", hist_percentile(hist, 0.50))
            self.report(f"{name}_latency_p99_ms", hist_percentile(hist, 0.99))
            if offered.failures:
                self.report(f"{name}_failed_posts", len(offered.failures), 0)
                print(f"# {name}: {offered.failures[:2]}", file=sys.stderr)
        finally:
            await self.close_watchers(workers, watchers)

    async def slow_consumers(self, session: aiohttp.ClientSession) -> float:
        """Streams the hub processes cut off for falling behind (their ``/metrics``)."""
        total = 0.0
        for url in self.hub_urls:
            async with session.get(url + "/metrics") as response:
                text = await response.text()
            total += sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("chub_stream_slow_consumers_total ")
            )
        return total

    async def single_bundles(self, session: aiohttp.ClientSession, workers: list[WatcherWorker], name: str) -> None:
        """Latency without queueing: one bundle at a time, each once the previous one reached every watcher.

        Under saturation (the phase before) latency is mostly waiting behind earlier
        bundles; this is the time one bundle takes through an otherwise idle hub.
        """
        await asyncio.gather(*(w.call({"cmd": "reset"}) for w in workers))
        urls = [u + f"/api/v1/channels/{LIVE}/objects" for u in self.hub_urls]
        started = time.monotonic()
        sent = 0
        waits: list[dict[str, Any]] = []
        for k in range(self.plan.single_bundles):
            if k and time.monotonic() - started > self.plan.single_seconds:
                break
            await asyncio.sleep(0.2)  # let the hub settle: heartbeats, token checks, the audit writer
            url, body = [urls[k % len(urls)]], [stixgen.bundle_body(BUNDLE)]
            posted = await post_loop(session, url, body, self.api_headers(), 1, 60, 201, accepted_count)
            sent += posted.objects
            waits = await asyncio.gather(
                *(w.call({"cmd": "wait", "expected": sent, "timeout": self.plan.drain_seconds}) for w in workers)
            )
        hist = merged_hist(waits)
        self.report(f"{name}_single_bundle_latency_p50_ms", hist_percentile(hist, 0.50))
        self.report(f"{name}_single_bundle_latency_p99_ms", hist_percentile(hist, 0.99))

    async def taxii_post(self, session: aiohttp.ClientSession) -> None:
        plan = self.plan
        wanted = math.ceil(3 * self.peak_rate * plan.duration / BUNDLE)
        bodies = [stixgen.envelope_body(BUNDLE) for _ in range(max(10, min(plan.max_bundles, wanted)))]
        urls = [u + "/taxii2/api/collections/bench.taxii/objects/" for u in self.hub_urls]
        before = self.cpu([])
        result: list[Posted] = []

        async def phase() -> None:
            result.append(
                await post_loop(
                    session,
                    urls,
                    bodies,
                    self.taxii_headers(body=True),
                    plan.concurrency,
                    plan.duration,
                    202,
                    taxii_success_count,
                )
            )

        await self.profiler.around("taxii_post", self.hub_pids, phase())
        after = self.cpu([])
        posted = result[0]
        acks = sorted(posted.acks_ns)
        self.report("taxii_post_objects_per_s", posted.objects * 1e9 / (posted.last_ack_ns - posted.first_ns), 0)
        self.report("taxii_post_p50_ms", percentile(acks, 0.5) / 1e6)
        self.report("taxii_post_objects", posted.objects, 0)
        self.report_cpu("taxii_post", before, after, posted.objects)
        if posted.failures:
            self.report("taxii_post_failed", len(posted.failures), 0)
            print(f"# taxii_post: {posted.failures[:2]}", file=sys.stderr)

    async def fill(self, channel: str, count: int) -> float:
        """Append ``count`` novel indicators to ``channel`` through the store; seconds taken."""
        from hub.stix import validate
        from hub.store import Store, connect
        from hub.tlp import TLP

        stamp = stixgen.now_millis()
        template = validate([stixgen.indicator(stamp)], TLP.GREEN).items[0]
        names = {f.name for f in dataclasses.fields(template)}
        client = connect(self.redis_url, cluster=self.plan.redis_cluster)
        start = time.monotonic()
        pending: asyncio.Task[Any] | None = None
        try:
            store = Store(client, NAMESPACE)
            for offset in range(0, count, 1000):
                objects = [stixgen.indicator(stamp) for _ in range(min(1000, count - offset))]
                for obj in objects:
                    obj["description"] = "bulk"
                if {"id", "raw", "obj", "index"} <= names:
                    items = [
                        dataclasses.replace(template, index=i, id=o["id"], raw=orjson.dumps(o), obj=o)
                        for i, o in enumerate(objects)
                    ]
                else:  # StixItem changed shape: validate every object instead (slower, same result)
                    items = list(validate(objects, TLP.GREEN).items)
                if pending is not None:
                    await pending  # Redis stores one chunk while the next is built
                pending = asyncio.create_task(store.append(channel, "partner", items))
            if pending is not None:
                await pending
        finally:
            await client.aclose()
        return time.monotonic() - start

    async def taxii_get(self, session: aiohttp.ClientSession) -> None:
        plan = self.plan
        seconds = await self.fill("bench.big", plan.big)
        self.report("taxii_get_collection_objects", plan.big, 0)
        self.report("taxii_get_fill_s", seconds)
        urls = [u + "/taxii2/api/collections/bench.big/objects/" for u in self.hub_urls]
        headers = self.taxii_headers()
        for limit in (1000, 100):
            before = self.cpu([])
            passes: list[Pass] = []
            # One reader per hub process, each paging through the whole collection.
            readers = (get_pass(session, url, limit, headers, plan.get_seconds) for url in urls)
            await self.profiler.around(f"taxii_get_l{limit}", self.hub_pids, gather_into(passes, readers))
            after = self.cpu([])
            objects = sum(p.objects for p in passes)
            self.report(f"taxii_get_l{limit}_objects_per_s", objects / max(p.seconds for p in passes), 0)
            self.report(f"taxii_get_l{limit}_page_ms", 1000 * max(p.seconds for p in passes) / passes[0].pages)
            if not all(p.complete for p in passes):
                self.report(f"taxii_get_l{limit}_objects_read", objects, 0)
            self.report_cpu(f"taxii_get_l{limit}", before, after, objects)
        for limit in (1000, 100):
            self.report(f"taxii_get_first_page_ms_l{limit}", await first_page_ms(session, urls[0], limit, headers))

    async def store(self, session: aiohttp.ClientSession) -> None:
        from hub.store import connect

        client = connect(self.redis_url, cluster=self.plan.redis_cluster)
        try:
            await capacity.store_phase(
                session,
                hub_urls=self.hub_urls,
                api_headers=self.api_headers(),
                taxii_headers=self.taxii_headers(),
                client=client,
                namespace=NAMESPACE,
                sizes=self.plan.store_sizes,
                concurrency=self.plan.concurrency,
                report=self.report,
            )
        finally:
            await client.aclose()

    async def compare(self, session: aiohttp.ClientSession, workdir: Path) -> None:
        """medallion (memory backend) and the hub side by side on the same objects."""
        if importlib.util.find_spec("medallion") is None:  # it runs as a server process, never imported here
            print("medallion: not installed (pip install medallion) - comparison skipped", flush=True)
            return
        plan = self.plan
        collection = str(uuid.uuid4())
        port = free_port()
        data = {
            "/discovery": {
                "title": "medallion (benchmark)",
                "default": f"http://127.0.0.1:{port}/api1/",
                "api_roots": [f"http://127.0.0.1:{port}/api1/"],
            },
            "api1": {
                "information": {
                    "title": "benchmark",
                    "versions": [TAXII],
                    "max_content_length": 100_000_000,
                },
                "status": [],
                "collections": [
                    {
                        "id": collection,
                        "title": "benchmark",
                        "can_read": True,
                        "can_write": True,
                        "media_types": ["application/stix+json;version=2.1"],
                        "objects": [],
                        "manifest": [],
                    }
                ],
            },
        }
        password = uuid.uuid4().hex
        (workdir / "medallion-data.json").write_text(json.dumps(data))
        config = {
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(workdir / "medallion-data.json"),
            },
            "users": {"bench": password},
            "taxii": {"max_page_size": 1000},
        }
        (workdir / "medallion.json").write_text(json.dumps(config))
        args = [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port)]
        server = self.procs.spawn("medallion", [*args, "--log-level", "ERROR", str(workdir / "medallion.json")])
        med_headers = {"Authorization": basic("bench", password), "Accept": TAXII}
        try:
            await wait_http(f"http://127.0.0.1:{port}/taxii2/", 30, med_headers)
            bodies = [stixgen.envelope_body(BUNDLE) for _ in range(plan.compare // BUNDLE)]
            targets = {
                "medallion": (f"http://127.0.0.1:{port}/api1/collections/{collection}/objects/", med_headers),
                "hub": (self.hub_urls[0] + "/taxii2/api/collections/bench.compare/objects/", self.taxii_headers()),
            }
            figures: dict[str, dict[str, float]] = {}
            for who, (url, headers) in targets.items():
                # One client, one request at a time, for both: medallion's memory backend is not thread-safe.
                posted = await post_loop(
                    session,
                    [url],
                    bodies,
                    {**headers, "Content-Type": TAXII},
                    1,
                    120,
                    202,
                    taxii_success_count,
                )
                if posted.objects != plan.compare:
                    raise RuntimeError(f"{who} stored {posted.objects} of {plan.compare}: {posted.failures[:2]}")
                post_rate = posted.objects * 1e9 / (posted.last_ack_ns - posted.first_ns)
                figures[who] = {"post": post_rate}
                self.report(f"{who}_compare_post_objects_per_s", post_rate, 0)
                for limit in (1000, 100):
                    passes: list[Pass] = []
                    started = time.monotonic()
                    while len(passes) < 3 and (time.monotonic() - started < 20 or not passes):
                        passes.append(await get_pass(session, url, limit, headers, 60))
                    if not all(p.complete and p.objects == plan.compare for p in passes):
                        raise RuntimeError(f"{who} GET passes incomplete: {passes}")
                    get_rate = sum(p.objects for p in passes) / sum(p.seconds for p in passes)
                    figures[who][f"get_l{limit}"] = get_rate
                    self.report(f"{who}_compare_get_l{limit}_objects_per_s", get_rate, 0)
            for key in ("post", "get_l1000", "get_l100"):
                self.report(f"compare_{key}_ratio", figures["hub"][key] / figures["medallion"][key])
        finally:
            self.procs.stop(server)


async def run_once(plan: Plan, report: Report) -> None:
    from hub.embedded import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="chub-bench-") as tmp:
        workdir = Path(tmp)
        procs = Processes(workdir)
        kept = plan.logs
        redis = EmbeddedRedis(workdir / "redis")
        if plan.redis_url is None:
            redis.start()
        try:
            if plan.redis_url is None:
                assert redis.process is not None
                run = Run(plan, report, procs, redis.url, [redis.process.pid])
            else:
                run = Run(plan, report, procs, plan.redis_url, await redis_pids(plan.redis_url, plan.redis_cluster))
            busy = machine_busy_seconds()
            await asyncio.sleep(1.0)
            report("machine_busy_before_pct", 100 * (machine_busy_seconds() - busy), 0)
            started = time.monotonic()
            await run.start()
            report("hub_processes", plan.processes, 0)
            report("redis_processes", len(run.redis_pids), 0)
            report("hub_start_rss_mb", sum(memory_mb(pid)[0] for pid in run.hub_pids))
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                await run.warm_up(session)
                if "ingest" in plan.phases:
                    for watchers in plan.watcher_counts:
                        await run.ingest(session, watchers)
                if "stall" in plan.phases:
                    await run.stalled(session)
                if "overload" in plan.phases:
                    await run.overload(session, max(plan.watcher_counts))
                if "taxii-post" in plan.phases:
                    await run.taxii_post(session)
                if "taxii-get" in plan.phases:
                    await run.taxii_get(session)
                if "compare" in plan.phases:
                    await run.compare(session, workdir)
                if "store" in plan.phases:
                    await run.store(session)
            report("bench_seconds", time.monotonic() - started, 0)
        except BaseException:
            kept = plan.logs or Path(tempfile.mkdtemp(prefix="chub-bench-failed-"))
            print(f"# the run failed; its logs are in {kept}", file=sys.stderr)
            raise
        finally:
            procs.stop_all()
            redis.stop()
            if kept is not None:
                keep_logs(workdir, kept)


async def redis_pids(url: str, cluster: bool) -> list[int]:
    """The process ids of the Redis servers behind ``url`` (every primary of a cluster), for their CPU time.

    Only meaningful when they run on this machine; ``INFO server`` says each one's process id.
    """
    from hub.store import connect

    client = connect(url, cluster=cluster)
    try:
        if cluster:
            assert isinstance(client, RedisCluster)
            replies = await client.info("server", target_nodes=RedisCluster.PRIMARIES)
            return sorted({int(info["process_id"]) for info in replies.values()})
        return [int((await client.info("server"))["process_id"])]
    finally:
        await client.aclose()


def keep_logs(workdir: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for log in [*workdir.glob("*.log"), workdir / "redis" / "redis.log"]:
        if log.exists():
            shutil.copy(log, into / log.name)


def raise_fd_limit(wanted: int = 8192) -> None:
    """1,000 watchers need 1,000 sockets here and in the hub (which inherits this limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        print(f"# raised the open-file limit from {soft} to {new}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small numbers, about half a minute")
    parser.add_argument("--processes", type=int, default=1, choices=(1, 2, 3, 4), help="hub processes on one Redis")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole run; print medians at the end")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds per ingest / TAXII POST phase")
    parser.add_argument("--concurrency", type=int, default=2, help="POSTs in flight per hub process (default 2)")
    parser.add_argument("--watcher-procs", type=int, default=2, help="worker processes holding the watchers")
    parser.add_argument(
        "--watchers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[],
        help="watcher counts of the ingest phases, e.g. 1,100,1000 (the default)",
    )
    parser.add_argument(
        "--phases",
        type=lambda text: text.split(","),
        default=list(PHASES),
        help=f"which phases to run (default: all of {','.join(PHASES)})",
    )
    parser.add_argument(
        "--store-sizes",
        type=capacity.parse_sizes,
        default=[],
        help="channel sizes at which the store phase measures, e.g. 100000,1000000 (default 20000)",
    )
    parser.add_argument("--profile", type=Path, help="record each phase with py-spy into this folder")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the benchmark and its processes at this niceness (negative: ahead of other work; needs root)",
    )
    parser.add_argument(
        "--hub-launcher",
        type=Path,
        help="a script run instead of 'python -m hub' with the same arguments (experiments: a patched hub)",
    )
    parser.add_argument(
        "--validation-workers",
        type=int,
        help="hub.validation_workers of every hub process (default: bench/hub.toml's, 0)",
    )
    parser.add_argument("--logs", type=Path, help="copy the logs of the hub, Redis and the workers here")
    parser.add_argument("--json", type=Path, help="also write every run's figures and the medians here")
    parser.add_argument(
        "--redis-url", help="an existing, empty Redis on this machine instead of an embedded one (one run only)"
    )
    parser.add_argument(
        "--redis-cluster", action="store_true", help="--redis-url is a node of a Redis Cluster (so are the hubs told)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.runs > 5:
        parser.error("--runs must be between 1 and 5")
    if not set(args.phases) <= set(PHASES):
        parser.error(f"--phases: choose among {', '.join(PHASES)}")
    if any(not 1 <= n <= 5000 for n in args.watchers):
        parser.error("--watchers: each count between 1 and 5000")
    if args.redis_cluster and not args.redis_url:
        parser.error("--redis-cluster needs --redis-url")
    if args.redis_url and args.runs > 1:
        parser.error("--runs: an existing Redis keeps the previous run's data; give one run per fresh Redis")
    plan = Plan.from_args(args)
    raise_fd_limit()
    if args.nice:
        os.nice(args.nice)  # inherited by the hub, Redis and the watcher processes
    mode = "quick" if plan.quick else "full"
    print(f"# crisis hub benchmark: {mode}, {plan.processes} hub process(es), {os.cpu_count()} cores", flush=True)
    runs: list[dict[str, float | str]] = []
    for k in range(args.runs):
        if args.runs > 1:
            print(f"# run {k + 1} of {args.runs}", flush=True)
        report = Report()
        asyncio.run(run_once(plan, report))
        runs.append(report.values)
    medians: dict[str, float | str] = {}
    if args.runs > 1:
        print(f"# medians of {args.runs} runs", flush=True)
        for name in runs[0]:
            values = [r[name] for r in runs if name in r]
            numbers = [v for v in values if isinstance(v, int | float) and not math.isnan(v)]
            value: float | str = statistics.median(numbers) if len(numbers) == len(values) else values[-1]
            medians[name] = value
            shown = round(value, 1) if isinstance(value, float) else value
            print(f"{name}: {shown}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"plan": str(plan), "runs": runs, "medians": medians}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
