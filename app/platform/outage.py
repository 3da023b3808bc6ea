"""Logging a dependency's outage once, then at a bounded rate.

While Redis is down every event that passes the rate limiter and every live-feed publish fails; a
traceback for each filled 5 MB of log in ten seconds and buried what mattered. ``OutageLog`` logs
the first failure in full, then one line per ``every`` seconds with the number of failures since,
and one line when the dependency answers again, with how long it was gone.

A failed call to Redis costs about 25 ms (the client's connection retries); paid by every event
twice, that was most of the ingest's time during an outage. So after a failure callers skip the
dependency for ``RETRY_SECONDS`` (``skip_for_now``) and try it again once that has passed.
"""
from __future__ import annotations

import logging
import threading
import time

SUMMARY_EVERY_SECONDS = 60.0
RETRY_SECONDS = 1.0
_every: list[OutageLog] = []


class OutageLog:
    """The log of one dependency's failures as seen by one caller (e.g. "rate limiter, Redis")."""

    def __init__(self, logger: logging.Logger, what: str, every: float = SUMMARY_EVERY_SECONDS):
        self.logger, self.what, self.every = logger, what, every
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_logged = 0.0
        self._unlogged = 0
        self._failures = 0
        self._last_failure = 0.0
        _every.append(self)

    def skip_for_now(self) -> bool:
        """Whether the dependency failed less than ``RETRY_SECONDS`` ago (then callers do without it)."""
        return self._down_since is not None and time.monotonic() - self._last_failure < RETRY_SECONDS

    def failed(self, consequence: str) -> None:
        """Called in an ``except`` block: logs the first failure with its traceback, then a count."""
        now = time.monotonic()
        with self._lock:
            self._failures += 1
            self._last_failure = now
            if self._down_since is None:
                self._down_since, self._last_logged, self._unlogged = now, now, 0
                first = True
            elif now - self._last_logged >= self.every:
                first, count, self._unlogged, self._last_logged = False, self._unlogged + 1, 0, now
            else:
                self._unlogged += 1
                return
            since = now - self._down_since
        if first:
            self.logger.warning("%s failed; %s (further failures are counted, not logged each time)",
                                self.what, consequence, exc_info=True)
        else:
            self.logger.warning("%s still failing: %d more failures, down for %.0f s; %s", self.what, count,
                                since, consequence)

    def succeeded(self) -> None:
        """Called after a success: says once that the dependency is back. Costs one comparison when it
        never went away."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            since, failures = time.monotonic() - self._down_since, self._failures
            self._down_since, self._failures, self._unlogged = None, 0, 0
        self.logger.warning("%s works again after %.0f s and %d failures", self.what, since, failures)


def forget_outages() -> None:
    """Every dependency counted as up again, without a log line (between tests)."""
    for outage in _every:
        with outage._lock:
            outage._down_since, outage._failures, outage._unlogged = None, 0, 0
