"""Notifications: the audit trail of every delivery attempt, with a retry for failed and dead ones."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.models import CHANNELS, NOTIFICATION_STATUSES
from app.notify.channels import channels_off
from app.notify.delivery import RETRYABLE_STATUSES, RetryRefused, retry_notification
from app.reports import activity
from app.triage import permissions
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, fragment, is_htmx, page_arg, refuse_because, safe_back

PER_PAGE = 50


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
                           retryable=RETRYABLE_STATUSES, channels_off=channels_off()), 400 if problem else 200


@bp.post("/notifications/<int:notification_id>/retry")
def retry(notification_id: int):
    try:
        notification = retry_notification(notification_id, actor())
    except RetryRefused as exc:
        refuse_because(exc)
    message = f"Delivery to {notification.recipient} retried: {notification.status}."
    flash(message, "ok" if notification.status in ("sent", "queued", "retrying") else "error")
    if is_htmx():
        return fragment("partials/_notification_row.html", n=notification, can_retry=True,
                        retryable=RETRYABLE_STATUSES, compact=request.form.get("compact") == "1")
    return redirect(safe_back(request.form.get("next"), url_for("dashboard.notifications")), code=303)
