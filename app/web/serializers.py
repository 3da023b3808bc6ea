"""JSON representations of the models, shared by the API views."""
from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def developer_brief(developer) -> dict | None:
    if developer is None:
        return None
    return {"id": developer.id, "name": developer.name, "email": developer.email}


def error_summary(error) -> dict:
    return {
        "error_id": error.id, "service_id": error.service_id,
        "service": error.service.slug if error.service else None,
        "error_type": error.error_type, "message": error.message, "culprit": error.culprit,
        "endpoint": error.endpoint, "severity": error.severity, "status": error.status,
        "resolved": error.resolved, "assigned_to": developer_brief(error.assigned_to),
        "occurrence_count": error.occurrence_count, "first_seen": iso(error.first_seen),
        "last_seen": iso(error.last_seen), "environment": error.environment, "release": error.release,
        "platform": error.platform, "regression_count": error.regression_count,
    }


def error_detail(error, latest) -> dict:
    body = error_summary(error)
    body.update({
        "fingerprint": error.fingerprint, "resolved_at": iso(error.resolved_at),
        "resolved_by": developer_brief(error.resolved_by), "resolution_note": error.resolution_note,
        "assigned_at": iso(error.assigned_at), "regressed_at": iso(error.regressed_at),
        "pattern_id": error.pattern_id,
        "latest_occurrence": occurrence(latest) if latest else None,
    })
    return body


def occurrence(occ) -> dict:
    exceptions = occ.exceptions or []
    return {
        "occurrence_id": occ.id, "error_id": occ.error_id, "source": occ.source,
        "timestamp": iso(occ.timestamp), "received_at": iso(occ.received_at), "message": occ.message,
        "severity": occ.severity, "exceptions": exceptions,
        "frames": exceptions[-1]["frames"] if exceptions else [],
        "stack_trace": occ.stack_trace, "user": occ.user, "request": occ.request, "tags": occ.tags or {},
        "extra": occ.extra or {}, "environment": occ.environment, "release": occ.release,
        "server_name": occ.server_name, "endpoint": occ.endpoint,
    }


def developer(dev, load: int | None = None, on_call_now: bool | None = None) -> dict:
    return {
        "id": dev.id, "name": dev.name, "email": dev.email, "phone": dev.phone, "role": dev.role,
        "on_call": dev.on_call, "on_call_now": dev.on_call if on_call_now is None else on_call_now,
        "max_load": dev.max_load, "current_load": load, "active": dev.active,
        "slack_member_id": dev.slack_member_id, "services": [s.slug for s in dev.services],
    }


def pattern(p) -> dict:
    return {
        "id": p.id, "error_type": p.error_type, "normalised_message": p.normalised_message,
        "occurrence_count": p.occurrence_count, "error_count": p.error_count,
        "affected_services": p.affected_services or [], "common_endpoints": p.common_endpoints or [],
        "severity_distribution": p.severity_distribution or {}, "first_occurrence": iso(p.first_occurrence),
        "last_occurrence": iso(p.last_occurrence), "detected_at": iso(p.detected_at), "trend": p.trend,
        "last_24h": p.last_24h, "previous_24h": p.previous_24h,
    }


def notification(n) -> dict:
    return {
        "id": n.id, "error_id": n.error_id, "recipient_id": n.recipient_id, "recipient": n.recipient,
        "channel": n.channel, "event": n.event, "status": n.status, "subject": n.subject,
        "retry_count": n.retry_count, "next_retry_at": iso(n.next_retry_at), "last_error": n.last_error,
        "created_at": iso(n.created_at), "sent_at": iso(n.sent_at),
    }


def escalation(e) -> dict:
    return {
        "id": e.id, "error_id": e.error_id, "level": e.level, "reason": e.reason, "automatic": e.automatic,
        "escalated_from": developer_brief(e.escalated_from), "escalated_to": developer_brief(e.escalated_to),
        "created_at": iso(e.created_at),
    }


def page(items: list, total: int, page_number: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page_number, "per_page": per_page}
