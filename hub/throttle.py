"""Throttling of failed authentication per source address. Pure: the caller gives the time.

A source that fails authentication ``limit`` times within ``window`` seconds
is refused (429, with the seconds to wait) until its oldest failure leaves
the window — even with a good token, so guessing gains nothing by mixing in
a known one. Memory is bounded: past ``max_sources`` the oldest sources are
forgotten.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class FailureThrottle:
    def __init__(self, limit: int = 20, window: float = 60.0, max_sources: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_sources = max_sources
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, source: str, now: float) -> deque[float] | None:
        failures = self._failures.get(source)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[source]
            return None
        return failures

    def retry_after(self, source: str, now: float) -> float | None:
        """Seconds ``source`` must wait before trying again, or None if it may try now."""
        failures = self._recent(source, now)
        if failures is None or len(failures) < self.limit:
            return None
        return max(0.001, failures[0] + self.window - now)

    def failed(self, source: str, now: float) -> None:
        """Record one failed authentication from ``source``."""
        failures = self._recent(source, now)
        if failures is None:
            failures = self._failures[source] = deque()
        self._failures.move_to_end(source)
        failures.append(now)
        while len(failures) > self.limit:
            failures.popleft()
        while len(self._failures) > self.max_sources:
            self._failures.popitem(last=False)
