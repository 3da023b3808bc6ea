"""The error list's bulk actions: assign, resolve, ignore, snooze or merge the checked errors. The rules are
app/triage (changes.py, snooze.py, merge.py), which the JSON API calls too."""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from app.extensions import db
from app.models import Developer
from app.triage import changes as triage
from app.triage import permissions, snooze
from app.triage.snoozed import is_snoozed
from app.web.dashboard import error_details
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, error_or_404, form_int, fragment, is_htmx, looks_like_id, safe_back
from app.web.dashboard.errors import list_context_of

BULK_ACTIONS = ("assign", "resolve", "ignore", "snooze", "merge")


@bp.post("/errors/bulk")
def bulk_errors():
    """Assign, resolve, ignore or snooze the checked errors. Every error is checked first: if the role does
    not allow the action on one of them, the answer is 403 and none changes."""
    user = actor()
    back = safe_back(request.form.get("next"), url_for("dashboard.errors"))
    action = request.form.get("action", "")
    ids = [i for i in request.form.getlist("error_id") if i][:500]
    if not all(looks_like_id(i) for i in ids):
        return _bulk_answer(back, "Unknown error ids.", "error", 400)
    if action not in BULK_ACTIONS:
        return _bulk_answer(back, f"Choose an action: {', '.join(BULK_ACTIONS)}.", "error", 400)
    if not ids:
        return _bulk_answer(back, "Select at least one error.", "error", 400)
    chosen = [error_or_404(i) for i in dict.fromkeys(ids)]
    target = rule = None
    if action == "snooze":
        try:
            rule = snooze.read_rule({"minutes": request.form.get("minutes")})
        except triage.TriageError as exc:
            return _bulk_answer(back, f"{exc.message}.", "error", exc.status)
    if action == "assign":
        developer_id = (request.form.get("developer_id") or "").strip()
        target = user if developer_id == "me" else (
            db.session.get(Developer, form_int("developer_id")) if developer_id else None)
        if target is None:
            return _bulk_answer(back, "Choose whom to assign the errors to.", "error", 400)
        refused = [e for e in chosen if not permissions.can_assign(user, e, target)]
    else:
        refused = [e for e in chosen if not permissions.can_work_on(user, e)]
    if refused:
        return _bulk_answer(back, f"Not allowed: {len(refused)} of the selected errors are assigned to someone "
                                  "else. Nothing was changed.", "error", 403)
    if action == "merge":
        return _bulk_merge(back, chosen)
    changed = 0
    try:
        for error in chosen:
            if action == "assign":
                if error.assigned_to_id != target.id:
                    triage.assign_error(error, target, user)
                    changed += 1
            elif action == "resolve":
                if error.status != "resolved":
                    triage.resolve_error(error, user, request.form.get("note"))
                    changed += 1
            elif action == "snooze":
                if error.is_open and not is_snoozed(error):
                    snooze.snooze_error(error, user, rule)
                    changed += 1
            elif error.status != "ignored":
                triage.set_status(error, "ignored", user)
                changed += 1
    except triage.TriageError as exc:
        db.session.rollback()
        return _bulk_answer(back, f"{exc.message} ({changed} changed before this one).", "error", exc.status)
    verb = {"assign": f"assigned to {target.name}" if target else "assigned", "resolve": "resolved",
            "ignore": "ignored", "snooze": "snoozed"}[action]
    return _bulk_answer(back, f"{changed} error{'s' if changed != 1 else ''} {verb}.", "ok", 200)


def _bulk_merge(back: str, chosen: list):
    if len(chosen) < 2:
        return _bulk_answer(back, "Select at least two errors to merge.", "error", 400)
    try:
        target, merged = error_details.merge_selected(chosen)
    except triage.TriageError as exc:
        db.session.rollback()
        return _bulk_answer(back, f"Nothing was merged: {exc.message}.", "error", exc.status)
    return _bulk_answer(back, f"{len(merged)} error{'s' if len(merged) != 1 else ''} merged into "
                              f"{target.error_type} ({target.id[:8]}).", "ok", 200)


def _bulk_answer(back: str, message: str, category: str, status: int):
    flash(message, category)
    if is_htmx():
        return fragment("partials/_error_table.html", status=status, **list_context_of(back))
    if status >= 400:
        return fragment("dashboard/errors.html", status=status, **list_context_of(back))
    return redirect(back, code=303)
