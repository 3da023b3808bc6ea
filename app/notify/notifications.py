"""Notification dispatch: plan who hears about an event, record every delivery, send, retry.

The flow for an error event (``handle_error_event``, run by the job enqueued after commit):

1. an ``error_event_dispatches`` row for the event (error, event, marker) is made if missing;
2. if it is not done yet: route (new, regressed, graver errors), choose recipients and channels,
   then insert one ``error_notifications`` row per recipient and channel, with the idempotency key
   ``<notice key>/<channel>/<recipient key>`` (unique), and mark the event done, in one commit;
3. each row is claimed (a lease in ``next_retry_at``), composed from the database, sent, and the
   outcome recorded: sent, retrying (with backoff, 1, 4, 16 minutes by default), failed (the
   provider refused for good) or dead (retries exhausted).

A row is only ever sent by the worker holding its lease, and a row that is sent stays sent, so two
consumers, a retried task or the sweep cannot send it twice; a worker killed mid-send leaves a lease
that expires, and the sweep (``retry_due``, hourly) sends it then. A provider that received a message
whose sending was never recorded gets it again with the same identity (Message-ID, webhook delivery
id), so it can recognise the repeat. Events whose hand-off was lost are found by ``recover_lost_events``.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Developer, ErrorEscalation, ErrorEventDispatch, ErrorLog, ErrorNotification, Service, WebhookSubscription,
)
from app.models.types import utcnow
from app.platform import hooks
from app.platform.refusal import Refused
from app.notify.channels import email as email_channel
from app.notify.channels import slack as slack_channel
from app.notify.channels import sms as sms_channel
from app.notify.channels import webhook as webhook_channel
from app.notify.channels.base import Channel, DeliveryResult, Message, Notice
from app.triage import routing
from app.platform import settings
from app.notify import subscriptions as webhooks_out
from app.accounts.preferences import DEFAULT_CHANNELS

log = logging.getLogger("heartwatch.notify")

ERROR_EVENTS = ("error.created", "error.regressed", "error.severity_raised", "error.assigned", "error.resolved",
                "error.escalated")
ROUTED_EVENTS = ("error.created", "error.regressed", "error.severity_raised")
PENDING_STATUSES = ("queued", "retrying")
LOOKBACK = dt.timedelta(hours=24)
BODY_LIMIT = 20000
SWEEP_BATCH = 200
SHARED_SLACK = "slack:channel"


# --- channels -----------------------------------------------------------------------------------

def configured_channels() -> dict[str, Channel]:
    """The channels as the settings configure them now (e-mail and SMS are absent while unset)."""
    config = current_app.config
    channels: dict[str, Channel] = {"slack": slack_channel.SlackChannel.from_config(config),
                                    "webhook": webhook_channel.WebhookChannel.from_config(config)}
    mail = email_channel.EmailChannel.from_config(config)
    if mail is not None:
        channels["email"] = mail
    text = sms_channel.SmsChannel.from_config(config)
    if text is not None:
        channels["sms"] = text
    return channels


def reachable(developer: Developer, channel: str) -> bool:
    """Whether a channel is configured and has an address for this developer."""
    config = current_app.config
    if channel == "email":
        return bool(config.get("SMTP_HOST") and developer.email)
    if channel == "sms":
        return bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN")
                    and config.get("TWILIO_FROM_NUMBER") and developer.phone)
    if channel == "slack":
        return bool(developer.slack_webhook_url or config.get("SLACK_WEBHOOK_URL")
                    or (config.get("SLACK_BOT_TOKEN") and config.get("SLACK_CHANNEL")))
    return False


def _shared_slack() -> bool:
    config = current_app.config
    return bool(config.get("SLACK_WEBHOOK_URL") or (config.get("SLACK_BOT_TOKEN") and config.get("SLACK_CHANNEL")))


# --- planning -----------------------------------------------------------------------------------

@dataclass
class PlannedDelivery:
    """One row to be: a notice, on a channel, to a recipient (``recipient_key`` names them for
    re-composition, ``recipient`` is what the audit trail shows: never a secret)."""

    notice_key: str
    event: str
    channel: str
    recipient_key: str
    recipient: str
    recipient_id: int | None = None
    subject: str | None = None

    @property
    def key(self) -> str:
        return f"{self.notice_key}/{self.channel}/{self.recipient_key}"


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")


def error_notice_key(event: str, error_id: str, marker: str) -> str:
    return f"{event}:{error_id}:{marker}"


def event_markers(error: ErrorLog, event: str, now: dt.datetime | None = None) -> list[str]:
    """What tells this occurrence of the event apart from earlier ones of the same kind."""
    if event == "error.created":
        return ["1"]
    if event == "error.regressed":
        return [f"r{error.regression_count}"] if error.regression_count else []
    if event == "error.severity_raised":
        return [f"s{error.severity_level}@{_stamp(error.severity_raised_at)}"] if error.severity_raised_at else []
    if event == "error.assigned":
        if error.assigned_to_id and error.assigned_at:
            return [f"a{error.assigned_to_id}@{_stamp(error.assigned_at)}"]
        return []
    if event == "error.resolved":
        return [f"x@{_stamp(error.resolved_at)}"] if error.status == "resolved" and error.resolved_at else []
    if event == "error.escalated":
        since = (now or utcnow()) - LOOKBACK
        return [f"e{escalation_id}" for escalation_id in db.session.execute(
            select(ErrorEscalation.id).where(ErrorEscalation.error_id == error.id, ErrorEscalation.created_at >= since)
            .order_by(ErrorEscalation.id)).scalars()]
    return []


def dialect_insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def _ensure_dispatch(error_id: str, event: str, marker: str, *, status: str = "pending",
                     outcome: dict | None = None) -> ErrorEventDispatch:
    now = utcnow()
    db.session.execute(
        dialect_insert()(ErrorEventDispatch).values(error_id=error_id, event=event, marker=marker, status=status,
                                             attempts=0, outcome=outcome, created_at=now,
                                             handled_at=now if status == "done" else None)
        .on_conflict_do_nothing(index_elements=["error_id", "event", "marker"]))
    db.session.commit()
    return db.session.execute(
        select(ErrorEventDispatch).where(ErrorEventDispatch.error_id == error_id, ErrorEventDispatch.event == event,
                                         ErrorEventDispatch.marker == marker)
        .execution_options(populate_existing=True)).scalar_one()


def _person_deliveries(notice_key: str, event: str, developer: Developer, channels: list[str],
                       mentions: list[str]) -> list[PlannedDelivery]:
    """E-mail and SMS go to the person; Slack goes to their own webhook if they have one, else it
    is a mention in the shared channel post (planned separately)."""
    planned = []
    for channel in channels:
        if channel == "email":
            planned.append(PlannedDelivery(notice_key, event, "email", f"dev:{developer.id}", developer.email,
                                           developer.id))
        elif channel == "sms":
            planned.append(PlannedDelivery(notice_key, event, "sms", f"dev:{developer.id}", developer.phone or "",
                                           developer.id))
        elif channel == "slack":
            if developer.slack_webhook_url:
                planned.append(PlannedDelivery(notice_key, event, "slack", f"slack:dev:{developer.id}",
                                               f"Slack webhook of {developer.name}", developer.id))
            elif developer.slack_member_id:
                mentions.append(developer.slack_member_id)
    return planned


def _shared_slack_delivery(notice_key: str, event: str) -> PlannedDelivery:
    config = current_app.config
    label = (f"Slack channel {config.get('SLACK_CHANNEL')}" if config.get("SLACK_BOT_TOKEN") and config.get("SLACK_CHANNEL")
             else "Slack default channel (incoming webhook)")
    return PlannedDelivery(notice_key, event, "slack", SHARED_SLACK, label)


def _webhook_deliveries(notice_key: str, event: str, service_id: int | None) -> list[PlannedDelivery]:
    return [PlannedDelivery(notice_key, event, "webhook", f"webhook:{s.id}",
                            f"webhook {s.name} ({webhooks_out.safe_url(s.url)})")
            for s in webhooks_out.subscribers(event, service_id)]


def _sms_allowed(severity: str) -> bool:
    return severity in (settings.get("sms_severities") or [])


def _channels_for_person(developer: Developer, severity: str, now: dt.datetime) -> list[str]:
    channels = routing.personal_channels(developer, severity, reachable, now)
    if "sms" in channels and not _sms_allowed(severity):
        channels.remove("sms")
        if severity == "critical" and not channels:
            channels = [c for c in ("email", "slack") if reachable(developer, c)][:1]
    return channels


def _wants_shared_post(error: ErrorLog, event: str, mentions: list[str]) -> bool:
    """The team channel sees every error whose severity goes to Slack, and its story after that."""
    if not _shared_slack():
        return False
    return bool(mentions) or "slack" in DEFAULT_CHANNELS.get(error.severity, ())


def plan_error_event(error: ErrorLog, event: str, marker: str, now: dt.datetime) -> tuple[list[PlannedDelivery], dict]:
    """Recipients and channels for one error event, routing first where the event calls for it.

    Returns the deliveries and the outcome kept on the dispatch row (the routing decision, who
    was told on which channel, the Slack members to mention), from which messages are composed.
    """
    notice_key = error_notice_key(event, error.id, marker)
    outcome: dict = {"people": [], "mentions": []}
    planned: list[PlannedDelivery] = []
    people: list[tuple[Developer, list[str]]] = []
    extra: list[PlannedDelivery] = []

    if event in ROUTED_EVENTS:
        decision = routing.route_error(error.id, event, now)
        db.session.refresh(error)
        if decision is None:
            return [], {"skipped": "the error is gone"}
        outcome["routing"] = decision.as_json()
        if not error.is_open:
            return [], {**outcome, "skipped": f"the error is {error.status}"}
        for developer in _developers(decision.notify_ids):
            people.append((developer, _channels_for_person(developer, error.severity, now)))
        if decision.assignee_id and error.assigned_at:
            # The routing's own assignment is told in this notice; its webhook event goes out now
            # and the assignment event is marked handled, so nobody hears about it twice.
            assigned_marker = f"a{error.assigned_to_id}@{_stamp(error.assigned_at)}"
            assigned_key = error_notice_key("error.assigned", error.id, assigned_marker)
            extra = _webhook_deliveries(assigned_key, "error.assigned", error.service_id) if decision.assigned_now else []
            _ensure_dispatch(error.id, "error.assigned", assigned_marker, status="done",
                             outcome={"covered_by": notice_key, "deliveries": [d.key for d in extra]})
            if decision.assigned_now:
                from app.platform import feed

                feed.publish({"type": "error.assigned", "error_id": error.id, "service_id": error.service_id,
                              "severity": error.severity, "status": error.status})
    elif event == "error.assigned":
        assignee = db.session.get(Developer, int(marker[1:].split("@", 1)[0]))
        if assignee is not None and assignee.active:
            channels = _channels_for_person(assignee, error.severity, now)
            if not channels and reachable(assignee, "email"):
                channels = ["email"]  # an assignment is a personal hand-over: the assignee is always told
            people.append((assignee, channels))
    elif event == "error.escalated":
        escalation = db.session.get(ErrorEscalation, int(marker[1:]))
        if escalation is None:
            return [], {"skipped": "the escalation is gone"}
        for developer in escalation_recipients(escalation):
            people.append((developer, escalation_channels(escalation, error, developer)))

    mentions: list[str] = []
    for developer, channels in people:
        planned += _person_deliveries(notice_key, event, developer, channels, mentions)
        outcome["people"].append([developer.id, channels])
    outcome["mentions"] = sorted(set(mentions))
    if _wants_shared_post(error, event, mentions):
        planned.append(_shared_slack_delivery(notice_key, event))
    if event != "error.severity_raised":
        planned += _webhook_deliveries(notice_key, event, error.service_id)
    planned += extra
    return planned, outcome


def _developers(ids: list[int]) -> list[Developer]:
    if not ids:
        return []
    found = {d.id: d for d in db.session.execute(select(Developer).where(Developer.id.in_(ids))).scalars()}
    return [found[i] for i in ids if i in found and found[i].active]


def escalation_recipients(escalation: ErrorEscalation) -> list[Developer]:
    """Level 1 goes to its target (the lead, else a manager); automatic level 2 and above to every admin."""
    if escalation.automatic and escalation.level >= 2:
        admins = list(db.session.execute(select(Developer).where(Developer.role == "admin", Developer.active.is_(True))
                                         .order_by(Developer.id)).scalars())
        if admins:
            return admins
    target = db.session.get(Developer, escalation.escalated_to_id) if escalation.escalated_to_id else None
    return [target] if target is not None and target.active else []


def escalation_channels(escalation: ErrorEscalation, error: ErrorLog, developer: Developer) -> list[str]:
    """Automatic escalations: critical by e-mail and SMS, high by e-mail and Slack. Manual ones use
    the severity's channels, with e-mail at least. Escalations are not filtered by preferences or
    quiet hours: they go to the people whose job is to be told."""
    if escalation.automatic and error.severity == "critical":
        wanted = ["email", "sms"]
    elif escalation.automatic:
        wanted = ["email", "slack"]
    else:
        wanted = list(DEFAULT_CHANNELS.get(error.severity, ())) or ["email"]
        if "sms" in wanted and not _sms_allowed(error.severity):
            wanted.remove("sms")
    channels = [c for c in wanted if reachable(developer, c)]
    return channels or [c for c in ("email", "slack", "sms") if reachable(developer, c)][:1]


# --- rows ---------------------------------------------------------------------------------------

def record_planned(deliveries: list[PlannedDelivery], error_id: str | None, *, commit: bool = True) -> list[int]:
    """Insert a row per planned delivery unless its idempotency key exists; returns all their ids."""
    if not deliveries:
        return []
    now = utcnow()
    rows = [{"error_id": error_id, "recipient_id": d.recipient_id, "recipient": d.recipient[:512], "channel": d.channel,
             "event": d.event, "status": "queued", "subject": (d.subject or None), "retry_count": 0,
             "idempotency_key": d.key[:255], "created_at": now} for d in deliveries]
    db.session.execute(dialect_insert()(ErrorNotification).on_conflict_do_nothing(index_elements=["idempotency_key"]), rows)
    if commit:
        db.session.commit()
    keys = [r["idempotency_key"] for r in rows]
    return list(db.session.execute(select(ErrorNotification.id).where(ErrorNotification.idempotency_key.in_(keys))
                                   .order_by(ErrorNotification.id)).scalars())


def send_notice(deliveries: list[PlannedDelivery], error_id: str | None = None) -> list[int]:
    """Record and send deliveries of a notice that is not about one error event (threshold alerts,
    the daily summary). Keys make a repeat of the same notice a no-op."""
    ids = record_planned(deliveries, error_id)
    for notification_id in ids:
        deliver(notification_id)
    return ids


def handle_error_event(error_id: str, event: str, now: dt.datetime | None = None) -> list[int]:
    """Everything an error event calls for: routing, the rows, the sends. Safe to run twice."""
    if event not in ERROR_EVENTS:
        raise ValueError(f"unknown error event {event!r}")
    now = now or utcnow()
    # Read fresh: in-line (immediate mode) the session may hold this error from before the change.
    error = db.session.execute(select(ErrorLog).where(ErrorLog.id == error_id)
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if error is None:
        return []
    sent: list[int] = []
    for marker in event_markers(error, event, now):
        sent += _handle_marker(error, event, marker, now)
    return sent


def _handle_marker(error: ErrorLog, event: str, marker: str, now: dt.datetime) -> list[int]:
    dispatch = _ensure_dispatch(error.id, event, marker)
    if dispatch.status != "done":
        dispatch.attempts += 1
        db.session.commit()
        planned, outcome = plan_error_event(error, event, marker, now)
        # Two workers planning at once plan the same rows (same keys): the second adds nothing.
        outcome["deliveries"] = [d.key for d in planned]
        record_planned(planned, error.id, commit=False)
        db.session.execute(update(ErrorEventDispatch).where(ErrorEventDispatch.id == dispatch.id)
                           .values(status="done", outcome=outcome, handled_at=utcnow())
                           .execution_options(synchronize_session=False))
        db.session.commit()
        log.info("%s for error %s: %d deliveries planned", event, error.id, len(planned))
        keys = outcome["deliveries"]
    else:
        keys = list((dispatch.outcome or {}).get("deliveries") or [])
    ids = _ids_for_keys(keys)
    for notification_id in ids:
        deliver(notification_id)
    return ids


def _ids_for_keys(keys: list[str]) -> list[int]:
    if not keys:
        return []
    return list(db.session.execute(select(ErrorNotification.id).where(ErrorNotification.idempotency_key.in_(keys))
                                   .order_by(ErrorNotification.id)).scalars())


# --- delivery -----------------------------------------------------------------------------------

def _due_clause(now: dt.datetime):
    return (ErrorNotification.status.in_(PENDING_STATUSES)
            & (ErrorNotification.next_retry_at.is_(None) | (ErrorNotification.next_retry_at <= now)))


def claim(notification_id: int, now: dt.datetime | None = None) -> bool:
    """Take the lease on a due row (one conditional UPDATE: exactly one worker wins it)."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=int(current_app.config.get("NOTIFY_LEASE_SECONDS") or 120))
    result = db.session.execute(
        update(ErrorNotification).where(ErrorNotification.id == notification_id, _due_clause(now))
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
    now = utcnow()
    if message is not None:
        row.subject = (message.subject or row.subject or "")[:512] or None
        row.body = (message.text or "")[:BODY_LIMIT] or None
    if result.ok:
        row.status, row.sent_at, row.next_retry_at, row.last_error = "sent", now, None, None
        if row.channel == "slack" and row.error_id and result.provider_id and message is not None \
                and not message.thread_ts and not message.to.startswith(("https://", "http://")):
            db.session.execute(update(ErrorLog).where(ErrorLog.id == row.error_id, ErrorLog.slack_thread_ts.is_(None))
                               .values(slack_thread_ts=result.provider_id,
                                       slack_channel=(result.extra.get("channel") or message.to)[:64])
                               .execution_options(synchronize_session=False))
        db.session.commit()
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
    db.session.commit()
    log.warning("notification %s by %s failed (%s): %s", row.id, row.channel, row.status, row.last_error)
    if row.status == "retrying":
        _schedule_retry(row.id, row.next_retry_at)
    return row.status


def _schedule_retry(notification_id: int, eta: dt.datetime) -> None:
    hooks.after_commit("notification_retry", notification_id=notification_id, eta=eta)


RETRYABLE_STATUSES = ("failed", "dead")


class RetryRefused(Refused):
    """A retry that is not allowed (403), of an unknown delivery (404) or of one that did not fail (409)."""


def retry_notification(notification_id: int, actor: Developer | None) -> ErrorNotification:
    """A person's retry of a failed or dead delivery (dashboard or API): queued again, audited.
    Only leads, managers and admins retry (``RetryRefused`` 403); an unknown row is a 404, one that
    did not fail a 409."""
    from app.platform.audit import record_audit
    from app.triage import permissions

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


def retry_due(now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> dict:
    """The sweep: deliver every row that is due (a retry whose time came, a lease that expired
    because its worker died, a row whose send was never started). Rows are taken with
    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several sweeps share the work."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    seen: set[int] = set()
    while True:
        stmt = select(ErrorNotification.id).where(_due_clause(now)).order_by(ErrorNotification.id).limit(limit)
        if seen:
            stmt = stmt.where(ErrorNotification.id.notin_(seen))
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(db.session.execute(stmt).scalars())
        db.session.commit()
        if not ids:
            break
        for notification_id in ids:
            seen.add(notification_id)
            status = deliver(notification_id, now)
            key = status or "skipped"
            counts[key] = counts.get(key, 0) + 1
        if len(ids) < limit:
            break
    return counts


def recover_lost_events(now: dt.datetime | None = None) -> int:
    """Handle error events of the last 24 hours whose hand-off never ran or never finished
    (the queue was down, a worker was killed); handling is idempotent, so a race is harmless."""
    now = now or utcnow()
    since = now - LOOKBACK
    stuck_before = now - dt.timedelta(seconds=int(current_app.config.get("NOTIFY_LEASE_SECONDS") or 120))
    wanted: list[tuple[str, str]] = []
    candidates = [
        # New errors only: an old error's first hand-off record may have gone with retention.
        ("error.created", select(ErrorLog).where(ErrorLog.first_seen >= since)),
        ("error.regressed", select(ErrorLog).where(ErrorLog.regressed_at >= since)),
        ("error.severity_raised", select(ErrorLog).where(ErrorLog.severity_raised_at >= since)),
        ("error.assigned", select(ErrorLog).where(ErrorLog.assigned_at >= since)),
        ("error.resolved", select(ErrorLog).where(ErrorLog.resolved_at >= since)),
        ("error.escalated", select(ErrorLog).join(ErrorEscalation, ErrorEscalation.error_id == ErrorLog.id)
         .where(ErrorEscalation.created_at >= since).distinct()),
    ]
    for event, stmt in candidates:
        errors = list(db.session.execute(stmt.limit(5000)).scalars())
        if not errors:
            continue
        known = {(d.error_id, d.marker): d for d in db.session.execute(
            select(ErrorEventDispatch).where(ErrorEventDispatch.event == event,
                                             ErrorEventDispatch.error_id.in_([e.id for e in errors]))).scalars()}
        for error in errors:
            for marker in event_markers(error, event, now):
                dispatch = known.get((error.id, marker))
                if dispatch is None or (dispatch.status != "done" and dispatch.created_at <= stuck_before):
                    wanted.append((error.id, event))
                    break
    for error_id, event in dict.fromkeys(wanted):
        try:
            handle_error_event(error_id, event, now)
        except IntegrityError:
            db.session.rollback()
    return len(set(wanted))


# --- composing ----------------------------------------------------------------------------------

def error_url(error_id: str) -> str:
    return f"{current_app.config['BASE_URL']}/errors/{error_id}"


def compose_row(row: ErrorNotification) -> tuple[Message | None, Channel | str]:
    """Build the message of a row from the database (so a retry sends what is true now).

    Returns (message, channel), or (None, reason) when there is nothing to send any more, or
    (message, reason) when the channel is not configured right now (retried later).
    """
    notice_key, channel_name, recipient_key = row.idempotency_key.split("/", 2)
    notice = build_notice(notice_key, row.recipient_id, channel_name)
    if notice is None:
        return None, "nothing to send any more: what it was about is gone"
    channels = configured_channels()
    channel = channels.get(channel_name)
    kind, _, ref = recipient_key.partition(":")
    key = row.idempotency_key
    if channel_name == "webhook":
        subscription = db.session.get(WebhookSubscription, int(ref))
        if subscription is None or not subscription.active:
            return None, "the webhook subscription was removed or switched off"
        return webhook_channel.compose(notice, subscription.url, key, subscription.secret), channel
    if recipient_key == SHARED_SLACK:
        config = current_app.config
        if config.get("SLACK_BOT_TOKEN") and config.get("SLACK_CHANNEL"):
            to = config["SLACK_CHANNEL"]
        elif config.get("SLACK_WEBHOOK_URL"):
            to = config["SLACK_WEBHOOK_URL"]
            notice.thread_ts = None
        else:
            return Message(channel="slack", to="", subject=notice.title), "Slack is not configured"
        follow_up = notice.thread_ts is not None
        return slack_channel.compose(notice, to, key, full_card=not follow_up), channel
    developer = db.session.get(Developer, int(recipient_key.rsplit(":", 1)[1])) if kind in ("dev", "slack") else None
    if developer is None or not developer.active:
        return None, "the recipient's account is gone or inactive"
    if channel_name == "slack":
        if not developer.slack_webhook_url:
            return None, "the developer has no Slack webhook any more"
        notice.thread_ts = None
        return slack_channel.compose(notice, developer.slack_webhook_url, key), channel
    if channel is None:
        return Message(channel=channel_name, to="", subject=notice.title), f"{channel_name} is not configured"
    if channel_name == "email":
        return email_channel.compose(notice, developer.email, key, developer.name), channel
    if channel_name == "sms":
        if not developer.phone:
            return None, "the developer has no phone number any more"
        return sms_channel.compose(notice, developer.phone, key), channel
    return None, f"unknown channel {channel_name}"


def build_notice(notice_key: str, recipient_id: int | None = None, channel: str | None = None) -> Notice | None:
    """The notice a key names, composed from the database now."""
    event, _, rest = notice_key.partition(":")
    if event in ERROR_EVENTS:
        error_id, _, marker = rest.partition(":")
        return _error_notice(event, error_id, marker, recipient_id)
    if event == "threshold.breached":
        from app.reports.thresholds import build_notice as threshold_notice

        return threshold_notice(rest)
    if event == "summary.daily":
        from app.reports.stats import build_notice as summary_notice

        return summary_notice(rest)
    return None


EVENT_WORDS = {"error.created": "new error", "error.regressed": "regressed", "error.severity_raised": "severity raised",
               "error.assigned": "assigned", "error.resolved": "resolved", "error.escalated": "escalated"}


def error_facts(error: ErrorLog) -> dict:
    """The error as every medium shows it (plain values: each channel escapes for itself)."""
    service = error.service or db.session.get(Service, error.service_id)
    assignee = error.assigned_to
    return {
        "id": error.id, "service": service.slug if service else str(error.service_id),
        "service_name": service.name if service else str(error.service_id), "severity": error.severity,
        "error_type": error.error_type, "message": (error.message or "")[:4000], "endpoint": error.endpoint,
        "culprit": error.culprit, "occurrence_count": error.occurrence_count, "status": error.status,
        "environment": error.environment, "release": error.release,
        "first_seen": error.first_seen.strftime("%Y-%m-%d %H:%M UTC") if error.first_seen else None,
        "last_seen": error.last_seen.strftime("%Y-%m-%d %H:%M UTC") if error.last_seen else None,
        "assignee_name": assignee.name if assignee else None,
        "assignee_slack": assignee.slack_member_id if assignee else None,
        "url": error_url(error.id),
    }


def _frames(error_id: str, limit: int = 8) -> list[str]:
    from app.reports.errors import latest_occurrence

    occurrence = latest_occurrence(error_id)
    if occurrence is None or not occurrence.exceptions:
        return []
    frames = (occurrence.exceptions[-1] or {}).get("frames") or []
    chosen = [f for f in frames if f.get("in_app")] or frames
    lines = []
    for frame in reversed(chosen[-limit:]):
        where = frame.get("filename") or frame.get("module") or "?"
        line = f":{frame['lineno']}" if frame.get("lineno") else ""
        lines.append(f"{frame.get('function') or '?'} ({where}{line})")
    return lines


def _error_notice(event: str, error_id: str, marker: str, recipient_id: int | None) -> Notice | None:
    error = db.session.get(ErrorLog, error_id)
    if error is None:
        return None
    facts = error_facts(error)
    dispatch = db.session.execute(select(ErrorEventDispatch).where(
        ErrorEventDispatch.error_id == error_id, ErrorEventDispatch.event == event,
        ErrorEventDispatch.marker == marker)).scalar_one_or_none()
    outcome = (dispatch.outcome if dispatch else None) or {}
    name, sev = facts["service_name"], error.severity
    summary = None
    word = EVENT_WORDS[event]
    details: dict = {"event": event, "frames": _frames(error.id)}
    if event == "error.created":
        headline = f"New {sev} error in {name}"
    elif event == "error.regressed":
        headline = f"A resolved error came back in {name}"
        details["regression_count"] = error.regression_count
    elif event == "error.severity_raised":
        headline = f"An error in {name} is now {sev}"
    elif event == "error.assigned":
        assignee = db.session.get(Developer, int(marker[1:].split("@", 1)[0]))
        who = assignee.name if assignee else "someone"
        headline = f"Error in {name} assigned to {who}"
        word = f"assigned to {who}"
        summary = "It is assigned to you." if assignee and assignee.id == recipient_id else f"It is assigned to {who}."
    elif event == "error.resolved":
        resolver = error.resolved_by
        headline = f"Error in {name} resolved" + (f" by {resolver.name}" if resolver else "")
        if error.resolution_note:
            summary = f"Resolution: {error.resolution_note}"
    else:
        escalation = db.session.get(ErrorEscalation, int(marker[1:]))
        if escalation is None:
            return None
        target = escalation.escalated_to
        creator = db.session.get(Developer, escalation.created_by_id) if escalation.created_by_id else None
        how = "automatically" if escalation.automatic else (f"by {creator.name}" if creator else "by hand")
        headline = f"Error in {name} escalated to level {escalation.level}"
        word = f"escalated, level {escalation.level}"
        summary = f"Escalated {how} to {target.name if target else 'the admins'}: {escalation.reason}"
        details.update({"level": escalation.level, "reason": escalation.reason, "automatic": escalation.automatic,
                        "escalated_to": target.name if target else None})
    routing_outcome = outcome.get("routing") or {}
    if event in ROUTED_EVENTS and routing_outcome:
        if routing_outcome.get("fallback"):
            summary = f"Nobody could be assigned ({routing_outcome.get('reason')}). Please assign it."
        elif routing_outcome.get("assignee") and routing_outcome.get("assignee") == recipient_id:
            summary = f"Assigned to you ({routing_outcome.get('reason')})."
        elif facts["assignee_name"]:
            summary = f"Assigned to {facts['assignee_name']}."
    details["summary"] = summary
    title = f"[{sev.upper()}] {facts['service']}: {error.error_type} ({word})"
    return Notice(event=event, key=error_notice_key(event, error.id, marker), title=title, headline=headline,
                  template="error_event", url=facts["url"], severity=sev, error=facts, details=details,
                  mentions=list(outcome.get("mentions") or []),
                  thread_ts=error.slack_thread_ts if event != "error.created" else None,
                  occurred_at=(dispatch.created_at.isoformat() if dispatch else utcnow().isoformat()))
