"""Sending the planned rows: claim with a lease, compose, send, record the outcome, back off.

A row is only ever sent by the worker holding its lease (``claim``: one conditional UPDATE of
``next_retry_at``), and a row that is sent stays sent, so two consumers, a retried task or the
sweep cannot send it twice; a worker killed mid-send leaves a lease that expires, and the sweep
(``app.notify.recovery.retry_due``) sends it then. Outcomes: sent, retrying (with backoff, 1, 4,
16 minutes by default), failed (the provider refused for good) or dead (retries exhausted).

``handle_dispatch`` is the whole hand-off of one error event's outbox row (app/platform/outbox.py):
route, plan and record (``app.notify.planning``), send, each step committed with its outcome;
``handle_error_event`` (the job enqueued after commit) runs it for an event's rows, the drain
(``app.notify.recovery.drain_outbox``) for the rows the job missed.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import Developer, ErrorEventDispatch, ErrorLog, ErrorNotification, NotificationAttempt
from app.models.types import utcnow
from app.platform import hooks, metrics
from app.platform import settings
from app.platform.audit import record_audit
from app.platform.refusal import Refused
from app.triage import kinds, permissions
from app.notify.channels.base import DeliveryResult, Message
from app.notify.compose import compose_row
from app.notify.planning import (
    ERROR_EVENTS, ROUTED_EVENTS, SLACK_TO, PlannedDelivery, ensure_dispatch, event_markers, plan_error_event, record_planned,
    route_dispatch,
)

log = logging.getLogger("heartwatch.notify")

PENDING_STATUSES = ("queued", "retrying")
BODY_LIMIT = 20000


def send_notice(deliveries: list[PlannedDelivery], error_id: str | None = None) -> list[int]:
    """Record and send deliveries of a notice that is not about one error event (threshold alerts,
    the daily summary). Keys make a repeat of the same notice a no-op."""
    ids = record_planned(deliveries, error_id)
    for notification_id in ids:
        deliver(notification_id)
    return ids


def handle_error_event(error_id: str, event: str, now: dt.datetime | None = None) -> list[int]:
    """Everything an error event calls for (the hand-off job after commit): each of its occurrences
    still pending in the outbox, and the error's latest, through ``handle_dispatch``. Safe to run
    twice. Nothing for an error that is not routable (a security report: app/triage/kinds.py)."""
    if event not in ERROR_EVENTS:
        raise ValueError(f"unknown error event {event!r}")
    now = now or utcnow()
    # Read fresh: in-line (immediate mode) the session may hold this error from before the change.
    error = db.session.execute(select(ErrorLog).where(ErrorLog.id == error_id)
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if error is None or not kinds.is_routable(error):
        return []  # a security report is listed, never told to anyone
    pending = db.session.execute(select(ErrorEventDispatch.marker).where(
        ErrorEventDispatch.error_id == error_id, ErrorEventDispatch.event == event,
        ErrorEventDispatch.status == "pending").order_by(ErrorEventDispatch.id)).scalars()
    sent: list[int] = []
    for marker in dict.fromkeys([*pending, *event_markers(error, event, now)]):
        sent += handle_dispatch(error_id, event, marker, now)
    return sent


def handle_dispatch(error_id: str, event: str, marker: str, now: dt.datetime | None = None) -> list[int]:
    """One outbox row through its steps, each committed with what it did, so a worker killed at any
    point leaves the row where the next one (the drain, a retried job) takes it up without repeating
    a step:

    1. routing (new, regressed and graver errors): the assignment and the decision saved on the row,
       one transaction (``planning.route_dispatch``);
    2. planning: the deliveries' rows, the dispatch row of the assignment routing made, and the row
       marked done, one transaction (``plan_dispatch``);
    3. sending: each delivery under its own lease (``deliver``).

    Returns the ids of the event's deliveries."""
    now = now or utcnow()
    dispatch = ensure_dispatch(error_id, event, marker)
    if dispatch.status != "done":
        dispatch.attempts = (dispatch.attempts or 0) + 1
        db.session.commit()
        routed = None
        if event in ROUTED_EVENTS:
            routed = (dispatch.outcome or {}).get("routing") or route_dispatch(dispatch.id, error_id, event, now)
        keys = plan_dispatch(dispatch.id, error_id, event, marker, now, routed)
    else:
        keys = list((dispatch.outcome or {}).get("deliveries") or [])
    ids = _ids_for_keys(keys)
    for notification_id in ids:
        deliver(notification_id)
    return ids


