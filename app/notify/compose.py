"""Composing a row's message from the database, so a retry sends what is true now.

A row's idempotency key names its notice (``<event>:<what>:<marker>``), its channel and its
recipient; ``build_notice`` turns the notice key into a ``Notice`` (an error event, a threshold
alert from its snapshot, the daily summary from the day's figures) and each channel module
turns that into a ``Message`` for one recipient.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Developer, ErrorEscalation, ErrorEventDispatch, ErrorLog, ErrorNotification, MetricSnapshot, Service,
    WebhookSubscription,
)
from app.models.types import utcnow
from app.notify import action_links
from app.notify import channels as registry
from app.notify.channels import email as email_channel
from app.notify.channels import slack as slack_channel
from app.notify.channels import sms as sms_channel
from app.notify.channels import webhook as webhook_channel
from app.notify.channels.base import Channel, Message, Notice
from app.notify.planning import ERROR_EVENTS, ROUTED_EVENTS, SHARED_SLACK, SLACK_TO, error_notice_key
from app.reports.errors import latest_occurrence
from app.reports.stats import summary_details
from app.reports.thresholds import ACTIONS, HOUR
from app.triage.snoozed import woke_reason


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
    channels = registry.configured_channels()
    channel = channels.get(channel_name)
    kind, _, ref = recipient_key.partition(":")
    key = row.idempotency_key
    if channel_name == "webhook":
        subscription = db.session.get(WebhookSubscription, int(ref))
        if subscription is None or not subscription.active:
            return None, "the webhook subscription was removed or switched off"
        return webhook_channel.compose(notice, subscription.url, key, subscription.secret), channel
    if recipient_key.startswith(SLACK_TO):
        if not registry.slack_web_api():
            return Message(channel="slack", to="", subject=notice.title), "the Slack Web API is not configured"
        notice.thread_ts = None
        return slack_channel.compose(notice, recipient_key[len(SLACK_TO):], key,
                                     answers=_slack_answers(notice)), channel
    if recipient_key == SHARED_SLACK:
        team = registry.shared_slack()
        if team is None:
            return Message(channel="slack", to="", subject=notice.title), "Slack is not configured"
        if not team.threaded:
            notice.thread_ts = None
        follow_up = notice.thread_ts is not None
        return slack_channel.compose(notice, team.to, key, full_card=not follow_up,
                                     answers=_slack_answers(notice)), channel
    developer = db.session.get(Developer, int(recipient_key.rsplit(":", 1)[1])) if kind in ("dev", "slack") else None
    if developer is None or not developer.active:
        return None, "the recipient's account is gone or inactive"
    if channel_name == "slack":
        if not developer.slack_webhook_url:
            return None, "the developer has no Slack webhook any more"
        notice.thread_ts = None
        return slack_channel.compose(notice, developer.slack_webhook_url, key, answers=_slack_answers(notice)), channel
    if channel is None:
        return Message(channel=channel_name, to="", subject=notice.title), f"{channel_name} is not configured"
    if channel_name == "email":
        actions = action_links.links_for(notice.error, developer) if notice.event in ERROR_EVENTS else []
        return email_channel.compose(notice, developer.email, key, developer.name, actions), channel
    if channel_name == "sms":
        if not developer.phone:
            return None, "the developer has no phone number any more"
        return sms_channel.compose(notice, developer.phone, key), channel
    return None, f"unknown channel {channel_name}"


def _slack_answers(notice: Notice) -> bool:
    """Answer buttons go on error messages about open errors, once Slack's answers are set up."""
    return bool(current_app.config.get("SLACK_SIGNING_SECRET")) and notice.event in ERROR_EVENTS \
        and (notice.error or {}).get("status") in ("new", "assigned", "in_progress")


def build_notice(notice_key: str, recipient_id: int | None = None, channel: str | None = None) -> Notice | None:
    """The notice a key names, composed from the database now."""
    event, _, rest = notice_key.partition(":")
    if event in ERROR_EVENTS:
        error_id, _, marker = rest.partition(":")
        return _error_notice(event, error_id, marker, recipient_id)
    if event == "threshold.breached":
        return threshold_notice(rest)
    if event == "summary.daily":
        return summary_notice(rest)
    if event == "oncall.handoff":
        return handoff_notice(rest)
    if event.startswith("oncall.swap_"):
        from app.notify.swaps import swap_notice

        return swap_notice(event, rest)
    if event == "comment.mention":
        return mention_notice(rest)
    return None


MENTION_EXCERPT = 500
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
        woke = woke_reason(error.id, marker)
        headline = f"A snoozed error woke in {name}" if woke else f"A resolved error came back in {name}"
        details["regression_count"] = error.regression_count
        if woke:
            word, details["woke"] = "woke", woke
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
    if details.get("woke"):
        summary = f"woke: {details['woke']}" + (f". {summary}" if summary else "")
    details["summary"] = summary
    title = f"[{sev.upper()}] {facts['service']}: {error.error_type} ({word})"
    return Notice(event=event, key=error_notice_key(event, error.id, marker), title=title, headline=headline,
                  template="error_event", url=facts["url"], severity=sev, error=facts, details=details,
                  mentions=list(outcome.get("mentions") or []),
                  thread_ts=error.slack_thread_ts if event != "error.created" else None,
                  occurred_at=(dispatch.created_at.isoformat() if dispatch else utcnow().isoformat()))


# --- the threshold alert and the daily summary: figures from app/reports, words from here ---------

