"""One event of an error among the others: the first, older, newer and latest events beside it, and
its number, for the dashboard's event navigation and ``GET /api/errors/{id}/occurrences/{id}/``.

Events are ordered by (timestamp, id), the index ``ix_error_occurrences_error_timestamp_id``: every
step is a keyset read of one index entry, never an OFFSET scan. "Event N of M" counts every event the
error received (``error_logs.occurrence_count``, kept by the ingest), so M needs no count; N is M less
the events stored after this one, an index-only count of the newer side alone (events are read
newest first, so that side is the short one). Events removed by retention are the oldest: the
oldest one kept may be event 4,001 of 50,000, which is what it is.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, literal, select, tuple_

from app.extensions import db
from app.models import ErrorLog, ErrorOccurrence

Event = ErrorOccurrence


@dataclass
class EventPlace:
    """An event and its neighbours' ids (``None`` where there is none: the first has no older one)."""

    occurrence: ErrorOccurrence
    number: int
    total: int
    first_id: str | None
    previous_id: str | None
    next_id: str | None
    latest_id: str | None


# Row values, so the whole step is one range of the index (PostgreSQL and SQLite both read it so).
def _newer(occurrence: ErrorOccurrence):
    return and_(Event.error_id == occurrence.error_id,
                tuple_(Event.timestamp, Event.id) > tuple_(literal(occurrence.timestamp, Event.timestamp.type), occurrence.id))


def _older(occurrence: ErrorOccurrence):
    return and_(Event.error_id == occurrence.error_id,
                tuple_(Event.timestamp, Event.id) < tuple_(literal(occurrence.timestamp, Event.timestamp.type), occurrence.id))


def _one_id(condition, newest_first: bool) -> str | None:
    order = (Event.timestamp.desc(), Event.id.desc()) if newest_first else (Event.timestamp.asc(), Event.id.asc())
    return db.session.execute(select(Event.id).where(condition).order_by(*order).limit(1)).scalar()


def latest(error_id: str) -> ErrorOccurrence | None:
    """The error's newest event, by the order the navigation walks."""
    return db.session.execute(select(Event).where(Event.error_id == error_id)
                              .order_by(Event.timestamp.desc(), Event.id.desc()).limit(1)).scalar_one_or_none()


def event_of(error: ErrorLog, occurrence_id: str) -> ErrorOccurrence | None:
    """The error's event with this id; ``None`` when there is none (or it is another error's). A client
    that resends an event id after the writer's resend window (app/recording/occurrences.py) has it
    stored twice; the first copy is the one shown."""
    if not occurrence_id or len(occurrence_id) > 36 or "\x00" in occurrence_id:
        return None
    return db.session.execute(select(Event).where(Event.id == occurrence_id, Event.error_id == error.id)
                              .order_by(Event.received_at).limit(1)).scalar_one_or_none()


def place(error: ErrorLog, occurrence: ErrorOccurrence) -> EventPlace:
    """Where ``occurrence`` stands among its error's events."""
    previous_id = _one_id(_older(occurrence), newest_first=True)
    next_id = _one_id(_newer(occurrence), newest_first=False)
    first_id = _one_id(Event.error_id == error.id, newest_first=False) if previous_id else None
    latest_id = _one_id(Event.error_id == error.id, newest_first=True) if next_id else None
    newer = db.session.execute(select(func.count()).select_from(Event).where(_newer(occurrence))).scalar_one() \
        if next_id else 0
    total = max(error.occurrence_count or 0, newer + 1)
    return EventPlace(occurrence=occurrence, number=total - newer, total=total,
                      first_id=first_id or occurrence.id, previous_id=previous_id,
                      next_id=next_id, latest_id=latest_id or occurrence.id)