def plan_dispatch(dispatch_id: int, error_id: str, event: str, marker: str, now: dt.datetime,
                  routed: dict | None) -> list[str]:
    """Step two: plan the event and write it all in one transaction; returns the deliveries' keys.

    The row is marked done first (a conditional UPDATE that takes its lock), so of two workers
    planning at once the second waits, finds it done and sends what the first planned."""
    taken = db.session.execute(
        update(ErrorEventDispatch).where(ErrorEventDispatch.id == dispatch_id, ErrorEventDispatch.status == "pending")
        .values(status="done", handled_at=utcnow()).execution_options(synchronize_session=False)).rowcount == 1
    if not taken:
        db.session.rollback()
        done = db.session.get(ErrorEventDispatch, dispatch_id)
        return list(((done.outcome if done else None) or {}).get("deliveries") or [])
    error = db.session.execute(select(ErrorLog).where(ErrorLog.id == error_id)
                               .execution_options(populate_existing=True)).scalar_one()
    planned, outcome = plan_error_event(error, event, marker, now, routed)
    outcome["deliveries"] = [d.key for d in planned]
    record_planned(planned, error_id, commit=False)
    db.session.execute(update(ErrorEventDispatch).where(ErrorEventDispatch.id == dispatch_id)
                       .values(outcome=outcome).execution_options(synchronize_session=False))
    db.session.commit()
    log.info("%s for error %s: %d deliveries planned", event, error_id, len(planned))
    return outcome["deliveries"]


def _ids_for_keys(keys: list[str]) -> list[int]:
    if not keys:
        return []
    return list(db.session.execute(select(ErrorNotification.id).where(ErrorNotification.idempotency_key.in_(keys))
                                   .order_by(ErrorNotification.id)).scalars())


def due_clause(now: dt.datetime):
    """Rows waiting to be sent whose time has come (a retry's, an expired lease's, or never taken)."""
    return (ErrorNotification.status.in_(PENDING_STATUSES)
            & (ErrorNotification.next_retry_at.is_(None) | (ErrorNotification.next_retry_at <= now)))


