"""Snoozing an error: it stays open but tells nobody until something wakes it (its state, and the ingest's
wake, are app/triage/snoozed.py's).

A snoozed error sends no notification (app/notify/planning.py asks ``is_snoozed``), escalates no
further (the sweep's candidates leave ``snoozed_clause`` out, app/triage/escalation.py), and leaves the
dashboard's default error list (``is:snoozed`` finds it, app/reports/search.py). It wakes at the first
of the conditions it was snoozed with:

- a time (``until``, or ``minutes`` from now): the scheduled job ``wake_snoozed_errors`` (``wake_due``);
- ``events`` more events than when it was snoozed: the ingest writer, which compares the occurrence count
  its upsert returns with ``snooze_wake_count`` for the errors whose row says snoozed (``wake_at_ingest``);
- more than ``per_hour`` events within an hour: the same, counting the error's events of the last hour
  (at most ``per_hour`` + 1 of them), again only for errors whose row says snoozed.

Waking tells it like a regression (the ``error.regressed`` event, so routing, channels and webhooks are
those of a regression, and a new open stretch begins), with an ``error.woke`` timeline entry saying why
("100 more events since snoozed"), which the notification shows as "woke: ...". Resolving, ignoring or
unsnoozing ends a snooze. The dashboard (error page, bulk bar) and the JSON API call the functions here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import ErrorLog
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.triage import kinds
from app.triage.changes import TriageError, _require, hand_off, queue_event
from app.triage.snoozed import clear, is_snoozed, snoozed_clause, until_reason, woke_details

MAX_COUNT = 10**9
MAX_MINUTES = 366 * 24 * 60
WAKE_EVENT = "error.regressed"
SWEEP_LIMIT = 500
# The dashboard's choices of a snooze's time (minutes, words).
CHOICES = ((60, "1 hour"), (480, "8 hours"), (1440, "24 hours"), (10080, "7 days"))


@dataclass(frozen=True)
class SnoozeRule:
    """What wakes a snoozed error: any of a time, a number of further events, a rate per hour."""

    until: dt.datetime | None = None
    events: int | None = None
    per_hour: int | None = None

    def as_details(self) -> dict:
        return {"until": self.until.isoformat() if self.until else None, "events": self.events,
                "per_hour": self.per_hour}


def _whole(values: Mapping, name: str, high: int) -> int | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise TriageError(f"'{name}' must be a whole number", name)
    if not 1 <= value <= high:
        raise TriageError(f"'{name}' must be between 1 and {high}", name)
    return value


def read_rule(values: Mapping, now: dt.datetime | None = None) -> SnoozeRule:
    """The rule of a snooze from the API's body or the dashboard's form: ``until`` (ISO 8601 or epoch
    seconds) or ``minutes`` from now, ``events``, ``per_hour``; at least one. Raises TriageError (400)
    naming the field."""
    from app.ingest.incoming import InvalidPayload, parse_timestamp

    now = now or utcnow()
    minutes = _whole(values, "minutes", MAX_MINUTES)
    try:
        until = parse_timestamp(values.get("until"), "until")
    except InvalidPayload as exc:
        raise TriageError(exc.message, "until") from None
    if until is not None and minutes is not None:
        raise TriageError("give 'until' or 'minutes', not both", "minutes")
    if minutes is not None:
        until = now + dt.timedelta(minutes=minutes)
    if until is not None and until <= now:
        raise TriageError("'until' must be in the future", "until")
    rule = SnoozeRule(until=until, events=_whole(values, "events", MAX_COUNT),
                      per_hour=_whole(values, "per_hour", MAX_COUNT))
    if rule.until is None and rule.events is None and rule.per_hour is None:
        raise TriageError("say what wakes it: 'until' or 'minutes', 'events', 'per_hour' (any of them)", "until")
    return rule


def snooze_error(error: ErrorLog, actor, rule: SnoozeRule, *, now: dt.datetime | None = None) -> ErrorLog:
    """Snooze an open error until ``rule`` wakes it (snoozing again replaces the rule); audited."""
    _require(actor, error)
    if not kinds.is_routable(error):
        raise TriageError(f"a {error.kind} report is never notified: there is nothing to snooze", "kind", status=409)
    if not error.is_open:
        raise TriageError(f"the error is {error.status}: only open errors are snoozed", "status", status=409)
    error.snoozed_at = now or utcnow()
    error.snoozed_until = rule.until
    error.snooze_events = rule.events
    # The count as the database has it now, not as this session read it: events keep coming meanwhile.
    error.snooze_wake_count = ErrorLog.occurrence_count + rule.events if rule.events else None
    error.snooze_per_hour = rule.per_hour
    record_audit(actor, "error.snoozed", "error", error.id, error_id=error.id, details=rule.as_details())
    db.session.commit()
    return error


def unsnooze_error(error: ErrorLog, actor) -> ErrorLog:
    """End a snooze by hand; nothing is told (the error is as it was before it was snoozed)."""
    _require(actor, error)
    if not is_snoozed(error):
        raise TriageError("the error is not snoozed", "status", status=409)
    clear(error)
    record_audit(actor, "error.unsnoozed", "error", error.id, error_id=error.id)
    db.session.commit()
    return error


def wakes(error: ErrorLog) -> list[str]:
    """What wakes the snoozed error, in words (the error page)."""
    words = []
    if error.snoozed_until is not None:
        words.append(f"at {error.snoozed_until.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    if error.snooze_events:
        words.append(f"after {error.snooze_events} more events (at {error.snooze_wake_count})")
    if error.snooze_per_hour:
        words.append(f"when more than {error.snooze_per_hour} events come in an hour")
    return words


# --- waking by time ----------------------------------------------------------------------------

def wake_due(now: dt.datetime | None = None) -> list[str]:
    """The scheduled job: wake every snoozed error whose time has come; returns their ids. Each under its
    row lock, so two workers wake an error once."""
    from app.triage.routing import lock_error

    now = now or utcnow()
    due = list(db.session.execute(select(ErrorLog.id).where(snoozed_clause(), ErrorLog.snoozed_until <= now)
                                  .order_by(ErrorLog.snoozed_until).limit(SWEEP_LIMIT)).scalars())
    db.session.commit()
    woken = []
    for error_id in due:
        error = lock_error(error_id)
        if error is None or not is_snoozed(error) or error.snoozed_until is None or error.snoozed_until > now:
            db.session.rollback()
            continue
        reason = until_reason(error.snoozed_until)
        clear(error)
        error.regressed_at = now
        error.regression_count = (error.regression_count or 0) + 1
        record_audit(None, "error.woke", "error", error.id, error_id=error.id,
                     details=woke_details(reason, error.regression_count))
        queue_event(error, WAKE_EVENT)
        db.session.commit()
        hand_off(error, WAKE_EVENT)
        woken.append(error_id)
    return woken
