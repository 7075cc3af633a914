"""Prometheus metrics of one hub process, on a registry of its own (no global state).

Counters and histograms are updated where things happen (ingest, fan-out,
HTTP); gauges that describe the current state — connections, queue depths,
consumer lag, Redis round trip — are computed when Prometheus scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.stix.fast import fast_path_enabled

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, *, stix_fast_path: bool | None = None) -> None:
        """``stix_fast_path``: whether STIX validation takes the fast path (default: what this installation does)."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ingested = Counter("chub_events_ingested", "Objects stored as new events", ["channel", "via"], registry=r)
        self.duplicates = Counter(
            "chub_events_duplicate", "Objects already stored (idempotent re-posts)", ["channel"], registry=r
        )
        self.rejected = Counter("chub_objects_rejected", "Objects refused", ["channel", "reason"], registry=r)
        self.deliveries = Counter("chub_deliveries", "Events sent live to stream clients", ["channel"], registry=r)
        self.withheld = Counter(
            "chub_deliveries_withheld", "Live events withheld by the policy", ["channel"], registry=r
        )
        self.delivery_latency = Histogram(
            "chub_delivery_latency_seconds",
            "From storing an event to offering it to its live readers",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.producers_refused = Counter(
            "chub_producers_refused",
            "Producer requests (objects API, TAXII POST, pull connectors) refused unread because the live streams "
            "were behind (see ingest_hold_fill)",
            registry=r,
        )
        self.slow_consumers = Counter(
            "chub_stream_slow_consumers", "Stream clients cut off for falling behind", registry=r
        )
        self.requests = Counter("chub_http_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram(
            "chub_http_request_seconds", "HTTP request duration", ["route"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.redis_seconds = Histogram(
            "chub_redis_append_seconds", "Redis round trip of an append", buckets=LATENCY_BUCKETS, registry=r
        )
        self.task_failures = Counter(
            "chub_background_task_failures",
            "Background task passes that failed unexpectedly (the task carries on), and background tasks that died",
            ["task"],
            registry=r,
        )
        self.notifications = Counter(
            "chub_notifications",
            "Notifications by e-mail and webhook: sent, retried (a delivery failed, tried again later) or failed",
            ["via", "outcome"],
            registry=r,
        )
        self.stix_fast_path = Gauge(
            "chub_stix_fast_path",
            "1 when STIX objects are checked on the audited fast path, 0 when every object takes the slow full path "
            "(the installed STIX libraries are not the audited versions: see the hub's start-up warning)",
            registry=r,
        )
        self.stix_fast_path.set(1 if (fast_path_enabled() if stix_fast_path is None else stix_fast_path) else 0)

    def observe_state(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Register a function producing current-state metrics at scrape time."""
        self.registry.register(_Callback(collect))


class _Callback(Collector):
    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        yield from self._collect()

    def describe(self) -> list[Metric]:
        return []


def gauge(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def since(started: float) -> float:
    return time.perf_counter() - started
