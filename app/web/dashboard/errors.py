"""The error list (filters in the URL; its bulk actions: error_bulk.py) and the error detail with its triage
forms."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import SEVERITIES, STATUSES, Developer, Service
from app.models.types import utcnow
from app.reports import activity
from app.reports import events
from app.reports import overview as dashboard
from app.reports import team as team_view
from app.triage import acknowledge as acknowledgements
from app.triage import deletion, escalation, snooze
from app.triage import permissions
from app.reports import errors as queries
from app.reports import error_charts, releases, search
from app.triage import changes as triage
from app.web.dashboard import error_details
from app.web.dashboard.base import bp
from app.web.event_file import event_file
from app.web.dashboard.common import (
    actor, error_or_404, form_int, fragment, htmx_target, is_htmx, page_arg, page_or_fragment, refuse,
    refuse_because,
)

RANGES = {"1h": dt.timedelta(hours=1), "24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7),
          "30d": dt.timedelta(days=30)}
OCCURRENCES_PER_PAGE = 10


# --- the list ------------------------------------------------------------------------------------

def _filter_args(args: MultiDict) -> MultiDict:
    """The list's URL parameters in the form ``parse_error_filters`` reads: a relative time range
    becomes ``since`` (``range``, by last seen) or ``first_seen_since`` (``first_seen``), so a bookmarked
    view stays relative; no status (the form's default) leaves the open errors to ``parse_error_filters``,
    unless the search chooses statuses (``is:resolved``)."""
    parsed = MultiDict(args)
    status = (parsed.get("status") or "").strip()
    if not status:
        parsed.pop("status", None)
    elif status == "all":
        parsed["status"] = ""
    window = parsed.get("range")
    if window in RANGES:
        parsed["since"] = (utcnow() - RANGES[window]).isoformat()
    first = parsed.get("first_seen")
    if first in RANGES:
        parsed["first_seen_since"] = (utcnow() - RANGES[first]).isoformat()
    return parsed


def _list_context(args: MultiDict, endpoint: str = "dashboard.errors") -> tuple[dict, int]:
    user = actor()
    problem, status = None, 200
    try:
        filters = queries.parse_error_filters(_filter_args(args), current_developer_id=user.id,
                                              default_status="open")
        errors, total = queries.list_errors(filters)
    except queries.QueryError as exc:
        filters, errors, total = queries.ErrorFilters(), [], 0
        problem, status = f"{exc.message} (filter '{exc.field}')", 400
    current = {key: value for key, value in args.items() if value not in ("", None)}
    pages = max(1, -(-total // filters.per_page))

    def link(**changes) -> str:
        merged = {**current, **changes}
        if "page" not in changes:
            merged.pop("page", None)
        return url_for(endpoint, **{k: v for k, v in merged.items() if v not in ("", None)})

    context = {
        "errors": errors, "total": total, "filters": filters, "args": current, "problem": problem,
        "page": filters.page, "pages": pages, "link": link,
        "services": db.session.execute(select(Service).order_by(Service.name)).scalars().all(),
        "developers": db.session.execute(
            select(Developer).where(Developer.active.is_(True)).order_by(Developer.name)).scalars().all(),
        "environments": dashboard.environments(),
        "severities": list(reversed(SEVERITIES)), "statuses": STATUSES, "ranges": list(RANGES),
        "sorts": queries.SORTS, "list_url": link(page=filters.page if filters.page > 1 else None),
        "list_endpoint": endpoint, "kind": filters.kind, "search_sets_status": search.sets_status(filters.terms),
        "snooze_choices": snooze.CHOICES,
        "sparklines": error_charts.sparklines([e.id for e in errors]), "points": dashboard.sparkline_points,
    }
    return context, status


@bp.get("/errors")
def errors():
    context, status = _list_context(request.args)
    response = page_or_fragment("dashboard/errors.html", "partials/_error_table.html", "error-table", **context)
    response.status_code = status
    return response


@bp.get("/security")
def security():
    """Browsers' security reports (CSP violations): the error list of kind ``security``."""
    context = list_context_of(request.full_path)
    status = 400 if context["problem"] else 200
    response = page_or_fragment("dashboard/errors.html", "partials/_error_table.html", "error-table", **context)
    response.status_code = status
    return response


def list_context_of(url: str) -> dict:
    """The list context of the page a bulk form came from (the error list or the security list)."""
    parts = urlsplit(url)
    args = MultiDict(parse_qsl(parts.query, keep_blank_values=True))
    if parts.path == url_for("dashboard.security"):
        args["kind"] = "security"
        context, _ = _list_context(args, "dashboard.security")
        context["args"].pop("kind", None)
        return context
    return _list_context(args)[0]


# --- one error -----------------------------------------------------------------------------------

def _event_or_404(error, occurrence_id: str):
    occurrence = events.event_of(error, occurrence_id)
    if occurrence is None:
        abort(404, description=f"No event with id {occurrence_id[:40]} of this error.")
    return occurrence


def _triage_context(error, problem: str | None = None) -> dict:
    user = actor()
    return {
        "error": error, "problem": problem,
        "can_work": permissions.can_work_on(user, error),
        "can_assign_others": permissions.can_assign_others(user),
        "can_escalate": permissions.can_escalate(user, error),
        "can_acknowledge": permissions.can_acknowledge(user, error),
        "acknowledgement": acknowledgements.acknowledgement(error),
        "can_direct_escalations": permissions.can_direct_escalations(user),
        "assignable": team_view.assignable_developers(error) if permissions.can_assign_others(user) else [],
        "statuses": [s for s in STATUSES if s != "resolved"], "severities": list(reversed(SEVERITIES)),
        "timeline": activity.timeline(error), "escalations": activity.escalations_of(error.id),
        "snooze_choices": snooze.CHOICES, "snooze_wakes": snooze.wakes(error),
        "releases": releases.error_releases(error),
    }


def _occurrences_context(error, page: int) -> dict:
    items, more = queries.occurrences_page(error, page, OCCURRENCES_PER_PAGE)
    pages = max(page + 1 if more else page, -(-(error.occurrence_count or 0) // OCCURRENCES_PER_PAGE))
    return {"occurrences": items, "occurrences_more": more, "occurrences_page": page, "occurrences_pages": pages}


def _chart_context(error, period: str | None) -> dict:
    """The error's chart over the chosen period (``?chart=24h|14d|90d``; 14 days unless chosen)."""
    period = period if period in error_charts.CHART_PERIODS else "14d"
    return {"chart": error_charts.error_chart(error.id, period), "chart_words": error_charts.CHART_WORDS}


def _detail_context(error, occurrence=None, problem: str | None = None) -> dict:
    occurrence = occurrence or events.latest(error.id)
    notifications = db.session.execute(
        queries.notifications_query(error_id=error.id).limit(50)).scalars().all()
    context = {
        "occurrence": occurrence, "place": events.place(error, occurrence) if occurrence else None,
        **_chart_context(error, request.args.get("chart")),
        "notifications": notifications,
        "can_retry": permissions.can_retry_notifications(actor()),
        "pattern": None,
    }
    if error.pattern_id:
        from app.models import ErrorPattern

        context["pattern"] = db.session.get(ErrorPattern, error.pattern_id)
    context.update(_triage_context(error, problem))
    context.update(_occurrences_context(error, 1))
    context.update(error_details.details_context(error))
    return context


@bp.get("/errors/<error_id>")
def error_detail(error_id: str):
    error = error_or_404(error_id)
    chosen = events.event_of(error, request.args.get("occurrence") or "")
    if chosen is not None:  # the older form of an event's link (an unknown event: the latest)
        return redirect(url_for("dashboard.error_event", error_id=error.id, occurrence_id=chosen.id), code=301)
    return render_template("dashboard/error_detail.html", **_detail_context(error))


@bp.get("/errors/<error_id>/events/<occurrence_id>")
def error_event(error_id: str, occurrence_id: str):
    """One event of the error, with the links to the first, older, newer and latest events."""
    error = error_or_404(error_id)
    return render_template("dashboard/error_detail.html", **_detail_context(error, _event_or_404(error, occurrence_id)))


@bp.get("/errors/<error_id>/events/<occurrence_id>/download")
def download_event(error_id: str, occurrence_id: str):
    error = error_or_404(error_id)
    return event_file(_event_or_404(error, occurrence_id))


@bp.get("/errors/<error_id>/chart")
def error_chart(error_id: str):
    """The chart alone, for the period links (HTMX swaps it in place; without JavaScript they reload the page)."""
    error = error_or_404(error_id)
    return fragment("partials/_error_chart.html", error=error, **_chart_context(error, request.args.get("period")))


@bp.get("/errors/<error_id>/occurrences")
def error_occurrences(error_id: str):
    error = error_or_404(error_id)
    page = page_arg()
    return fragment("partials/_occurrences.html", error=error, **_occurrences_context(error, page))


def _triage_answer(error, message: str, status: int = 200):
    """The answer to a triage form: the updated panel (HTMX) or a redirect back to the error."""
    if status >= 400:
        db.session.rollback()
        db.session.refresh(error)
        if is_htmx() and htmx_target() == "triage":
            return fragment("partials/_triage_response.html", status=status, **_triage_context(error, message))
        flash(message, "error")
        return fragment("dashboard/error_detail.html", status=status, **_detail_context(error, problem=message))
    flash(message, "ok")
    if is_htmx() and htmx_target() == "triage":
        return fragment("partials/_triage_response.html", **_triage_context(error))
    return redirect(url_for("dashboard.error_detail", error_id=error.id), code=303)


def _triage(error, call, success: str):
    try:
        call()
    except triage.TriageError as exc:
        return _triage_answer(error, exc.message, exc.status)
    return _triage_answer(error, success)


@bp.post("/errors/<error_id>/assign")
def assign(error_id: str):
    error = error_or_404(error_id)
    user = actor()
    value = (request.form.get("developer_id") or "").strip()
    if value == "me":
        target = user
    elif value in ("", "none"):
        target = None
    else:
        target = db.session.get(Developer, form_int("developer_id"))
        if target is None:
            return _triage_answer(error, "No such developer.", 400)
    label = f"Assigned to {target.name}." if target else "Unassigned."
    return _triage(error, lambda: triage.assign_error(error, target, user, reason=request.form.get("reason")), label)


@bp.post("/errors/<error_id>/status")
def change_status(error_id: str):
    error = error_or_404(error_id)
    status = request.form.get("status", "")
    return _triage(error, lambda: triage.set_status(error, status, actor(), request.form.get("note")),
                   f"Status set to {status.replace('_', ' ')}.")


@bp.post("/errors/<error_id>/severity")
def change_severity(error_id: str):
    error = error_or_404(error_id)
    severity = request.form.get("severity", "")
    return _triage(error, lambda: triage.set_severity(error, severity, actor()), f"Severity set to {severity}.")


@bp.post("/errors/<error_id>/resolve")
def resolve(error_id: str):
    error = error_or_404(error_id)
    in_next = bool(request.form.get("in_next_release"))
    return _triage(error, lambda: triage.resolve_error(error, actor(), request.form.get("note"), in_next_release=in_next),
                   "Resolved until a newer release." if in_next else "Resolved.")


@bp.post("/errors/<error_id>/snooze")
def snooze_error(error_id: str):
    error = error_or_404(error_id)
    return _triage(error, lambda: snooze.snooze_error(error, actor(), snooze.read_rule(request.form)), "Snoozed.")


@bp.post("/errors/<error_id>/unsnooze")
def unsnooze(error_id: str):
    error = error_or_404(error_id)
    return _triage(error, lambda: snooze.unsnooze_error(error, actor()), "Unsnoozed.")


@bp.post("/errors/<error_id>/acknowledge")
def acknowledge(error_id: str):
    error = error_or_404(error_id)
    return _triage(error, lambda: acknowledgements.acknowledge_error(error, actor(), via="dashboard"),
                   "Acknowledged: the escalation waits.")


@bp.post("/errors/<error_id>/escalate")
def escalate(error_id: str):
    error = error_or_404(error_id)
    user = actor()
    to = None
    if request.form.get("to"):
        to = db.session.get(Developer, form_int("to"))
        if to is None:
            return _triage_answer(error, "No such developer.", 400)
    return _triage(error, lambda: escalation.escalate_error(error, user, request.form.get("reason", ""), to=to),
                   "Escalated.")


@bp.get("/errors/<error_id>/delete")
def confirm_delete(error_id: str):
    """The confirmation step of a deletion: what goes, and the button that does it (admins only)."""
    error = error_or_404(error_id)
    if not permissions.can_delete_errors(actor()):
        refuse("Only admins may delete errors.")
    return render_template("dashboard/error_delete.html", error=error, summary=deletion.deletion_summary(error))


@bp.post("/errors/<error_id>/delete")
def delete_error(error_id: str):
    error = error_or_404(error_id)
    if request.form.get("confirm") != "delete":
        abort(400, description="Confirm the deletion on its page first.")
    try:
        summary = deletion.delete_error(error, actor())
    except triage.TriageError as exc:
        refuse_because(exc)
    count = summary["occurrence_count"]
    flash(f"Deleted {summary['error_type']} and its {count:,} event{'s' if count != 1 else ''}.", "ok")
    return redirect(url_for("dashboard.errors"), code=303)
