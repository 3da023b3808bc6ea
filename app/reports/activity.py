"""What happened to errors: one error's timeline and escalations, the notification audit trail and
the escalations page."""
from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import OPEN_STATUSES, AuditEvent, Developer, ErrorComment, ErrorEscalation, ErrorLog, ErrorNotification
from app.platform.sql import contains_ci
from app.reports.errors import notifications_query, paged


def timeline(error: ErrorLog, limit: int = 200) -> list[dict]:
    """What happened to an error, newest first: audit events (assigned, escalated, resolved, regressed,
    merged, ...), comments and notification attempts, with the people named."""
    events = list(db.session.execute(
        select(AuditEvent).where(AuditEvent.error_id == error.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
    ).scalars())
    notifications = list(db.session.execute(
        select(ErrorNotification).where(ErrorNotification.error_id == error.id)
        .options(selectinload(ErrorNotification.attempts)).order_by(ErrorNotification.created_at.desc(), ErrorNotification.id.desc()).limit(limit)
    ).scalars())
    ids = set()
    for event in events:
        details = event.details or {}
        for key in ("from", "to"):
            if isinstance(details.get(key), int) and event.action in ("error.assigned", "error.unassigned",
                                                                       "error.escalated"):
                ids.add(details[key])
    names = dict(db.session.execute(select(Developer.id, Developer.name).where(Developer.id.in_(ids))).all()) \
        if ids else {}
    items = [{"kind": "audit", "at": e.created_at, "action": e.action, "actor": e.actor_label,
              "details": e.details or {}, "names": names} for e in events]
    items += [{"kind": "notification", "at": n.created_at, "action": "notified", "notification": n}
              for n in notifications]
    items += [{"kind": "comment", "at": c.created_at, "action": "commented", "comment": c}
              for c in db.session.execute(select(ErrorComment).where(ErrorComment.error_id == error.id)
                                          .options(selectinload(ErrorComment.author))
                                          .order_by(ErrorComment.created_at.desc(), ErrorComment.id.desc())
                                          .limit(limit)).scalars()]
    items.append({"kind": "first_seen", "at": error.first_seen, "action": "first_seen"})
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]


def escalations_of(error_id: str) -> list[ErrorEscalation]:
    """An error's escalations, newest first."""
    return list(db.session.execute(
        select(ErrorEscalation).where(ErrorEscalation.error_id == error_id).order_by(ErrorEscalation.created_at.desc())
    ).scalars())


def notifications_page(channel: str | None, status: str | None, recipient: str | None, page: int,
                       per_page: int = 50) -> tuple[list[ErrorNotification], int]:
    """The notification audit trail, newest first, filtered by channel, status and recipient
    (an address, number or name fragment)."""
    stmt = notifications_query(channel or None, status or None)
    if recipient:
        developer_ids = select(Developer.id).where(contains_ci(Developer.name, recipient))
        stmt = stmt.where(contains_ci(ErrorNotification.recipient, recipient)
                          | ErrorNotification.recipient_id.in_(developer_ids))
    return paged(stmt, page, per_page)


def escalations_page(page: int, per_page: int = 50) -> tuple[list[ErrorEscalation], list[ErrorEscalation], int]:
    """Open escalations (the error still open, the escalation not closed) and one page of past ones."""
    is_open = and_(ErrorEscalation.resolved_at.is_(None), ErrorLog.status.in_(OPEN_STATUSES))
    base = select(ErrorEscalation).join(ErrorLog, ErrorLog.id == ErrorEscalation.error_id)
    open_items = list(db.session.execute(
        base.where(is_open).order_by(ErrorEscalation.level.desc(), ErrorEscalation.created_at.desc()).limit(200)
    ).scalars())
    past, total = paged(base.where(~is_open).order_by(ErrorEscalation.created_at.desc(), ErrorEscalation.id.desc()),
                        page, per_page)
    return open_items, past, total