def threshold_notice(ref: str) -> Notice | None:
    """The alert for one snapshot (its ``alerted`` breaches), composed for every medium."""
    snapshot = db.session.get(MetricSnapshot, int(ref)) if ref.isdigit() else None
    if snapshot is None:
        return None
    details = snapshot.details or {}
    breaches = [b for b in details.get("breaches", []) if b["key"] in (snapshot.alerted or [])] or details.get("breaches", [])
    labels = ", ".join(b["label"].lower() for b in breaches) or "thresholds"
    taken = snapshot.taken_at
    figures = {"errors_last_hour": snapshot.errors_last_hour, "critical_last_hour": snapshot.critical_last_hour,
               "errors_previous_hour": snapshot.errors_previous_hour,
               "unresolved_escalations": snapshot.unresolved_escalations}
    actions = list(ACTIONS)
    if any(b["key"] == "escalation_backlog" for b in breaches):
        actions.insert(1, "Work through the open escalations, oldest first, or hand them to someone free.")
    body = {
        "measured_at": f"{taken - HOUR:%Y-%m-%d %H:%M}–{taken:%H:%M} UTC",
        "previous_window": f"{taken - 2 * HOUR:%H:%M}–{taken - HOUR:%H:%M} UTC",
        "breaches": breaches, "figures": figures, "services": details.get("services", []),
        "errors": details.get("errors", []), "actions": actions,
        "summary": "; ".join(b["description"] for b in breaches),
    }
    return Notice(event="threshold.breached", key=f"threshold.breached:{snapshot.id}",
                  title=f"[ALERT] Heartwatch: {labels}", headline=f"Threshold breached: {labels}",
                  template="threshold_alert", url=f"{current_app.config['BASE_URL']}/", severity="critical",
                  details=body, occurred_at=taken.isoformat())


def summary_notice(ref: str) -> Notice | None:
    """The daily summary of one day (``YYYY-MM-DD``), from the day's figures as they are now."""
    try:
        day = dt.date.fromisoformat(ref)
    except ValueError:
        return None
    details = summary_details(day)
    return Notice(event="summary.daily", key=f"summary.daily:{day.isoformat()}",
                  title=f"[Heartwatch] Daily summary for {day:%A %d %B %Y}: {details['total']} errors",
                  headline=f"Errors on {day:%A %d %B %Y}", template="daily_summary",
                  url=f"{current_app.config['BASE_URL']}/", details=details, occurred_at=utcnow().isoformat())


def handoff_notice(ref: str) -> Notice | None:
    """``<schedule id>:<shift start, epoch seconds>:<developer id>``: the shift that starts, and the open
    critical and high errors of the services the developer knows, gravest and newest first."""
    from app.models import OPEN_STATUSES, SEVERITY_LEVEL, OnCallSchedule
    from app.triage import schedules

    parts = ref.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    plan, developer = db.session.get(OnCallSchedule, int(parts[0])), db.session.get(Developer, int(parts[2]))
    if plan is None or developer is None:
        return None
    starts = dt.datetime.fromtimestamp(int(parts[1]), dt.timezone.utc)
    slot = schedules.slot_at(plan, starts)
    service_ids = [s.id for s in developer.services]
    errors = list(db.session.execute(
        select(ErrorLog).where(ErrorLog.service_id.in_(service_ids), ErrorLog.status.in_(OPEN_STATUSES),
                               ErrorLog.severity_level >= SEVERITY_LEVEL["high"])
        .order_by(ErrorLog.severity_level.desc(), ErrorLog.last_seen.desc()).limit(50)).scalars()) if service_ids else []
    rows = [{"title": f"{e.error_type}: {(e.message or '')[:120]}", "service": e.service.slug, "severity": e.severity,
             "status": e.status, "assignee": e.assigned_to.name if e.assigned_to else None, "url": error_url(e.id)}
            for e in errors]
    until = f"{slot.ends_at:%a %d %b %H:%M} UTC" if developer.id in slot.people else "its end"
    details = {"schedule": plan.name, "starts_at": f"{starts:%a %d %b %H:%M} UTC", "ends_at": until,
               "errors": rows, "services": sorted(s.slug for s in developer.services)}
    return Notice(event="oncall.handoff", key=f"oncall.handoff:{ref}",
                  title=f"[Heartwatch] You are on call for {plan.name}: {len(rows)} open critical/high errors",
                  headline=f"Your on-call shift for {plan.name} starts", template="oncall_handoff",
                  url=f"{current_app.config['BASE_URL']}/oncall/mine", severity="high" if rows else "info",
                  details=details, occurred_at=starts.isoformat())


def mention_notice(ref: str) -> Notice | None:
    """``<comment id>``: who mentioned the recipient in which comment on which error (app/notify/mentions.py)."""
    from app.models import ErrorComment

    comment = db.session.get(ErrorComment, int(ref)) if ref.isdigit() else None
    error = db.session.get(ErrorLog, comment.error_id) if comment is not None else None
    if error is None:
        return None
    author = comment.author.name if comment.author else comment.author_label.split(" <")[0]
    text = comment.body if len(comment.body) <= MENTION_EXCERPT else comment.body[:MENTION_EXCERPT - 1] + "…"
    headline = f"{author} mentioned you on {error.error_type[:120]}"
    return Notice(event="comment.mention", key=f"comment.mention:{ref}", title=f"[Heartwatch] {headline}",
                  headline=headline, template="comment_mention", url=f"{error_url(error.id)}#comment-{comment.id}",
                  severity=error.severity, error=error_facts(error), details={"summary": text, "comment": text},
                  occurred_at=comment.created_at.isoformat())
