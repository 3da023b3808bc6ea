"""E-mails about on-call swap requests: the colleague asked hears of the request (and of its withdrawal),
the requester of the answer.

The delivery row is recorded in the transaction that changes the request (app/triage/oncall_swaps.py),
so a request is never saved without its e-mail; after the commit the worker sends it
(``notice_queued``), and if the queue or the worker is down the retry sweep sends it when it runs
again (the row is due from the start: app/notify/recovery.py).
"""
from __future__ import annotations

from flask import current_app

from app.extensions import db
from app.models import OnCallSwap
from app.notify import channels as registry
from app.notify.channels.base import Notice
from app.notify.planning import PlannedDelivery, record_planned
from app.platform import hooks

#: Each swap event, and who hears of it.
SWAP_EVENTS = {"oncall.swap_requested": "colleague", "oncall.swap_cancelled": "colleague",
               "oncall.swap_accepted": "requester", "oncall.swap_declined": "requester"}


def queue_swap_notice(swap: OnCallSwap, event: str) -> list[int]:
    """Record the e-mail of a swap event in the caller's transaction; the ids go to ``send_queued``
    once it committed. Nothing when e-mail is off or the person has no address."""
    person = swap.colleague if SWAP_EVENTS[event] == "colleague" else swap.requester
    if person is None or not person.active or not registry.reachable(person, "email"):
        return []
    return record_planned([PlannedDelivery(f"{event}:{swap.id}", event, "email", f"dev:{person.id}", person.email,
                                           person.id)], None, commit=False)


def send_queued(notification_ids: list[int]) -> None:
    for notification_id in notification_ids:
        hooks.after_commit("notice_queued", notification_id=notification_id)


def swap_notice(event: str, ref: str) -> Notice | None:
    """``<swap id>``: the request, its schedule and window, who asked whom, and what became of it."""
    swap = db.session.get(OnCallSwap, int(ref)) if ref.isdigit() and len(ref) <= 9 else None
    if swap is None or event not in SWAP_EVENTS:
        return None
    requester, colleague, plan = swap.requester, swap.colleague, swap.schedule
    window = f"{swap.starts_at:%a %d %b %H:%M} to {swap.ends_at:%a %d %b %H:%M} UTC"
    headline, title = {
        "oncall.swap_requested": (f"{requester.name} asks you to take their on-call time",
                                  f"[Heartwatch] {requester.name} asks you to take {plan.name}, {window}"),
        "oncall.swap_cancelled": (f"{requester.name} withdrew their swap request",
                                  f"[Heartwatch] Swap request withdrawn: {plan.name}, {window}"),
        "oncall.swap_accepted": (f"{colleague.name} takes your on-call time",
                                 f"[Heartwatch] {colleague.name} accepted your swap: {plan.name}, {window}"),
        "oncall.swap_declined": (f"{colleague.name} cannot take your on-call time",
                                 f"[Heartwatch] {colleague.name} declined your swap: {plan.name}, {window}"),
    }[event]
    details = {"schedule": plan.name, "window": window, "requester": requester.name, "colleague": colleague.name,
               "note": swap.note, "status": swap.status, "event": event}
    return Notice(event=event, key=f"{event}:{swap.id}", title=title, headline=headline, template="oncall_swap",
                  url=f"{current_app.config['BASE_URL']}/oncall/mine#swaps", severity="info", details=details,
                  occurred_at=(swap.answered_at or swap.created_at).isoformat())
