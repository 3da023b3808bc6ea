"""The JSON API: ingest by service key, everything else by personal token (Bearer)."""
from __future__ import annotations

from flask import Blueprint, g, request

from app.extensions import db
from app.ingest.sources import NORMALISERS
from app.models import Developer, ErrorLog, Service
from app.accounts import developers as accounts
from app.accounts import tokens
from app.notify import delivery
from app.triage import acknowledge, escalation, snooze
from app.reports import discards
from app.reports import errors as queries
from app.reports import events
from app.reports import error_charts, releases
from app.reports import team
from app.triage import changes as triage
from app.triage import deletion
from app.web import schemas
from app.web import schemas_activity, schemas_services
from app.web import serializers as out
from app.web.errors import ApiError, register_json_errors
from app.web.event_file import event_file
from app.web.ingest.common import ingest_json, parse_json_object, read_body, record_response

bp = Blueprint("api", __name__)
register_json_errors(bp)
PUBLIC_ENDPOINTS = {"api.ingest", "api.openapi"}


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send a personal API token as 'Authorization: Bearer <token>'",
                       field="Authorization")
    developer = tokens.developer_for_token(token.strip())
    if developer is None:
        raise ApiError(401, "invalid or revoked API token", field="Authorization")
    g.actor = developer


def _json_body() -> dict:
    # Actions whose fields are all optional (resolve) may be posted without any body at all.
    body = read_body(65536, 65536)
    return parse_json_object(body) if body.strip() else {}


def _error_or_404(error_id: str) -> ErrorLog:
    # Ids are 36-character UUIDs: anything else (too long, a NUL PostgreSQL would refuse) cannot exist.
    error = db.session.get(ErrorLog, error_id) if len(error_id) <= 36 and "\x00" not in error_id else None
    if error is None:
        raise ApiError(404, f"no error with id {error_id}")
    return error


def _developer_or_error(developer_id: int, field: str) -> Developer:
    developer = db.session.get(Developer, developer_id)
    if developer is None:
        raise ApiError(400, f"no developer with id {developer_id}", field=field)
    return developer


def _service_or_404(service_id: int) -> Service:
    service = db.session.get(Service, service_id) if service_id < 2**31 else None
    if service is None:
        raise ApiError(404, f"no service with id {service_id}")
    return service


def _page_args() -> tuple[int, int]:
    return (queries.parse_int_arg(request.args.get("page"), "page", 1, 1, 100000),
            queries.parse_int_arg(request.args.get("per_page"), "per_page", 25, 1, queries.MAX_PER_PAGE))


# --- ingest -----------------------------------------------------------------------------------

@bp.post("/errors/")
def ingest():
    result, _ = ingest_json(NORMALISERS["api"])
    return record_response(result)


# --- errors -----------------------------------------------------------------------------------

@bp.get("/errors/")
def list_errors():
    filters = queries.parse_error_filters(request.args, current_developer_id=g.actor.id)
    errors, total = queries.list_errors(filters)
    return schemas.dump(out.page(schemas.ErrorPage, [out.error_summary(e) for e in errors], total, filters.page,
                                 filters.per_page))


@bp.get("/errors/stats/")
def error_stats():
    hours = queries.parse_int_arg(request.args.get("hours"), "hours", 24, 1, 24 * 90)
    return schemas.dump(schemas.Stats.model_validate(queries.error_stats(hours)))


@bp.get("/errors/critical/")
def critical_errors():
    errors, total = queries.unresolved_critical()
    return schemas.dump(schemas.ErrorList(items=[out.error_summary(e) for e in errors], total=total))


@bp.get("/errors/<error_id>/")
def get_error(error_id: str):
    error = _error_or_404(error_id)
    return schemas.dump(out.error_detail(error, queries.latest_occurrence(error.id)))


@bp.get("/errors/<error_id>/chart/")
def error_chart(error_id: str):
    error = _error_or_404(error_id)
    period = queries.parse_choice_arg(request.args.get("period"), "period", "14d", tuple(error_charts.CHART_PERIODS))
    return schemas.dump(schemas.ErrorChart.model_validate(error_charts.error_chart(error.id, period)))


