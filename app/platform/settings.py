"""Runtime settings: thresholds, job intervals, escalation times, retention and delivery retries.

Each setting has its default in app/config.py (from the environment) and can be changed at run
time; a change is a row in ``settings`` (with an audit row) and wins over the default until it is
reset. Channel credentials (SMTP, Slack, Twilio) are not here: they are secrets and stay in the
environment; so does OUTBOUND_ALLOWED_NETWORKS (app/config.py), which only the operator may widen. The dashboard edits these through ``update_setting`` and lists them with ``describe``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import SEVERITIES, Developer, Setting
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import Refused

_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class SettingError(Refused):
    """A value a setting cannot take; ``field`` is the setting's key."""


@dataclass(frozen=True)
class Tunable:
    key: str
    kind: str  # int, minutes_list, time, severities
    group: str
    label: str
    minimum: int = 0
    maximum: int = 10**6

    @property
    def config_name(self) -> str:
        return self.key.upper()


TUNABLES: tuple[Tunable, ...] = (
    Tunable("threshold_errors_per_hour", "int", "thresholds", "Errors per hour before an alert", 1),
    Tunable("threshold_critical_per_hour", "int", "thresholds", "Critical errors per hour before an alert", 1),
    Tunable("threshold_rate_rise_percent", "int", "thresholds",
            "Rise of the hourly error rate over the hour before (percent) before an alert", 1, 100000),
    Tunable("threshold_rate_min_errors", "int", "thresholds",
            "Errors in the last hour below which a rising rate is not alerted", 0),
    Tunable("threshold_escalation_backlog", "int", "thresholds", "Unresolved escalations before an alert", 1),
    Tunable("alert_cooldown_minutes", "int", "thresholds", "Minutes before the same breach is mailed again", 1,
            7 * 24 * 60),
    Tunable("escalate_critical_after_minutes", "int", "escalation",
            "Minutes a critical error stays unresolved before each escalation level", 1, 30 * 24 * 60),
    Tunable("escalate_high_after_minutes", "int", "escalation",
            "Minutes a high error stays unresolved before each escalation level", 1, 30 * 24 * 60),
    Tunable("ack_timeout_minutes", "int", "escalation",
            "Minutes an acknowledgement holds the escalation without progress (an assignment, a status "
            "change, the resolution) before the chain goes on", 1, 7 * 24 * 60),
    Tunable("interval_retry_notifications_minutes", "int", "intervals", "Sweep for due and stuck deliveries", 1,
            24 * 60),
    Tunable("interval_outbox_minutes", "int", "intervals",
            "Drain of error events whose hand-off to the worker was lost or cut short", 1, 60),
    Tunable("interval_patterns_minutes", "int", "intervals", "Error pattern analysis", 5, 7 * 24 * 60),
    Tunable("interval_escalation_minutes", "int", "intervals", "Escalation of unresolved errors", 1, 24 * 60),
    Tunable("interval_retention_minutes", "int", "intervals", "Clean-up of old data", 5, 7 * 24 * 60),
    Tunable("interval_thresholds_minutes", "int", "intervals", "Threshold checks", 1, 24 * 60),
    Tunable("interval_handoff_minutes", "int", "intervals", "On-call hand-off e-mails at the start of shifts", 1, 60),
    Tunable("interval_mirror_minutes", "int", "intervals", "MongoDB mirror (when MONGO_URL is set)", 1, 24 * 60),
    Tunable("interval_event_budget_minutes", "int", "intervals",
            "Thinning of the errors that have more events than the budget", 5, 7 * 24 * 60),
    Tunable("daily_summary_time", "time", "intervals", "Time of the daily summary e-mail (HEARTWATCH_TIMEZONE)"),
    Tunable("retention_days", "int", "retention", "Days occurrences are kept", 1, 3650),
    Tunable("retention_resolved_days", "int", "retention", "Days resolved errors are kept after resolution", 1, 3650),
    Tunable("retention_notification_days", "int", "retention", "Days the notification audit trail is kept", 1, 3650),
    Tunable("retention_rollup_days", "int", "retention",
            "Days the hourly event counts (charts, stats) are kept; never fewer than the occurrences' days", 1, 3650),
    Tunable("events_per_error", "int", "retention",
            "Events kept per error: its first tenth, its latest four tenths and an even sample between "
            "(its counts, tags and users stay exact)", 10, 10**7),
    Tunable("notify_retry_delays_minutes", "minutes_list", "delivery",
            "Minutes before each retry of a failed delivery (the number of entries is the number of retries)"),
    Tunable("sms_severities", "severities", "delivery", "Severities that may be sent by SMS"),
)
BY_KEY = {t.key: t for t in TUNABLES}


