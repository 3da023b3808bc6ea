"""Sending the notices app/reports measures for: the daily summary and threshold alerts.

The reports compute and record the figures (``app.reports.stats`` rolls up the day,
``app.reports.thresholds`` records a snapshot and which breaches are due an alert); the scheduled
jobs then call these functions, which choose the recipients and send through the delivery rows
like every other notice (``app.notify.compose`` words them). The idempotency keys are per day
and per snapshot, so a second run sends nothing.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import Developer, MetricSnapshot
from app.notify import channels as registry
from app.notify import subscriptions as webhooks_out
from app.notify.delivery import send_notice
from app.notify.planning import PlannedDelivery

SUMMARY_ROLES = ("lead", "manager", "admin")


def send_daily_summary(day: dt.date) -> list[int]:
    """E-mail the summary of ``day`` to every active lead, manager and admin (none without e-mail)."""
    if not registry.is_configured("email"):
        return []
    notice_key = f"summary.daily:{day.isoformat()}"
    people = db.session.execute(select(Developer).where(Developer.role.in_(SUMMARY_ROLES), Developer.active.is_(True))
                                .order_by(Developer.id)).scalars()
    return send_notice([PlannedDelivery(notice_key, "summary.daily", "email", f"dev:{p.id}", p.email, p.id)
                        for p in people if registry.reachable(p, "email")])


def send_threshold_alert(snapshot: MetricSnapshot) -> list[int]:
    """Alert the admins by e-mail, and ``threshold.breached`` webhook subscribers, of the breaches
    the snapshot says are due (nothing when none is)."""
    if not snapshot.alerted:
        return []
    notice_key = f"threshold.breached:{snapshot.id}"
    deliveries = []
    if registry.is_configured("email"):
        admins = db.session.execute(select(Developer).where(Developer.role == "admin", Developer.active.is_(True))
                                    .order_by(Developer.id)).scalars()
        deliveries += [PlannedDelivery(notice_key, "threshold.breached", "email", f"dev:{a.id}", a.email, a.id)
                       for a in admins if registry.reachable(a, "email")]
    deliveries += [PlannedDelivery(notice_key, "threshold.breached", "webhook", f"webhook:{s.id}",
                                   f"webhook {s.name} ({webhooks_out.safe_url(s.url)})")
                   for s in webhooks_out.subscribers("threshold.breached")]
    return send_notice(deliveries)
