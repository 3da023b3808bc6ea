"""What a service's SDKs dropped before sending, as their client reports counted it (read side)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.models import ClientDiscard
from app.models.types import utcnow

MAX_DAYS = 90


def client_discarded(service_id: int, days: int = 30, now: dt.datetime | None = None) -> dict:
    """The last ``days`` days (today included): the total, the quantities by reason and category (most
    first) and per day (newest first)."""
    today = (now or utcnow()).astimezone(dt.timezone.utc).date()
    since = today - dt.timedelta(days=days - 1)
    where = (ClientDiscard.service_id == service_id, ClientDiscard.day >= since)
    quantity = func.sum(ClientDiscard.quantity)
    by_reason = [
        {"reason": reason, "category": category, "quantity": int(total)}
        for reason, category, total in db.session.execute(
            select(ClientDiscard.reason, ClientDiscard.category, quantity).where(*where)
            .group_by(ClientDiscard.reason, ClientDiscard.category)
            .order_by(quantity.desc(), ClientDiscard.reason, ClientDiscard.category)).all()
    ]
    per_day = [
        {"day": row.day, "reason": row.reason, "category": row.category, "quantity": int(row.quantity)}
        for row in db.session.execute(
            select(ClientDiscard).where(*where)
            .order_by(ClientDiscard.day.desc(), ClientDiscard.reason, ClientDiscard.category)).scalars()
    ]
    return {"service_id": service_id, "days": days, "since": since,
            "total": sum(item["quantity"] for item in by_reason), "by_reason": by_reason, "per_day": per_day}
