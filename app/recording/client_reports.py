"""Counting what a service's Sentry SDKs dropped before sending (their ``client_report`` items).

One row per service, day (UTC, of receipt: a client's clock does not choose the day), reason and
category, its quantity added to by one upsert per report; an SDK sends a report every few seconds
at most, so the table stays small (a few rows per service and day).
"""
from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.models import ClientDiscard
from app.models.types import utcnow
from app.platform.sql import dialect_insert

TABLE = ClientDiscard.__table__


def record_discarded(service_id: int, counts: dict[tuple[str, str], int], now: dt.datetime | None = None) -> None:
    """Add a client report's quantities (by reason and category) to the service's day; commits."""
    if not counts:
        return
    now = now or utcnow()
    rows = [{"service_id": service_id, "day": now.astimezone(dt.timezone.utc).date(), "reason": reason,
             "category": category, "quantity": quantity, "updated_at": now}
            for (reason, category), quantity in sorted(counts.items())]
    stmt = dialect_insert()(TABLE)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TABLE.c.service_id, TABLE.c.day, TABLE.c.reason, TABLE.c.category],
        set_={"quantity": TABLE.c.quantity + stmt.excluded.quantity, "updated_at": stmt.excluded.updated_at})
    with db.engine.begin() as conn:
        conn.execute(stmt, rows)