def parse_value(tunable: Tunable, raw) -> object:
    """The typed value of a form field, JSON value or environment string; raises SettingError."""
    key = tunable.key
    if tunable.kind == "int":
        if isinstance(raw, bool):
            raise SettingError("a whole number is required", key)
        try:
            number = int(str(raw).strip())
        except (TypeError, ValueError):
            raise SettingError("a whole number is required", key) from None
        if not tunable.minimum <= number <= tunable.maximum:
            raise SettingError(f"must be between {tunable.minimum} and {tunable.maximum}", key)
        return number
    if tunable.kind == "minutes_list":
        parts = raw if isinstance(raw, list) else str(raw or "").replace(";", ",").split(",")
        try:
            minutes = [int(str(p).strip()) for p in parts if str(p).strip() != ""]
        except ValueError:
            raise SettingError("whole minutes separated by commas, like 1, 4, 16", key) from None
        if not 1 <= len(minutes) <= 10 or any(m < 1 or m > 7 * 24 * 60 for m in minutes):
            raise SettingError("one to ten delays, each between 1 minute and 7 days", key)
        return minutes
    if tunable.kind == "time":
        text = str(raw or "").strip()
        if len(text) == 4 and text[1] == ":":
            text = "0" + text
        if not _TIME.fullmatch(text):
            raise SettingError("a time as HH:MM, 24-hour clock", key)
        return text
    if tunable.kind == "severities":
        parts = raw if isinstance(raw, list) else str(raw or "").split(",")
        chosen = [str(p).strip().lower() for p in parts if str(p).strip()]
        unknown = [s for s in chosen if s not in SEVERITIES]
        if unknown:
            raise SettingError(f"unknown severity {unknown[0]!r}", key)
        return [s for s in SEVERITIES if s in chosen]
    raise SettingError("unknown kind of setting", key)


def default_value(key: str) -> object:
    """The value from app/config.py (the environment), parsed like a stored one."""
    tunable = BY_KEY[key]
    return parse_value(tunable, current_app.config.get(tunable.config_name))


def current() -> dict[str, object]:
    """Every setting in force: stored values over the defaults (one query)."""
    stored = {row.key: row.value for row in db.session.execute(select(Setting)).scalars()}
    values = {}
    for tunable in TUNABLES:
        if tunable.key in stored:
            try:
                values[tunable.key] = parse_value(tunable, stored[tunable.key])
                continue
            except SettingError:
                pass  # a value saved under older limits: the default applies until it is changed
        values[tunable.key] = default_value(tunable.key)
    return values


def get(key: str) -> object:
    """One setting in force."""
    tunable = BY_KEY[key]
    row = db.session.get(Setting, key)
    if row is not None:
        try:
            return parse_value(tunable, row.value)
        except SettingError:
            pass
    return default_value(tunable.key)


def describe() -> list[dict]:
    """Every setting with its label, group, value in force, default and whether it was changed."""
    stored = {row.key: row for row in db.session.execute(select(Setting)).scalars()}
    values = current()
    return [{"key": t.key, "label": t.label, "group": t.group, "kind": t.kind, "value": values[t.key],
             "default": default_value(t.key), "changed": t.key in stored,
             "updated_at": stored[t.key].updated_at if t.key in stored else None} for t in TUNABLES]


def update_setting(key: str, raw, actor: Developer | None) -> object:
    """Validate and store a new value (only admins, checked by the caller); audited."""
    tunable = BY_KEY.get(key)
    if tunable is None:
        raise SettingError(f"unknown setting {key!r}", "key")
    value = parse_value(tunable, raw)
    row = db.session.get(Setting, key)
    previous = row.value if row is not None else default_value(key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value, row.updated_at = value, utcnow()
    row.updated_by_id = actor.id if actor else None
    record_audit(actor, "settings.changed", "setting", key, details={"from": previous, "to": value})
    db.session.commit()
    return value


def reset_setting(key: str, actor: Developer | None) -> object:
    """Drop a stored value: the default from the environment applies again."""
    if key not in BY_KEY:
        raise SettingError(f"unknown setting {key!r}", "key")
    row = db.session.get(Setting, key)
    if row is not None:
        record_audit(actor, "settings.reset", "setting", key, details={"from": row.value})
        db.session.delete(row)
        db.session.commit()
    return default_value(key)
