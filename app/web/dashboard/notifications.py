"""Notifications: the audit trail of every delivery attempt, with a retry for failed and dead ones."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.extensions import db
from app.models import CHANNELS, NOTIFICATION_STATUSES, ErrorNotification
from app.reports import activity
from app.triage import permissions
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, fragment, is_htmx, page_arg, refuse, safe_back

PER_PAGE = 50
RETRYABLE = ("failed", "dead")


def _filters() -> tuple[dict, str | None]:
    channel = (request.args.get("channel") or "").strip()
    status = (request.args.get("status") or "").strip()
    recipient = (request.args.get("recipient") or "").replace("\x00", "").strip()[:200]
    problem = None
    if channel and channel not in CHANNELS:
        problem, channel = f"channel must be one of {', '.join(CHANNELS)}", ""
    if status and status not in NOTIFICATION_STATUSES:
        problem, status = f"status must be one of {', '.join(NOTIFICATION_STATUSES)}", ""
    return {"channel": channel, "status": status, "recipient": recipient}, problem


@bp.get("/notifications")
def notifications():
    filters, problem = _filters()
    page = page_arg()
    items, total = activity.notifications_page(filters["channel"], filters["status"], filters["recipient"], page,
                                                PER_PAGE)
    args = {k: v for k, v in filters.items() if v}
    return render_template("dashboard/notifications.html", items=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), filters=filters, args=args, problem=problem,
                           channels=CHANNELS, statuses=NOTIFICATION_STATUSES,
                           can_retry=permissions.can_retry_notifications(actor()),
                           retryable=RETRYABLE), 400 if problem else 200


@bp.post("/notifications/<int:notification_id>/retry")
def retry(notification_id: int):
    user = actor()
    if not permissions.can_retry_notifications(user):
        refuse("Only leads, managers and admins retry notifications.")
    notification = db.session.get(ErrorNotification, notification_id)
    if notification is None:
        refuse(f"No notification with id {notification_id}.", 404)
    if notification.status not in RETRYABLE:
        refuse(f"Only failed or dead deliveries are retried; this one is {notification.status}.", 409)
    from app.notify.notifications import retry_notification

    notification = retry_notification(notification.id, user)
    message = f"Delivery to {notification.recipient} retried: {notification.status}."
    flash(message, "ok" if notification.status in ("sent", "queued", "retrying") else "error")
    if is_htmx():
        return fragment("partials/_notification_row.html", n=notification, can_retry=True, retryable=RETRYABLE,
                        compact=request.form.get("compact") == "1")
    return redirect(safe_back(request.form.get("next"), url_for("dashboard.notifications")), code=303)
