"""The API's answers built from the models: each function fills the pydantic answer model of
app/web/schemas.py, the same class the OpenAPI document's schema of that answer comes from."""
from __future__ import annotations

from app.reports.releases import error_releases
from app.triage import permissions
from app.triage.snoozed import is_snoozed
from app.triage.acknowledge import acknowledgement
from app.web import schemas as s
from app.web import schemas_activity as activity
from app.web import schemas_services


def developer_brief(developer) -> s.DeveloperBrief | None:
    if developer is None:
        return None
    return s.DeveloperBrief(id=developer.id, name=developer.name, email=developer.email)


def _summary_fields(error) -> dict:
    return {
        "error_id": error.id, "service_id": error.service_id, "kind": error.kind,
        "service": error.service.slug if error.service else None,
        "error_type": error.error_type, "message": error.message, "culprit": error.culprit,
        "endpoint": error.endpoint, "severity": error.severity, "status": error.status,
        "resolved": error.resolved, "assigned_to": developer_brief(error.assigned_to),
        "occurrence_count": error.occurrence_count, "users": error.users_count or 0,
        "merged_into": error.merged_into_id, "first_seen": error.first_seen,
        "last_seen": error.last_seen, "environment": error.environment, "release": error.release,
        "platform": error.platform, "regression_count": error.regression_count,
        "snoozed": is_snoozed(error),
    }


def error_summary(error) -> s.ErrorSummary:
    return s.ErrorSummary(**_summary_fields(error))


def error_detail(error, latest) -> s.ErrorDetail:
    ack = acknowledgement(error)
    versions = error_releases(error)
    return s.ErrorDetail(
        **_summary_fields(error),
        fingerprint=error.fingerprint, resolved_at=error.resolved_at,
        resolved_by=developer_brief(error.resolved_by), resolution_note=error.resolution_note,
        assigned_at=error.assigned_at, regressed_at=error.regressed_at, pattern_id=error.pattern_id,
        acknowledged_at=ack.at if ack else None, acknowledged_by=developer_brief(ack.by) if ack else None,
        acknowledgement_holds=bool(ack and ack.holds),
        latest_occurrence=occurrence(latest) if latest else None,
        snooze=s.Snooze(since=error.snoozed_at, until=error.snoozed_until, events=error.snooze_events,
                        wake_at_count=error.snooze_wake_count, per_hour=error.snooze_per_hour)
        if is_snoozed(error) else None,
        first_release=versions.first, last_release=versions.last, resolved_in_release=versions.resolved_in,
    )


def release(row) -> schemas_services.ReleaseItem:
    """A service's release with its new errors and regressions (``app.reports.releases.ReleaseRow``)."""
    return schemas_services.ReleaseItem(id=row.release.id, version=row.release.version, first_seen=row.release.first_seen,
                         new_error_count=row.new_count, new_errors=[error_summary(e) for e in row.new_errors],
                         regression_count=row.regression_count,
                         regressions=[error_summary(e) for e in row.regressions])


def occurrence(occ) -> s.Occurrence:
    return s.Occurrence(**_occurrence_fields(occ))


def _occurrence_fields(occ) -> dict:
    exceptions = occ.exceptions or []
    return dict(
        occurrence_id=occ.id, error_id=occ.error_id, source=occ.source, timestamp=occ.timestamp,
        received_at=occ.received_at, message=occ.message, severity=occ.severity, exceptions=exceptions,
        frames=exceptions[-1]["frames"] if exceptions else [],
        stack_trace=occ.stack_trace, user=occ.user, request=occ.request, tags=occ.tags or {},
        extra=occ.extra or {}, environment=occ.environment, release=occ.release,
        server_name=occ.server_name, endpoint=occ.endpoint,
    )


def occurrence_in_place(where) -> s.OccurrenceInPlace:
    """An event with its place among its error's events (app/reports/events.py)."""
    return s.OccurrenceInPlace(
        **_occurrence_fields(where.occurrence), position=where.number, total=where.total,
        first_id=where.first_id, previous_id=where.previous_id, next_id=where.next_id, latest_id=where.latest_id)


def developer(dev, row: dict) -> s.Developer:
    """A developer with their ``app.reports.team.team`` row (load, on-call state)."""
    return s.Developer(
        id=dev.id, name=dev.name, email=dev.email, phone=dev.phone, role=dev.role,
        on_call=row["switched_on"], on_call_now=row["on_call"], current_load=row["load"],
        max_load=dev.max_load, active=dev.active,
        slack_member_id=dev.slack_member_id, services=[svc.slug for svc in dev.services],
    )


def pattern(p) -> s.Pattern:
    return s.Pattern(
        id=p.id, error_type=p.error_type, normalised_message=p.normalised_message,
        occurrence_count=p.occurrence_count, error_count=p.error_count,
        affected_services=p.affected_services or [], common_endpoints=p.common_endpoints or [],
        severity_distribution=p.severity_distribution or {}, first_occurrence=p.first_occurrence,
        last_occurrence=p.last_occurrence, detected_at=p.detected_at, trend=p.trend,
        last_24h=p.last_24h, previous_24h=p.previous_24h,
    )


def notification(n, actor) -> activity.Notification:
    """A delivery with its tries; the receivers' own words only for an ``actor`` who may see them."""
    shows_answers = permissions.can_see_receiver_answer(actor, n)
    return activity.Notification(
        id=n.id, error_id=n.error_id, recipient_id=n.recipient_id, recipient=n.recipient,
        channel=n.channel, event=n.event, status=n.status, subject=n.subject,
        retry_count=n.retry_count, next_retry_at=n.next_retry_at, last_error=n.last_error,
        created_at=n.created_at, sent_at=n.sent_at,
        attempts=[activity.NotificationAttempt(number=a.number, attempted_at=a.attempted_at, outcome=a.outcome,
                                        answer_status=a.answer_status, reason=a.reason,
                                        answer=a.answer if shows_answers else None) for a in n.attempts],
    )


def escalation(e) -> activity.Escalation:
    return activity.Escalation(
        id=e.id, error_id=e.error_id, level=e.level, reason=e.reason, automatic=e.automatic,
        escalated_from=developer_brief(e.escalated_from), escalated_to=developer_brief(e.escalated_to),
        created_at=e.created_at,
    )


def token(row) -> activity.Token:
    # Never the secret: only its hash is stored, and it was shown once when it was created.
    return activity.Token(id=row.id, name=row.name, created_at=row.created_at, last_used_at=row.last_used_at,
                   revoked_at=row.revoked_at)


def page(model, items: list, total: int, page_number: int, per_page: int):
    """One page of ``items`` as the page model ``model`` (``schemas.ErrorPage``, ...)."""
    return model(items=items, total=total, page=page_number, per_page=per_page)


def listing(model, items: list):
    """A short list, every item in it (``schemas.DeveloperList``, ...)."""
    return model(items=items, total=len(items))


def service(row) -> schemas_services.Service:
    from app.ingest.settings import stored_settings

    return schemas_services.Service(
        id=row.id, name=row.name, slug=row.slug, platform=row.platform, active=row.active,
        ingest_settings=schemas_services.IngestSettings(**stored_settings(row.ingest_settings).as_json()))
