"""The on-call hand-off: when a shift starts, each developer who comes on call gets an e-mail with the
open critical and high errors of the services they know, so they start informed.

The periodic job (app/jobs/scheduled.py, every ``interval_handoff_minutes``) looks back twice its
interval for slots that began (app/triage/schedules.py) and sends through the delivery rows like every
other notice; the key names the schedule, the shift's start and the person, so a second look at the
same start sends nothing.
"""
from __future__ import annotations

import datetime as dt
from itertools import pairwise

from sqlalchemy import select

from app.extensions import db
from app.models import Developer, OnCallSchedule
from app.models.types import utcnow
from app.notify import channels as registry
from app.notify.delivery import send_notice
from app.notify.planning import PlannedDelivery
from app.triage import schedules

HANDOFF_SEVERITIES = ("critical", "high")


def handoff_key(schedule_id: int, starts_at: dt.datetime, developer_id: int) -> str:
    return f"oncall.handoff:{schedule_id}:{int(starts_at.timestamp())}:{developer_id}"


def starting_shifts(since: dt.datetime, until: dt.datetime) -> list[tuple[OnCallSchedule, schedules.Slot, int]]:
    """(schedule, slot, developer) for every developer who came on call in a schedule in (since, until]."""
    found = []
    for plan in db.session.execute(select(OnCallSchedule).order_by(OnCallSchedule.id)).scalars():
        slots = schedules.timeline(plan, since, until + dt.timedelta(microseconds=1))
        for before, slot in pairwise(slots):
            found.extend((plan, slot, person) for person in slot.people if person not in before.people)
    return found


def send_handoffs(lookback: dt.timedelta, now: dt.datetime | None = None) -> list[int]:
    """E-mail each developer whose shift started within ``lookback`` of ``now`` (once per shift)."""
    if not registry.is_configured("email"):
        return []
    now = now or utcnow()
    deliveries = []
    for plan, slot, person in starting_shifts(now - lookback, now):
        developer = db.session.get(Developer, person)
        if developer is None or not developer.active or not registry.reachable(developer, "email"):
            continue
        deliveries.append(PlannedDelivery(handoff_key(plan.id, slot.starts_at, person), "oncall.handoff", "email",
                                          f"dev:{person}", developer.email, person))
    return send_notice(deliveries)