@bp.get("/errors/<error_id>/occurrences/")
def list_occurrences(error_id: str):
    error = _error_or_404(error_id)
    page, per_page = _page_args()
    items, total = queries.list_occurrences(error.id, page, per_page)
    return schemas.dump(out.page(schemas.OccurrencePage, [out.occurrence(o) for o in items], total, page, per_page))


def _event_or_404(error: ErrorLog, occurrence_id: str):
    occurrence = events.event_of(error, occurrence_id)
    if occurrence is None:
        raise ApiError(404, f"no occurrence with id {occurrence_id[:40]} of error {error.id}")
    return occurrence


@bp.get("/errors/<error_id>/occurrences/<occurrence_id>/")
def get_occurrence(error_id: str, occurrence_id: str):
    error = _error_or_404(error_id)
    return schemas.dump(out.occurrence_in_place(events.place(error, _event_or_404(error, occurrence_id))))


@bp.get("/errors/<error_id>/occurrences/<occurrence_id>/download/")
def download_occurrence(error_id: str, occurrence_id: str):
    error = _error_or_404(error_id)
    return event_file(_event_or_404(error, occurrence_id))


@bp.patch("/errors/<error_id>/")
def update_error(error_id: str):
    error = _error_or_404(error_id)
    change = schemas.read(schemas.ErrorChange, _json_body())
    given = change.model_fields_set
    assignee = triage.KEEP
    if "assigned_to" in given:
        assignee = None if change.assigned_to is None else _developer_or_error(change.assigned_to, "assigned_to")
    try:
        triage.update_error(error, g.actor, assignee=assignee, severity=change.severity, status=change.status,
                            note=change.note)
    except triage.TriageError as exc:
        field = "assigned_to" if exc.field == "developer_id" else exc.field
        raise ApiError(exc.status, exc.message, field=field) from None
    return schemas.dump(out.error_detail(error, queries.latest_occurrence(error.id)))


@bp.delete("/errors/<error_id>/")
def delete_error(error_id: str):
    deletion.delete_error(_error_or_404(error_id), g.actor)
    return "", 204


@bp.post("/errors/<error_id>/resolve/")
def resolve_error(error_id: str):
    error = _error_or_404(error_id)
    body = schemas.read(schemas.Resolution, _json_body())
    triage.resolve_error(error, g.actor, body.note, in_next_release=body.in_next_release)
    return schemas.dump(out.error_detail(error, None))


@bp.post("/errors/<error_id>/snooze/")
def snooze_error(error_id: str):
    error = _error_or_404(error_id)
    body = schemas.read(schemas_services.SnoozeRequest, _json_body())
    snooze.snooze_error(error, g.actor, snooze.read_rule(body.model_dump()))
    return schemas.dump(out.error_detail(error, None))


@bp.post("/errors/<error_id>/unsnooze/")
def unsnooze_error(error_id: str):
    error = _error_or_404(error_id)
    snooze.unsnooze_error(error, g.actor)
    return schemas.dump(out.error_detail(error, None))


@bp.post("/errors/<error_id>/acknowledge/")
def acknowledge_error(error_id: str):
    error = _error_or_404(error_id)
    acknowledge.acknowledge_error(error, g.actor, via="api")
    return schemas.dump(out.error_detail(error, None))


@bp.post("/errors/<error_id>/assign/")
def assign_error(error_id: str):
    error = _error_or_404(error_id)
    body = schemas.read(schemas.Assignment, _json_body())
    target = _developer_or_error(body.developer_id, "developer_id")
    triage.assign_error(error, target, g.actor)
    return schemas.dump(out.error_detail(error, None))


@bp.post("/errors/<error_id>/escalate/")
def escalate_error(error_id: str):
    error = _error_or_404(error_id)
    body = schemas.read(schemas.EscalationRequest, _json_body())
    to = _developer_or_error(body.to, "to") if body.to is not None else None
    record = escalation.escalate_error(error, g.actor, body.reason, to=to)
    return schemas.dump(out.escalation(record)), 201


# --- developers -------------------------------------------------------------------------------

