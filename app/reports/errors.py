"""Read-side queries shared by the JSON API and the dashboard."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    KINDS, MERGED_KIND, OPEN_STATUSES, SEVERITIES, SEVERITY_LEVEL, STATUSES, ErrorLog, ErrorNotification, ErrorOccurrence,
    ErrorPattern, Service, ServiceHourlyCount,
)
from app.models.types import utcnow
from app.platform.sql import seconds_between
from app.platform.refusal import Refused
from app.reports import hourly, search
from app.triage.snoozed import snoozed_clause
from app.reports.events import latest as latest_occurrence  # noqa: F401  (one order of events)

MAX_PER_PAGE = 100
SORTS = {
    "last_seen": ErrorLog.last_seen, "first_seen": ErrorLog.first_seen,
    "occurrences": ErrorLog.occurrence_count, "severity": ErrorLog.severity_level, "users": ErrorLog.users_count,
}


class QueryError(Refused):
    """A filter or page parameter that cannot be read."""


@dataclass
class ErrorFilters:
    """The filters of the error list, parsed and validated from query parameters. ``kind`` is
    ``error`` unless asked: security reports are listed on their own (``kind=security``, or ``all``)."""

    kind: str = "error"
    service_ids: list[int] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    assigned_to: int | None = None
    unassigned: bool = False
    environment: str | None = None
    q: str | None = None
    terms: list[search.Term] = field(default_factory=list)  # q, parsed (app/reports/search.py)
    conditions: list = field(default_factory=list)  # the terms' SQL conditions
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    first_seen_since: dt.datetime | None = None
    first_seen_until: dt.datetime | None = None
    sort: str = "-last_seen"
    hide_snoozed: bool = False  # the default status filter leaves snoozed errors out (``is:snoozed`` lists them)
    page: int = 1
    per_page: int = 25


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_int_arg(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise QueryError(f"'{name}' must be a whole number", name) from None
    if not low <= number <= high:
        raise QueryError(f"'{name}' must be between {low} and {high}", name)
    return number


def parse_choice_arg(value: str | None, name: str, default: str, choices) -> str:
    if value in (None, ""):
        return default
    if value not in choices:
        raise QueryError(f"'{name}' must be one of {', '.join(choices)}", name)
    return value


def _time_arg(value: str | None) -> str | None:
    # An unencoded "+02:00" in a query string arrives as " 02:00": read it as the offset it was.
    if value and "T" in value and " " in value.partition("T")[2]:
        return value.replace(" ", "+")
    return value


def parse_error_filters(args, *, current_developer_id: int | None = None,
                        default_status: str | None = None) -> ErrorFilters:
    """Read filters from a query-string mapping; raises QueryError naming the bad parameter (a bad
    search is a ``search.SearchError``, a QueryError naming ``q``). ``default_status`` applies when
    neither ``status`` nor an ``is:`` status term of the search chooses statuses (the dashboard's open
    errors, snoozed ones left out)."""
    from app.ingest.incoming import InvalidPayload, parse_timestamp, strip_nul

    # PostgreSQL refuses NUL in any text parameter; it can never match anything stored.
    args = {name: strip_nul(value) for name, value in args.items() if isinstance(value, str)}
    filters = ErrorFilters()
    kind = (args.get("kind") or "error").strip()
    if kind not in KINDS and kind != "all":
        raise QueryError(f"kind must be among {', '.join(KINDS)} or all", "kind")
    filters.kind = kind
    for token in _csv(args.get("service")):
        service_id = search.service_id(token)
        if service_id is None:
            raise QueryError(f"unknown service {token!r}", "service")
        filters.service_ids.append(service_id)
    filters.severities = _csv(args.get("severity"))
    for severity in filters.severities:
        if severity not in SEVERITIES:
            raise QueryError(f"severity must be among {', '.join(SEVERITIES)}", "severity")
    filters.q = (args.get("q") or "").strip() or None
    try:
        filters.terms = search.parse_search(filters.q)
        filters.conditions = search.search_conditions(filters.terms, current_developer_id=current_developer_id)
    except search.SearchError as exc:
        raise QueryError(exc.message, "q") from None
    filters.statuses = _csv(args.get("status"))
    if "status" not in args and default_status and not search.sets_status(filters.terms):
        filters.statuses = [default_status]
        filters.hide_snoozed = True
    for status in filters.statuses:
        if status not in STATUSES and status != "open":
            raise QueryError(f"status must be among {', '.join(STATUSES)} or open", "status")
    assigned = (args.get("assigned_to") or "").strip()
    if assigned in ("none", "unassigned"):
        filters.unassigned = True
    elif assigned == "me" and current_developer_id is not None:
        filters.assigned_to = current_developer_id
    elif assigned:
        filters.assigned_to = parse_int_arg(assigned, "assigned_to", 0, 1, 2**31)
    filters.environment = (args.get("environment") or "").strip() or None
    try:
        filters.since = parse_timestamp(_time_arg(args.get("since")), "since")
        filters.until = parse_timestamp(_time_arg(args.get("until")), "until")
        filters.first_seen_since = parse_timestamp(_time_arg(args.get("first_seen_since")), "first_seen_since")
        filters.first_seen_until = parse_timestamp(_time_arg(args.get("first_seen_until")), "first_seen_until")
    except InvalidPayload as exc:
        raise QueryError(exc.message, exc.field or "since") from None
    sort = (args.get("sort") or "-last_seen").strip()
    if sort.removeprefix("-") not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)} (prefix - for descending)", "sort")
    filters.sort = sort
    filters.page = parse_int_arg(args.get("page"), "page", 1, 1, 100000)
    filters.per_page = parse_int_arg(args.get("per_page"), "per_page", 25, 1, MAX_PER_PAGE)
    return filters


def _filtered(stmt, filters: ErrorFilters):
    if filters.kind != "all":
        stmt = stmt.where(ErrorLog.kind == filters.kind)
    else:  # an error merged into another is listed as that one (app/triage/merge.py)
        stmt = stmt.where(ErrorLog.kind != MERGED_KIND)
    if filters.service_ids:
        stmt = stmt.where(ErrorLog.service_id.in_(filters.service_ids))
    if filters.severities:
        # The level, not the name: it is the indexed column (and always agrees with the name).
        stmt = stmt.where(ErrorLog.severity_level.in_(sorted(SEVERITY_LEVEL[s] for s in filters.severities)))
    if filters.statuses:
        statuses = set(filters.statuses)
        if "open" in statuses:
            statuses.discard("open")
            statuses.update(OPEN_STATUSES)
        stmt = stmt.where(ErrorLog.status.in_(sorted(statuses)))
    if filters.hide_snoozed:
        stmt = stmt.where(~snoozed_clause())
    if filters.unassigned:
        stmt = stmt.where(ErrorLog.assigned_to_id.is_(None))
    elif filters.assigned_to is not None:
        stmt = stmt.where(ErrorLog.assigned_to_id == filters.assigned_to)
    if filters.environment:
        stmt = stmt.where(search.environment_condition(filters.environment))
    if filters.conditions:
        stmt = stmt.where(*filters.conditions)
    if filters.since:
        stmt = stmt.where(ErrorLog.last_seen >= filters.since)
    if filters.until:
        stmt = stmt.where(ErrorLog.last_seen <= filters.until)
    if filters.first_seen_since:
        stmt = stmt.where(ErrorLog.first_seen >= filters.first_seen_since)
    if filters.first_seen_until:
        stmt = stmt.where(ErrorLog.first_seen <= filters.first_seen_until)
    return stmt


def list_errors(filters: ErrorFilters) -> tuple[list[ErrorLog], int]:
    """One page of errors and the total that match."""
    total = db.session.execute(_filtered(select(func.count()).select_from(ErrorLog), filters)).scalar_one()
    column = SORTS[filters.sort.removeprefix("-")]
    order = column.desc() if filters.sort.startswith("-") else column.asc()
    # Each item shows its service and assignee: load them with the page, not one query per row.
    stmt = (_filtered(select(ErrorLog), filters).order_by(order, ErrorLog.id)
            .options(selectinload(ErrorLog.service), selectinload(ErrorLog.assigned_to))
            .offset((filters.page - 1) * filters.per_page).limit(filters.per_page))
    return list(db.session.execute(stmt).scalars()), total


def list_occurrences(error_id: str, page: int, per_page: int) -> tuple[list[ErrorOccurrence], int]:
    total = db.session.execute(
        select(func.count()).select_from(ErrorOccurrence).where(ErrorOccurrence.error_id == error_id)
    ).scalar_one()
    rows = db.session.execute(
        select(ErrorOccurrence).where(ErrorOccurrence.error_id == error_id)
        .order_by(ErrorOccurrence.timestamp.desc(), ErrorOccurrence.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return list(rows), total


def occurrences_page(error: ErrorLog, page: int, per_page: int) -> tuple[list[ErrorOccurrence], bool]:
    """One page of an error's events, newest first, and whether an older page follows: the
    dashboard's list, which counts nothing (the error's ``occurrence_count`` says how many)."""
    rows = list(db.session.execute(
        select(ErrorOccurrence).where(ErrorOccurrence.error_id == error.id)
        .order_by(ErrorOccurrence.timestamp.desc(), ErrorOccurrence.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)
    ).scalars())
    return rows[:per_page], len(rows) > per_page


def error_stats(hours: int = 24) -> dict:
    """Totals by severity, status and service; occurrences per hour over the window; mean time to resolve."""
    since = utcnow() - dt.timedelta(hours=hours)
    # An error merged into another is counted as that one (app/triage/merge.py).
    listed = ErrorLog.kind != MERGED_KIND
    by_severity = dict(db.session.execute(select(ErrorLog.severity, func.count()).where(listed)
                                          .group_by(ErrorLog.severity)).all())
    by_status = dict(db.session.execute(select(ErrorLog.status, func.count()).where(listed)
                                        .group_by(ErrorLog.status)).all())
    by_service = [
        {"service_id": sid, "service": slug, "errors": count, "open": open_count or 0}
        for sid, slug, count, open_count in db.session.execute(
            select(Service.id, Service.slug, func.count(ErrorLog.id),
                   func.sum(func.cast(ErrorLog.status.in_(OPEN_STATUSES), db.Integer)))
            .join(ErrorLog, ErrorLog.service_id == Service.id).where(listed).group_by(Service.id, Service.slug)
            .order_by(func.count(ErrorLog.id).desc())
        ).all()
    ]
    # Whole hours from the rollups (app/reports/hourly.py): the hours starting in the window.
    rows = ServiceHourlyCount
    per_hour = [
        {"hour": f"{hour:%Y-%m-%dT%H:00}", "occurrences": int(count)}
        for hour, count in db.session.execute(
            select(rows.hour, func.sum(rows.events)).where(hourly.in_window(rows, since))
            .group_by(rows.hour).order_by(rows.hour)
        ).all()
    ]
    mean_resolution = db.session.execute(
        select(func.avg(seconds_between(ErrorLog.resolved_at, ErrorLog.first_seen)))
        .where(ErrorLog.resolved_at.is_not(None))
    ).scalar()
    return {
        "total": sum(by_severity.values()),
        "open": sum(count for status, count in by_status.items() if status in OPEN_STATUSES),
        "by_severity": {s: by_severity.get(s, 0) for s in reversed(SEVERITIES)},
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "by_service": by_service,
        "window_hours": hours,
        "occurrences_per_hour": per_hour,
        "avg_resolution_seconds": round(float(mean_resolution), 1) if mean_resolution is not None else None,
    }


CRITICAL_LISTED = 500


def unresolved_critical(limit: int = CRITICAL_LISTED) -> tuple[list[ErrorLog], int]:
    """The open critical errors, most recently seen first, at most ``limit`` of them, and how many there
    are in all (like every other list, the total counts the matches, not the rows listed)."""
    stmt = (select(ErrorLog).where(ErrorLog.severity_level == SEVERITY_LEVEL["critical"],
                                   ErrorLog.status.in_(OPEN_STATUSES), ErrorLog.kind == "error")
            .order_by(ErrorLog.last_seen.desc(), ErrorLog.id)
            .options(selectinload(ErrorLog.service), selectinload(ErrorLog.assigned_to)))
    return paged(stmt, 1, limit)


def paged(stmt, page: int, per_page: int) -> tuple[list, int]:
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    items = list(db.session.execute(stmt.offset((page - 1) * per_page).limit(per_page)).scalars())
    return items, total


def patterns_query():
    return select(ErrorPattern).order_by(ErrorPattern.last_occurrence.desc().nullslast(), ErrorPattern.id)


def notifications_query(channel: str | None = None, status: str | None = None, error_id: str | None = None):
    from app.ingest.incoming import strip_nul

    channel, status, error_id = (strip_nul(v) if v else v for v in (channel, status, error_id))
    stmt = (select(ErrorNotification).options(selectinload(ErrorNotification.attempts))
            .order_by(ErrorNotification.created_at.desc(), ErrorNotification.id.desc()))
    if channel:
        stmt = stmt.where(ErrorNotification.channel == channel)
    if status:
        stmt = stmt.where(ErrorNotification.status == status)
    if error_id:
        stmt = stmt.where(ErrorNotification.error_id == error_id)
    return stmt
