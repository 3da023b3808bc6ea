"""Answers to a notification from outside the dashboard: a one-click e-mail link, a Slack button or
slash command, an SMS reply. Each is one of a few actions by a developer the channel vouches for (a
signed link, Slack's or Twilio's signature), and goes through the same function of app/triage as the
dashboard's and the API's forms: the same permissions, the same audit rows.

Errors are named by their id or, where a person types it (SMS, the slash command), by its first
``SHORT_REF`` characters, as the SMS shows them.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Developer, ErrorLog
from app.models.error import SHORT_REF, short_ref  # noqa: F401 (the typed answers name errors so)
from app.triage import acknowledge, snooze
from app.triage import changes as triage
from app.triage.changes import TriageError

# What each channel offers (the e-mail links: acknowledge, resolve, snooze for an hour; app/notify/action_links.py).
ANSWERS = ("acknowledge", "resolve", "assign_to_me", "snooze_hour")
SNOOZE_MINUTES = 60
_REF = re.compile(r"[0-9a-fA-F-]{%d,36}" % SHORT_REF)


def find_error(ref: str) -> ErrorLog:
    """The error a typed reference names: its id, or a prefix of at least ``SHORT_REF`` characters that
    only one error has. Raises TriageError (404 unknown, 409 ambiguous) otherwise."""
    ref = (ref or "").strip().lower()
    if not _REF.fullmatch(ref):
        raise TriageError(f"name the error by the first {SHORT_REF} characters of its id or more", "error",
                          status=400)
    if len(ref) == 36:
        error = db.session.get(ErrorLog, ref)
        if error is not None:
            return error
    found = list(db.session.execute(select(ErrorLog).where(ErrorLog.id.startswith(ref, autoescape=True))
                                    .order_by(ErrorLog.last_seen.desc()).limit(2)).scalars())
    if not found:
        raise TriageError(f"no error {ref}", "error", status=404)
    if len(found) > 1:
        raise TriageError(f"more than one error starts with {ref}: give more of its id", "error", status=409)
    return found[0]


def answer(error: ErrorLog, developer: Developer, action: str, *, via: str) -> str:
    """Do what the answer says as ``developer``; returns the sentence to reply with. Raises TriageError."""
    if not developer.active:
        raise TriageError("that developer's account is inactive", status=403)
    if action == "acknowledge":
        acknowledge.acknowledge_error(error, developer, via=via)
        return f"Acknowledged by {developer.name}: the escalation waits."
    if action == "resolve":
        triage.resolve_error(error, developer, f"resolved from {via}")
        return f"Resolved by {developer.name}."
    if action == "assign_to_me":
        triage.assign_error(error, developer, developer, reason=f"taken from {via}")
        return f"Assigned to {developer.name}."
    if action == "snooze_hour":
        snooze.snooze_error(error, developer, snooze.read_rule({"minutes": SNOOZE_MINUTES}))
        return f"Snoozed for an hour by {developer.name}: nothing is told until it wakes."
    raise TriageError(f"the answer must be one of {', '.join(ANSWERS)}", "action")


def developer_by_slack_user(user_id: str | None) -> Developer | None:
    """The developer whose stored Slack member id is ``user_id`` (as preferences keep it: capitals)."""
    member = (user_id or "").strip().upper()
    if not member:
        return None
    return db.session.execute(select(Developer).where(Developer.slack_member_id == member, Developer.active.is_(True))
                              .order_by(Developer.id).limit(1)).scalar_one_or_none()


def phone_digits(number: str | None) -> str:
    """A phone number as digits only (``+41 79 000 00 10`` and ``+41790000010`` are the same number)."""
    return "".join(ch for ch in (number or "") if ch.isdigit())


def developer_by_phone(number: str | None) -> Developer | None:
    """The active developer whose phone is ``number`` (E.164 as Twilio sends it; stored numbers may
    carry spaces or dashes). None when nobody or more than one has it."""
    digits = phone_digits(number)
    if len(digits) < 6:
        return None
    candidates = db.session.execute(select(Developer).where(Developer.active.is_(True), Developer.phone.isnot(None),
                                                            func.length(Developer.phone) >= 6)).scalars()
    matches = [d for d in candidates if phone_digits(d.phone) == digits]
    return matches[0] if len(matches) == 1 else None