@bp.get("/developers/")
def list_developers():
    developers = db.session.execute(db.select(Developer).order_by(Developer.name)).scalars().all()
    rows = team.team(developers)
    return schemas.dump(out.listing(schemas.DeveloperList,
                                    [out.developer(r["developer"], r) for r in rows]))


@bp.get("/developers/workload/")
def developer_workload():
    return schemas.dump(out.listing(schemas.WorkloadList, team.workload()))


@bp.post("/developers/<int:developer_id>/on-call/")
def set_on_call(developer_id: int):
    developer = db.session.get(Developer, developer_id)
    if developer is None:
        raise ApiError(404, f"no developer with id {developer_id}")
    on_call = schemas.read(schemas.OnCallChange, _json_body()).on_call
    accounts.set_on_call(developer, on_call, g.actor)
    row = team.team([developer])[0]
    return schemas.dump(out.developer(developer, row))


# --- services ---------------------------------------------------------------------------------

@bp.get("/services/<int:service_id>/client-discarded/")
def client_discarded(service_id: int):
    service = db.session.get(Service, service_id) if service_id < 2**31 else None
    if service is None:
        raise ApiError(404, f"no service with id {service_id}")
    days = queries.parse_int_arg(request.args.get("days"), "days", 30, 1, discards.MAX_DAYS)
    return schemas.dump(schemas_services.ClientDiscarded(service=service.slug, **discards.client_discarded(service.id, days)))


# --- patterns and notifications ----------------------------------------------------------------

@bp.get("/patterns/")
def list_patterns():
    page, per_page = _page_args()
    items, total = queries.paged(queries.patterns_query(), page, per_page)
    return schemas.dump(out.page(schemas.PatternPage, [out.pattern(p) for p in items], total, page, per_page))


@bp.get("/notifications/")
def list_notifications():
    page, per_page = _page_args()
    stmt = queries.notifications_query(request.args.get("channel"), request.args.get("status"),
                                       request.args.get("error_id"))
    items, total = queries.paged(stmt, page, per_page)
    return schemas.dump(out.page(schemas_activity.NotificationPage, [out.notification(n, g.actor) for n in items], total,
                                 page, per_page))


@bp.get("/openapi.json")
def openapi():
    from app.web.openapi import openapi_document

    return openapi_document()


# --- services ---------------------------------------------------------------------------------

@bp.get("/services/<int:service_id>/")
def get_service(service_id: int):
    return schemas.dump(out.service(_service_or_404(service_id)))


@bp.get("/services/<int:service_id>/releases/")
def service_releases(service_id: int):
    service = _service_or_404(service_id)
    page, per_page = _page_args()
    rows, total = releases.service_releases(service.id, page, per_page)
    return schemas.dump(out.page(schemas_services.ReleasePage, [out.release(r) for r in rows], total, page, per_page))


@bp.patch("/services/<int:service_id>/")
def update_service(service_id: int):
    service = _service_or_404(service_id)
    body = _json_body()
    unknown = sorted(str(key) for key in body if key != "ingest_settings")
    if unknown:
        raise ApiError(400, f"unknown field '{unknown[0]}'", field=unknown[0])
    if "ingest_settings" not in body:
        raise ApiError(400, "'ingest_settings' is required", field="ingest_settings", code="missing_field")
    try:  # the settings' own rules, the dashboard's form's too (app/ingest/settings.py)
        accounts.update_ingest_settings(service, body["ingest_settings"], g.actor)
    except accounts.AccountError as exc:
        field = exc.field if exc.field in (None, "ingest_settings") else f"ingest_settings.{exc.field}"
        raise ApiError(exc.status, exc.message, field=field) from None
    return schemas.dump(out.service(service))


# --- notification retries and personal tokens --------------------------------------------------

@bp.post("/notifications/<int:notification_id>/retry/")
def retry_notification(notification_id: int):
    return schemas.dump(out.notification(delivery.retry_notification(notification_id, g.actor), g.actor))


@bp.get("/tokens/")
def list_tokens():
    return schemas.dump(out.listing(schemas_activity.TokenList, [out.token(t) for t in tokens.tokens_of(g.actor)]))


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int):
    tokens.revoke_token(tokens.token_for(token_id, g.actor), g.actor)
    return "", 204
