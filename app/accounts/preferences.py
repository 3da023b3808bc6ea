"""A developer's own notification preferences: channels per severity, quiet hours, phone, Slack member
id and personal Slack webhook.

Stored on the developer row: ``notification_preferences`` is ``{"critical": ["email", "slack", "sms"],
...}`` (None means the defaults below), quiet hours are "HH:MM" in the developer's time zone.
Routing intersects the channels of a severity with these (shared/DESIGN.md section 5).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.extensions import db
from app.models import SEVERITIES, Developer
from app.platform.audit import record_audit
from app.platform.refusal import Refused
from app.notify import channels as registry
from app.notify.channels.slack import slack_member_id
from app.notify.subscriptions import WebhookError, check_url

PERSONAL_CHANNELS = ("email", "slack", "sms")
# The channels each severity reaches by default (DESIGN section 5); low and info stay on the dashboard.
DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "critical": ("email", "slack", "sms"),
    "high": ("email", "slack"),
    "medium": ("email",),
    "low": (),
    "info": (),
}
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_PHONE = re.compile(r"\+[1-9]\d{6,14}")


class PreferenceError(Refused):
    """A preference that cannot be saved; ``field`` names the form field."""


@dataclass
class NotificationPreferences:
    channels: dict[str, list[str]] = field(default_factory=dict)
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    timezone: str | None = None
    phone: str | None = None
    slack_member_id: str | None = None
    # Whether a personal Slack webhook is set: the URL is a secret and is never shown back.
    has_slack_webhook: bool = False


def channels_for(developer: Developer) -> dict[str, list[str]]:
    """The channels per severity that this developer receives (their choice, else the defaults)."""
    chosen = developer.notification_preferences or {}
    result = {}
    for severity in reversed(SEVERITIES):
        value = chosen.get(severity)
        if isinstance(value, list):
            result[severity] = [c for c in PERSONAL_CHANNELS if c in value]
        else:
            result[severity] = list(DEFAULT_CHANNELS[severity])
    return result


def offered_channels(developer: Developer) -> list[str]:
    """The channels the preferences form offers: those the deployment has on, and Slack for a
    developer with a personal webhook (which needs no team channel)."""
    return [c for c in PERSONAL_CHANNELS if registry.is_configured(c) or registry.reachable(developer, c)]


def preferences_of(developer: Developer) -> NotificationPreferences:
    """Everything the preferences page shows for a developer."""
    return NotificationPreferences(
        channels=channels_for(developer), quiet_hours_start=developer.quiet_hours_start,
        quiet_hours_end=developer.quiet_hours_end, timezone=developer.timezone, phone=developer.phone,
        slack_member_id=developer.slack_member_id, has_slack_webhook=bool(developer.slack_webhook_url),
    )


def normalise_phone(value: str | None) -> str | None:
    """E.164 (+ and digits); spaces, dashes, dots and brackets people type are dropped."""
    text = (value or "").strip()
    if not text:
        return None
    compact = re.sub(r"[\s\-.()]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _PHONE.fullmatch(compact):
        raise PreferenceError("a phone number in international form, like +41 79 123 45 67", "phone")
    return compact


def normalise_slack_member(value: str | None) -> str | None:
    """The Slack member id as the Slack channel accepts it (``slack_member_id``), None when blank."""
    try:
        return slack_member_id(value)
    except ValueError as exc:
        raise PreferenceError(str(exc), "slack_member_id") from None


def normalise_slack_webhook(value: str | None) -> str | None:
    """A personal Slack incoming webhook, checked like every outbound webhook URL; None when blank."""
    if not (value or "").strip():
        return None
    try:
        url = check_url(value)
    except WebhookError as exc:
        raise PreferenceError(exc.message, "slack_webhook_url") from None
    if len(url) > Developer.slack_webhook_url.type.length:
        raise PreferenceError(f"the URL must be {Developer.slack_webhook_url.type.length} characters at most",
                              "slack_webhook_url")
    return url


def _time(value: str | None, name: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    if not _TIME.fullmatch(text):
        raise PreferenceError("a time as HH:MM, 24-hour clock", name)
    return text


def update_preferences(developer: Developer, actor: Developer, *, channels: dict[str, list[str]],
                       quiet_hours_start: str | None, quiet_hours_end: str | None, timezone: str | None,
                       phone: str | None, slack_member_id: str | None, slack_webhook_url: str | None = None,
                       remove_slack_webhook: bool = False) -> Developer:
    """Save a developer's own preferences after checking every field; nothing changes on error.

    Only the developer themselves sets them (leads edit contact details through the team page).
    SMS needs a phone number and Slack a member id or a personal webhook; critical errors must
    keep at least one channel, so they always reach someone. A blank ``slack_webhook_url`` keeps
    the personal webhook (it is never shown back), ``remove_slack_webhook`` clears it.
    """
    if actor.id != developer.id:
        raise PreferenceError("only the developer sets their own notification preferences", "developer")
    phone = normalise_phone(phone)
    member = normalise_slack_member(slack_member_id)
    webhook = None if remove_slack_webhook else (normalise_slack_webhook(slack_webhook_url) or
                                                 developer.slack_webhook_url)
    chosen: dict[str, list[str]] = {}
    for severity in reversed(SEVERITIES):
        picked = channels.get(severity) or []
        unknown = [c for c in picked if c not in PERSONAL_CHANNELS]
        if unknown:
            raise PreferenceError(f"unknown channel {unknown[0]!r}", f"channels_{severity}")
        chosen[severity] = [c for c in PERSONAL_CHANNELS if c in picked]
    if not chosen["critical"]:
        raise PreferenceError("critical errors need at least one channel", "channels_critical")
    used = {c for picked in chosen.values() for c in picked}
    if "sms" in used and phone is None:
        raise PreferenceError("SMS needs a phone number", "phone")
    if "slack" in used and member is None and not webhook:
        raise PreferenceError("Slack needs your member id", "slack_member_id")
    start, end = _time(quiet_hours_start, "quiet_hours_start"), _time(quiet_hours_end, "quiet_hours_end")
    if (start is None) != (end is None):
        raise PreferenceError("quiet hours need both a start and an end", "quiet_hours_end" if start else
                              "quiet_hours_start")
    if start is not None and start == end:
        raise PreferenceError("quiet hours cannot start and end at the same time", "quiet_hours_end")
    zone = (timezone or "").strip() or None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PreferenceError(f"unknown time zone {zone!r}", "timezone") from None
    developer.notification_preferences = chosen
    developer.quiet_hours_start, developer.quiet_hours_end = start, end
    developer.timezone = zone
    webhook_changed = webhook != developer.slack_webhook_url
    developer.phone, developer.slack_member_id, developer.slack_webhook_url = phone, member, webhook
    details: dict = {"channels": chosen, "quiet_hours": [start, end] if start else None}
    if webhook_changed:
        details["personal_slack_webhook"] = "set" if webhook else "removed"  # never the URL: it is a secret
    record_audit(actor, "developer.preferences_changed", "developer", developer.id, details=details)
    db.session.commit()
    return developer


def time_zones() -> list[str]:
    """Time zone names for the preferences form, common ones first."""
    common = ["UTC", "Europe/London", "Europe/Berlin", "Europe/Zurich", "America/New_York", "America/Los_Angeles",
              "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"]
    return common + sorted(available_timezones() - set(common))
