"""Who hears about an error event, on which channels: the plan, before anything is sent.

For each occurrence of an event (its marker: the regression count, the assignment's moment, the
escalation's id) an ``error_event_dispatches`` row, the outbox (app/platform/outbox.py), records
that it is to be handled, then that it was and how (the routing decision, who was told on which
channel, the Slack members to mention). The planned
deliveries become ``error_notifications`` rows keyed ``<notice key>/<channel>/<recipient key>``
(unique), so planning the same event twice adds nothing. Channel availability comes from the
channel registry (``app.notify.channels``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from app.extensions import db
from app.models import Developer, ErrorEscalation, ErrorEventDispatch, ErrorLog, ErrorNotification, WebhookSubscription
from app.models.types import utcnow
from app.notify import channels as registry
from app.notify import subscriptions as webhooks_out
from app.triage import routing
from app.triage.snoozed import is_snoozed
from app.platform import outbox, settings
from app.platform.sql import dialect_insert
from app.accounts.preferences import DEFAULT_CHANNELS

ERROR_EVENTS = ("error.created", "error.regressed", "error.severity_raised", "error.assigned", "error.resolved",
                "error.escalated")
ROUTED_EVENTS = ("error.created", "error.regressed", "error.severity_raised")
LOOKBACK = dt.timedelta(hours=24)
SHARED_SLACK = "slack:channel"
SLACK_TO = "slack:to:"  # a Slack channel an escalation chain's step names


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


def error_notice_key(event: str, error_id: str, marker: str) -> str:
    return f"{event}:{error_id}:{marker}"


def event_markers(error: ErrorLog, event: str, now: dt.datetime | None = None) -> list[str]:
    """What tells this occurrence of the event apart from earlier ones of the same kind (the error's
    last one; an escalation's, those of the last 24 hours). Spelt by app/platform/outbox.py."""
    if event == "error.escalated":
        since = (now or utcnow()) - LOOKBACK
        return [outbox.escalated_marker(escalation_id) for escalation_id in db.session.execute(
            select(ErrorEscalation.id).where(ErrorEscalation.error_id == error.id, ErrorEscalation.created_at >= since)
            .order_by(ErrorEscalation.id)).scalars()]
    marker = outbox.current_marker(error, event)
    return [marker] if marker is not None else []


def find_dispatch(error_id: str, event: str, marker: str) -> ErrorEventDispatch | None:
    """The dispatch row of one occurrence of an event, read fresh."""
    return db.session.execute(
        select(ErrorEventDispatch).where(ErrorEventDispatch.error_id == error_id, ErrorEventDispatch.event == event,
                                         ErrorEventDispatch.marker == marker)
        .execution_options(populate_existing=True)).scalar_one_or_none()


def ensure_dispatch(error_id: str, event: str, marker: str) -> ErrorEventDispatch:
    """The dispatch row of one occurrence of an event, made pending and committed if missing (the change
    wrote it already unless it came from before the outbox; a second maker adds nothing)."""
    dispatch = find_dispatch(error_id, event, marker)
    if dispatch is None:
        outbox.add(error_id, event, marker)
        db.session.commit()
        dispatch = find_dispatch(error_id, event, marker)
    return dispatch


def route_dispatch(dispatch_id: int, error_id: str, event: str, now: dt.datetime) -> dict | None:
    """Step one of a new, regressed or graver error's event: route it, and save the decision on its
    dispatch row in the transaction of the assignment, so a worker killed after this commit finds
    the decision (whether routing assigned the error now, above all) instead of routing again.

    Under the error's row lock, so of two workers the second finds the first one's decision and
    keeps it. Returns the saved decision (``RoutingDecision.as_json``, with the marker of the
    assignment it made or kept), None when the error is gone."""
    error = routing.lock_error(error_id)
    dispatch = db.session.execute(select(ErrorEventDispatch).where(ErrorEventDispatch.id == dispatch_id)
                                  .execution_options(populate_existing=True)).scalar_one_or_none()
    if error is None or dispatch is None:
        db.session.rollback()
        return None
    saved = (dispatch.outcome or {}).get("routing")
    if saved is not None or dispatch.status == "done":
        db.session.commit()
        return saved
    decision = routing.route_error(error_id, event, now, commit=False)
    routed = decision.as_json()
    if decision.assignee_id and error.assigned_to_id == decision.assignee_id and error.assigned_at:
        routed["assigned_marker"] = outbox.assigned_marker(error.assigned_to_id, error.assigned_at)
    db.session.execute(update(ErrorEventDispatch).where(ErrorEventDispatch.id == dispatch_id)
                       .values(outcome={**(dispatch.outcome or {}), "routing": routed})
                       .execution_options(synchronize_session=False))
    db.session.commit()
    if decision.assigned_now:
        from app.platform import feed

        feed.publish({"type": "error.assigned", "error_id": error.id, "service_id": error.service_id,
                      "severity": error.severity, "status": error.status})
    return routed


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


def _shared_slack_delivery(notice_key: str, event: str, team: registry.SharedSlack) -> PlannedDelivery:
    return PlannedDelivery(notice_key, event, "slack", SHARED_SLACK, team.label)


def _webhook_deliveries(notice_key: str, event: str, service_id: int | None) -> list[PlannedDelivery]:
    return [PlannedDelivery(notice_key, event, "webhook", f"webhook:{s.id}",
                            f"webhook {s.name} ({webhooks_out.safe_url(s.url)})")
            for s in webhooks_out.subscribers(event, service_id)]


def _sms_allowed(severity: str) -> bool:
    return severity in (settings.get("sms_severities") or [])


def _channels_for_person(developer: Developer, severity: str, now: dt.datetime) -> list[str]:
    channels = routing.personal_channels(developer, severity, registry.reachable, now)
    if "sms" in channels and not _sms_allowed(severity):
        channels.remove("sms")
        if severity == "critical" and not channels:
            channels = [c for c in ("email", "slack") if registry.reachable(developer, c)][:1]
    return channels


def _wants_shared_post(error: ErrorLog, event: str, mentions: list[str]) -> bool:
    """The team channel sees every error whose severity goes to Slack, and its story after that."""
    return bool(mentions) or "slack" in DEFAULT_CHANNELS.get(error.severity, ())


def plan_error_event(error: ErrorLog, event: str, marker: str, now: dt.datetime,
                     routed: dict | None = None) -> tuple[list[PlannedDelivery], dict]:
    """Recipients and channels for one error event; for a routed event, by the routing decision
    ``route_dispatch`` saved (``routed``). Writes nothing but the dispatch row of the assignment the
    routing made, marked done in the caller's transaction (its webhook event is planned here).

    Returns the deliveries and the outcome kept on the dispatch row (the routing decision, who
    was told on which channel, the Slack members to mention), from which messages are composed.
    """
    if is_snoozed(error):  # it is told when it wakes (app/triage/snooze.py)
        return [], {"skipped": "the error is snoozed"}
    notice_key = error_notice_key(event, error.id, marker)
    outcome: dict = {"people": [], "mentions": []}
    planned: list[PlannedDelivery] = []
    people: list[tuple[Developer, list[str]]] = []
    extra: list[PlannedDelivery] = []

    if event in ROUTED_EVENTS:
        if routed is None:
            return [], {"skipped": "the error is gone"}
        decision = routing.RoutingDecision.from_json(routed)
        outcome["routing"] = routed
        if not error.is_open:
            return [], {**outcome, "skipped": f"the error is {error.status}"}
        for developer in _developers(decision.notify_ids):
            people.append((developer, _channels_for_person(developer, error.severity, now)))
        assigned_marker = routed.get("assigned_marker")
        if assigned_marker:
            # The routing's own assignment is told in this notice; its webhook event goes out now
            # and the assignment event is marked handled, so nobody hears about it twice.
            assigned_key = error_notice_key("error.assigned", error.id, assigned_marker)
            extra = _webhook_deliveries(assigned_key, "error.assigned", error.service_id) if decision.assigned_now else []
            outbox.add(error.id, "error.assigned", assigned_marker, status="done", now=now,
                       outcome={"covered_by": notice_key, "deliveries": [d.key for d in extra]})
    elif event == "error.assigned":
        assignee = db.session.get(Developer, int(marker[1:].split("@", 1)[0]))
        if assignee is not None and assignee.active:
            channels = _channels_for_person(assignee, error.severity, now)
            if not channels and registry.reachable(assignee, "email"):
                channels = ["email"]  # an assignment is a personal hand-over: the assignee is always told
            people.append((assignee, channels))
    elif event == "error.escalated":
        escalation = db.session.get(ErrorEscalation, int(marker[1:]))
        if escalation is None:
            return [], {"skipped": "the escalation is gone"}
        for developer in escalation_recipients(escalation):
            people.append((developer, escalation_channels(escalation, error, developer)))
        extra = _escalation_step_deliveries(notice_key, escalation)

    mentions: list[str] = []
    for developer, channels in people:
        planned += _person_deliveries(notice_key, event, developer, channels, mentions)
        outcome["people"].append([developer.id, channels])
    outcome["mentions"] = sorted(set(mentions))
    team = registry.shared_slack()
    if team is not None and _wants_shared_post(error, event, mentions):
        planned.append(_shared_slack_delivery(notice_key, event, team))
    if event != "error.severity_raised":
        planned += _webhook_deliveries(notice_key, event, error.service_id)
    planned += extra
    # A chain's Slack step without a channel is the team channel's post the event makes anyway.
    planned = list({d.key: d for d in planned}.values())
    return planned, outcome


def _developers(ids: list[int]) -> list[Developer]:
    if not ids:
        return []
    found = {d.id: d for d in db.session.execute(select(Developer).where(Developer.id.in_(ids))).scalars()}
    return [found[i] for i in ids if i in found and found[i].active]


def _escalation_step_deliveries(notice_key: str, escalation: ErrorEscalation) -> list[PlannedDelivery]:
    """A chain's Slack step posts in its channel (the team channel when it names none); its webhook
    step goes to its subscription, whatever events that subscribes to."""
    step = escalation.plan or {}
    event = "error.escalated"
    if step.get("kind") == "slack":
        if step.get("slack_channel"):
            return [PlannedDelivery(notice_key, event, "slack", f"{SLACK_TO}{step['slack_channel']}",
                                    f"Slack channel {step['slack_channel']}")]
        team = registry.shared_slack()
        return [_shared_slack_delivery(notice_key, event, team)] if team is not None else []
    if step.get("kind") == "webhook" and step.get("webhook_id"):
        subscription = db.session.get(WebhookSubscription, step["webhook_id"])
        if subscription is not None and subscription.active:
            return [PlannedDelivery(notice_key, event, "webhook", f"webhook:{subscription.id}",
                                    f"webhook {subscription.name} ({webhooks_out.safe_url(subscription.url)})")]
    return []


def escalation_recipients(escalation: ErrorEscalation) -> list[Developer]:
    """A chain step's recipients are those it chose when it fired. Before chains: level 1 goes to its
    target (the lead, else a manager); automatic level 2 and above to every admin but the one it
    escalates from."""
    if escalation.plan is not None:
        return _developers(list(escalation.plan.get("recipients") or []))
    if escalation.automatic and escalation.level >= 2:
        admins = list(db.session.execute(select(Developer).where(Developer.role == "admin", Developer.active.is_(True))
                                         .order_by(Developer.id)).scalars())
        admins = [a for a in admins if a.id != escalation.escalated_from_id]
        if admins:
            return admins
    target = db.session.get(Developer, escalation.escalated_to_id) if escalation.escalated_to_id else None
    return [target] if target is not None and target.active else []


def escalation_channels(escalation: ErrorEscalation, error: ErrorLog, developer: Developer) -> list[str]:
    """A chain step's channels are its own; automatic escalations from before chains: critical by e-mail
    and SMS, high by e-mail and Slack. Manual ones use the severity's channels, with e-mail at least.
    Escalations are not filtered by preferences or quiet hours: they go to the people whose job is to
    be told."""
    if escalation.plan is not None:
        wanted = list(escalation.plan.get("channels") or [])
    elif escalation.automatic and error.severity == "critical":
        wanted = ["email", "sms"]
    elif escalation.automatic:
        wanted = ["email", "slack"]
    else:
        wanted = list(DEFAULT_CHANNELS.get(error.severity, ())) or ["email"]
        if "sms" in wanted and not _sms_allowed(error.severity):
            wanted.remove("sms")
    channels = [c for c in wanted if registry.reachable(developer, c)]
    return channels or [c for c in ("email", "slack", "sms") if registry.reachable(developer, c)][:1]


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
