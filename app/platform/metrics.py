"""Prometheus metrics at ``/metrics``, off unless ``METRICS_TOKEN`` is set (then a scrape must send
``Authorization: Bearer <token>``).

Every process of one instance (each gunicorn process, the worker) writes its counts to files in one
folder (``METRICS_DIR``, by default ``<instance>/metrics``): prometheus_client's multiprocess mode, so a
scrape of any web process sees the sum of all of them, the worker's included. Counted where it
happens:

- ingest requests per service and outcome (accepted, refused, rate_limited, unavailable), and their
  latency (``app.web.ingest.common``);
- the ingest writer's batch sizes (``app.recording.writer``);
- notification attempts by channel and outcome (``app.notify.delivery``);
- scheduled job runs by job and outcome, and their durations (``app.jobs.scheduled``).

What is a state rather than a count (the queue's depth, the spool, the outbox backlog, whether each
dependency answers) is read at scrape time from the same checks as ``/readyz``
(``app.platform.health.readiness``). With metrics off every counting call returns at once.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from flask import Flask

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_metrics: SimpleNamespace | None = None


def metrics_folder(app: Flask) -> Path:
    return Path(app.config.get("METRICS_DIR") or Path(app.instance_path) / "metrics")


def enabled() -> bool:
    return _metrics is not None


def start(app: Flask) -> None:
    """Create this process's metrics when ``METRICS_TOKEN`` is set. prometheus_client chooses its
    multiprocess storage when it is first imported, so the folder is named before that."""
    global _metrics
    if not app.config.get("METRICS_TOKEN") or _metrics is not None:
        return
    folder = Path(os.environ.setdefault(MULTIPROC_ENV, str(metrics_folder(app))))
    folder.mkdir(parents=True, exist_ok=True)
    from prometheus_client import Counter, Histogram

    _metrics = SimpleNamespace(
        ingest=Counter("heartwatch_ingest_requests", "Ingest requests by service and outcome",
                       ["service", "outcome"]),
        ingest_seconds=Histogram("heartwatch_ingest_duration_seconds", "Time to answer an ingest request",
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10)),
        batch=Histogram("heartwatch_writer_batch_events", "Events per transaction of the ingest writer",
                        buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256)),
        notifications=Counter("heartwatch_notification_attempts", "Notification attempts by channel and outcome",
                              ["channel", "status"]),
        jobs=Counter("heartwatch_job_runs", "Scheduled job runs by job and outcome", ["job", "status"]),
        job_seconds=Histogram("heartwatch_job_duration_seconds", "Duration of scheduled job runs", ["job"],
                              buckets=(.01, .05, .1, .5, 1, 2, 5, 10, 30, 60, 300, 1800)),
    )


def ingest_answered(service: str | None, status: int, seconds: float) -> None:
    if _metrics is None:
        return
    if 200 <= status < 300:
        outcome = "accepted"
    elif status == 429:
        outcome = "rate_limited"
    elif status == 503:
        outcome = "unavailable"
    else:
        outcome = "refused"
    _metrics.ingest.labels(service or "", outcome).inc()
    _metrics.ingest_seconds.observe(seconds)


def writer_batch(events: int) -> None:
    if _metrics is not None:
        _metrics.batch.observe(events)


def notification_attempt(channel: str, status: str) -> None:
    if _metrics is not None:
        _metrics.notifications.labels(channel, status).inc()


def job_ran(job: str, status: str, seconds: float) -> None:
    if _metrics is not None:
        _metrics.jobs.labels(job, status).inc()
        _metrics.job_seconds.labels(job).observe(seconds)


def process_exited(pid: int) -> None:
    """gunicorn's child_exit: drop a dead process's live gauges (its counts stay in the sums)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def forget_gone_processes(folder: Path) -> None:
    """At the web server's start: forget the counts of processes that no longer run (an earlier run's),
    keep those of running ones (the worker may have started first)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition(readiness: dict) -> tuple[bytes, str]:
    """The text a scrape reads: every process's counts, and the states ``readiness`` found now."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_StateCollector(readiness))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _StateCollector:
    def __init__(self, readiness: dict):
        self.readiness = readiness

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        checks = self.readiness["checks"]
        up = GaugeMetricFamily("heartwatch_dependency_up", "Whether a dependency answers (1) or not (0)",
                               labels=["dependency"])
        for name, check in checks.items():
            up.add_metric([name], 1.0 if check.get("ok") else 0.0)
        yield up
        yield GaugeMetricFamily("heartwatch_ready", "Whether this process can do its work",
                                value=1.0 if self.readiness["ready"] else 0.0)
        if "pending" in checks["queue"]:
            yield GaugeMetricFamily("heartwatch_queue_depth", "Tasks waiting in the job queue",
                                    value=checks["queue"]["pending"])
        if "overdue" in checks["outbox"]:
            yield GaugeMetricFamily("heartwatch_outbox_overdue", "Error events not handed off one lease after",
                                    value=checks["outbox"]["overdue"])
        if "seconds_ago" in checks["worker"]:
            yield GaugeMetricFamily("heartwatch_worker_last_seen_seconds", "Seconds since the worker's last tick",
                                    value=checks["worker"]["seconds_ago"])
        spool = checks["spool"]
        if spool.get("enabled"):
            yield GaugeMetricFamily("heartwatch_spool_events", "Events waiting in this process's spool",
                                    value=spool.get("events", 0))
            yield GaugeMetricFamily("heartwatch_spool_bytes", "Bytes in this process's spool, and left behind",
                                    value=spool.get("bytes", 0) + spool.get("left_behind_bytes", 0))
