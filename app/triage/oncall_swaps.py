"""Swap requests: a developer asks a colleague to take some of their on-call time; the colleague
accepts (the time becomes an override: the colleague instead of the requester) or declines, and the
requester may withdraw a request nobody answered yet. Each step is audited, and e-mailed to the other
person in the same transaction (app/notify/swaps.py)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Developer, OnCallSchedule, OnCallSwap
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import column_text
from app.triage import oncall, schedules
from app.triage.oncall import OnCallError


def request_swap(schedule: OnCallSchedule, requester: Developer, colleague: Developer, starts_at: dt.datetime,
                 ends_at: dt.datetime, actor: Developer | None, *, note: str | None = None) -> OnCallSwap:
    """Ask ``colleague`` to take ``requester``'s time of the schedule in the window. The requester asks
    for themselves (leads, managers and admins for anyone), must be on call somewhere in the window,
    and the colleague must be another active developer."""
    if actor is not None and actor.id != requester.id and not actor.is_supervisor:
        raise OnCallError("developers ask for swaps of their own on-call time", status=403)
    if colleague.id == requester.id:
        raise OnCallError("ask someone else to take the time", "colleague_id")
    if not colleague.active:
        raise OnCallError("that colleague's account is inactive", "colleague_id")
    start, end = oncall.window(starts_at, ends_at)
    if not any(requester.id in slot.people for slot in schedules.timeline(schedule, start, end)):
        raise OnCallError("the requester is not on call in this schedule at that time", "starts_at")
    swap = OnCallSwap(schedule_id=schedule.id, requester_id=requester.id, colleague_id=colleague.id, starts_at=start,
                      ends_at=end, status="pending",
                      note=column_text(note, OnCallSwap.note, "note", refusal=OnCallError))
    db.session.add(swap)
    db.session.flush()
    record_audit(actor, "oncall.swap_requested", "schedule", schedule.id,
                 details={"swap_id": swap.id, "requester": requester.id, "colleague": colleague.id})
    _commit_with_notice(swap, "oncall.swap_requested")
    return swap


def _commit_with_notice(swap: OnCallSwap, event: str) -> None:
    from app.notify import swaps as notices

    queued = notices.queue_swap_notice(swap, event)
    db.session.commit()
    notices.send_queued(queued)


def _pending(swap: OnCallSwap) -> None:
    if swap.status != "pending":
        raise OnCallError(f"this swap request is {swap.status} already", status=409)


def accept_swap(swap: OnCallSwap, actor: Developer) -> OnCallSwap:
    """The colleague takes the time: an override puts them on call instead of the requester."""
    if actor.id != swap.colleague_id:
        raise OnCallError("only the colleague asked accepts a swap", status=403)
    _pending(swap)
    # The hand-over is the requester's (as if they had set the override themselves).
    override = oncall.add_override(swap.schedule, swap.colleague, swap.starts_at, swap.ends_at, swap.requester,
                                   replaces=swap.requester, reason=swap.note or "swap")
    swap.status, swap.override_id, swap.answered_at = "accepted", override.id, utcnow()
    record_audit(actor, "oncall.swap_accepted", "schedule", swap.schedule_id,
                 details={"swap_id": swap.id, "override_id": override.id})
    _commit_with_notice(swap, "oncall.swap_accepted")
    return swap


def decline_swap(swap: OnCallSwap, actor: Developer) -> OnCallSwap:
    if actor.id != swap.colleague_id:
        raise OnCallError("only the colleague asked declines a swap", status=403)
    return _close(swap, actor, "declined")


def cancel_swap(swap: OnCallSwap, actor: Developer) -> OnCallSwap:
    if actor.id != swap.requester_id and not actor.is_supervisor:
        raise OnCallError("only the requester withdraws a swap request", status=403)
    return _close(swap, actor, "cancelled")


def _close(swap: OnCallSwap, actor: Developer, status: str) -> OnCallSwap:
    _pending(swap)
    swap.status, swap.answered_at = status, utcnow()
    record_audit(actor, f"oncall.swap_{status}", "schedule", swap.schedule_id, details={"swap_id": swap.id})
    _commit_with_notice(swap, f"oncall.swap_{status}")
    return swap


def swaps_of(developer: Developer) -> list[OnCallSwap]:
    """The swap requests a developer asked or was asked, newest first."""
    return list(db.session.execute(select(OnCallSwap).where(or_(OnCallSwap.requester_id == developer.id,
                                                                OnCallSwap.colleague_id == developer.id))
                                   .order_by(OnCallSwap.created_at.desc(), OnCallSwap.id.desc()).limit(200)).scalars())
