"""Deleting an error with everything that hangs off it (its events, notifications, escalations, outbox
rows and timeline: the database's ``ON DELETE CASCADE``), for the JSON API and the dashboard alike.

Admins only (``permissions.can_delete_errors``). The audit row that says so keeps what the error was
and carries no ``error_id``, so it outlives the error. An event of the same fingerprint received
afterwards starts a new error, with a new id.
"""
from __future__ import annotations

from sqlalchemy import delete

from app.extensions import db
from app.models import ErrorLog
from app.platform.audit import record_audit
from app.triage import permissions
from app.triage.changes import TriageError


def deletion_summary(error: ErrorLog) -> dict:
    """What the audit row keeps of a deleted error (and what the confirmation shows)."""
    return {"error_type": error.error_type[:255], "message": (error.message or "")[:500],
            "service_id": error.service_id, "service": error.service.slug if error.service else None,
            "fingerprint": error.fingerprint, "occurrence_count": error.occurrence_count,
            "status": error.status, "first_seen": error.first_seen.isoformat() if error.first_seen else None,
            "last_seen": error.last_seen.isoformat() if error.last_seen else None}


def delete_error(error: ErrorLog, actor) -> dict:
    """Delete ``error`` and all its events for ``actor`` (an admin) and commit; returns the summary
    the audit row keeps. Raises TriageError (403) for anyone else, and changes nothing then."""
    if not permissions.can_delete_errors(actor):
        raise TriageError("only admins may delete errors", status=403)
    summary = deletion_summary(error)
    error_id = error.id
    db.session.expunge(error)
    db.session.execute(delete(ErrorLog).where(ErrorLog.id == error_id).execution_options(synchronize_session=False))
    record_audit(actor, "error.deleted", "error", error_id, details=summary)
    db.session.commit()
    return summary
