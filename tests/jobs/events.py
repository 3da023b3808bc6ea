"""Helpers for the job tests: record events through the real ingest service, at a chosen moment."""
from __future__ import annotations

import datetime as dt

import time_machine

from app.ingest.incoming import IncomingError
from app.recording.record import record_errors


def record_events(service, count: int = 1, *, severity: str = "high", error_type: str = "JobError",
                  message: str = "something failed", endpoint: str | None = None, at: dt.datetime | None = None,
                  distinct: bool = False) -> list:
    """``count`` events in one transaction (at ``at`` when given); distinct ones get their own error."""
    events = [IncomingError(service_id=service.id, source="api", error_type=f"{error_type}{n}" if distinct else error_type,
                            message=message, severity=severity, endpoint=endpoint) for n in range(count)]
    if at is None:
        return record_errors(events)
    with time_machine.travel(at, tick=False):
        return record_errors(events)