def claim(notification_id: int, now: dt.datetime | None = None) -> bool:
    """Take the lease on a due row (one conditional UPDATE: exactly one worker wins it)."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=int(current_app.config.get("NOTIFY_LEASE_SECONDS") or 120))
    result = db.session.execute(
        update(ErrorNotification).where(ErrorNotification.id == notification_id, due_clause(now))
        .values(next_retry_at=now + lease).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def deliver(notification_id: int, now: dt.datetime | None = None) -> str | None:
    """Send one row if it is due and this worker wins its lease; returns the row's new status
    (None when it was not due or another worker holds it)."""
    now = now or utcnow()
    if not claim(notification_id, now):
        return None
    row = db.session.execute(select(ErrorNotification).where(ErrorNotification.id == notification_id)
                             .execution_options(populate_existing=True)).scalar_one()
    try:
        message, channel = compose_row(row)
    except Exception as exc:  # a composing bug must not keep the lease forever or lose the row
        log.exception("could not compose notification %s", row.id)
        return _record(row, DeliveryResult(False, f"could not compose the message: {exc.__class__.__name__}"), now)
    if message is None:
        return _record(row, DeliveryResult(False, channel, permanent=True), now)
    if isinstance(channel, str):
        return _record(row, DeliveryResult(False, channel), now, message)
    result = channel.send(message)
    return _record(row, result, now, message)


def _record(row: ErrorNotification, result: DeliveryResult, started: dt.datetime,
            message: Message | None = None) -> str:
    """The outcome of one try on the row, and the try itself in the audit trail (``_attempt``)."""
    now = utcnow()
    number = (row.retry_count or 0) + 1  # every earlier try failed: a sent row is never tried again
    if message is not None:
        row.subject = (message.subject or row.subject or "")[:512] or None
        row.body = (message.text or "")[:BODY_LIMIT] or None
    if result.ok:
        row.status, row.sent_at, row.next_retry_at, row.last_error = "sent", now, None, None
        if row.channel == "slack" and row.error_id and result.provider_id and message is not None \
                and not message.thread_ts and not message.to.startswith(("https://", "http://")) \
                and f"/{SLACK_TO}" not in row.idempotency_key:  # a chain step's channel is not the error's thread
            db.session.execute(update(ErrorLog).where(ErrorLog.id == row.error_id, ErrorLog.slack_thread_ts.is_(None))
                               .values(slack_thread_ts=result.provider_id,
                                       slack_channel=(result.extra.get("channel") or message.to)[:64])
                               .execution_options(synchronize_session=False))
        _attempt(row, number, now, result)
        db.session.commit()
        metrics.notification_attempt(row.channel, "sent")
        log.info("notification %s sent by %s (%s)", row.id, row.channel, row.event)
        return "sent"
    row.retry_count = (row.retry_count or 0) + 1
    row.last_error = result.detail or "delivery failed"
    delays = settings.get("notify_retry_delays_minutes") or [1, 4, 16]
    if result.permanent:
        row.status, row.next_retry_at = "failed", None
    elif row.retry_count > len(delays):
        row.status, row.next_retry_at = "dead", None
    else:
        wait = dt.timedelta(minutes=delays[row.retry_count - 1])
        if result.retry_after:
            wait = max(wait, dt.timedelta(seconds=result.retry_after))
        row.status, row.next_retry_at = "retrying", now + wait
    _attempt(row, number, now, result)
    db.session.commit()
    metrics.notification_attempt(row.channel, row.status)
    log.warning("notification %s by %s failed (%s): %s", row.id, row.channel, row.status, row.last_error)
    if row.status == "retrying":
        _schedule_retry(row.id, row.next_retry_at)
    return row.status


def _attempt(row: ErrorNotification, number: int, now: dt.datetime, result: DeliveryResult) -> None:
    db.session.add(NotificationAttempt(notification_id=row.id, number=number, attempted_at=now, outcome=row.status,
                                       answer_status=result.answer_status,
                                       reason=result.detail or ("delivered" if result.ok else "delivery failed"),
                                       answer=result.answer or None))


def _schedule_retry(notification_id: int, eta: dt.datetime) -> None:
    hooks.after_commit("notification_retry", notification_id=notification_id, eta=eta)


RETRYABLE_STATUSES = ("failed", "dead")


class RetryRefused(Refused):
    """A retry that is not allowed (403), of an unknown delivery (404) or of one that did not fail (409)."""


def retry_notification(notification_id: int, actor: Developer | None) -> ErrorNotification:
    """A person's retry of a failed or dead delivery (dashboard or API): queued again, audited.
    Only leads, managers and admins retry (``RetryRefused`` 403); an unknown row is a 404, one that
    did not fail a 409."""
    if actor is not None and not permissions.can_retry_notifications(actor):
        raise RetryRefused("only leads, managers and admins retry notifications", status=403)
    row = db.session.get(ErrorNotification, notification_id) if 0 < notification_id < 2**31 else None
    if row is None:
        raise RetryRefused(f"no notification with id {notification_id}", status=404)
    if row.status not in RETRYABLE_STATUSES:
        raise RetryRefused(f"only failed or dead deliveries are retried; this one is {row.status}", "status",
                           status=409)
    row.status, row.next_retry_at = "queued", None
    record_audit(actor, "notification.retried", "notification", row.id, error_id=row.error_id,
                 details={"channel": row.channel, "retry_count": row.retry_count})
    db.session.commit()
    deliver(row.id)
    db.session.refresh(row)
    return row
