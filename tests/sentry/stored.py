"""What the server threads stored, read back in a fresh session (they commit in other threads)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ErrorLog, ErrorOccurrence, Service


def stored_occurrences(service_id: int | None = None) -> list[ErrorOccurrence]:
    """Occurrences as the server threads committed them, oldest first (read in a fresh session)."""
    db.session.remove()
    query = select(ErrorOccurrence).order_by(ErrorOccurrence.timestamp, ErrorOccurrence.received_at)
    if service_id is not None:
        query = query.where(ErrorOccurrence.service_id == service_id)
    return list(db.session.execute(query).scalars())


def stored_errors(service_id: int | None = None) -> list[ErrorLog]:
    db.session.remove()
    query = select(ErrorLog).order_by(ErrorLog.first_seen)
    if service_id is not None:
        query = query.where(ErrorLog.service_id == service_id)
    return list(db.session.execute(query).scalars())


def dropped_events(service_id: int) -> int:
    db.session.remove()
    return db.session.execute(select(Service.dropped_events).where(Service.id == service_id)).scalar_one()
