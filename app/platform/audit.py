"""The audit trail: every change of state writes one row, in the same transaction as the change."""
from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, Developer


def actor_label(actor: Developer | None) -> str:
    return f"{actor.name} <{actor.email}>" if actor is not None else "system"


def record_audit(actor: Developer | None, action: str, object_type: str, object_id, *,
                 error_id: str | None = None, details: dict | None = None) -> AuditEvent:
    """Add an audit row to the session (committed with the change it describes)."""
    event = AuditEvent(actor_id=actor.id if actor else None, actor_label=actor_label(actor), action=action,
                       object_type=object_type, object_id=str(object_id), error_id=error_id, details=details)
    db.session.add(event)
    return event
