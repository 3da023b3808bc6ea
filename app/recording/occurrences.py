"""The events' rows as the ingest writer stores them (app/recording/record.py, whose prebuilt statements
``statements`` are): an event id already stored is a resend, stored once; another service's event id is
not, and the event gets an id of its own.

A resend is looked for among the events received in the ``RESEND_WINDOW`` before the batch's oldest
event (a spooled event keeps the time it was received, so a replay finds its original). SDKs resend
within seconds to hours (a retry, an offline cache sent at the next start); Sentry itself drops a
repeated event id for one hour. The bound matters on PostgreSQL: the events table is partitioned by the
day an event was received (app/models/partitions.py), and a look-up by id alone probes every day's
index, 99 of them at 90 days' retention, while the window prunes it to the last one or two.
"""
from __future__ import annotations

import datetime as dt

from app.models.types import new_uuid
from app.recording.prepare import PreparedEvent

RESEND_WINDOW = dt.timedelta(hours=24)


def resend_since(events: list[PreparedEvent]) -> dt.datetime:
    """The earliest time a first copy of these events' ids is looked for."""
    return min(p.received_at for p in events) - RESEND_WINDOW


def stored(conn, statements, ids: list[str], since: dt.datetime) -> dict[str, tuple]:
    """Occurrences received since ``since`` under these ids: id -> (error id, service id, status,
    severity)."""
    if not ids:
        return {}
    return {row[0]: tuple(row[1:]) for row in
            conn.execute(statements.known_occurrences, {"ids": ids, "since": since})}


def insert(conn, statements, events: list[PreparedEvent]) -> dict[str, tuple]:
    """Insert the events' occurrences; returns those another transaction stored first under the same
    event id (a resend racing its original), as ``stored`` describes them."""
    inserted = set(conn.execute(statements.insert_occurrences, [p.occurrence for p in events]).scalars())
    missing = [p for p in events if p.occurrence_id not in inserted]
    if not missing:
        return {}
    owners = stored(conn, statements, [p.occurrence_id for p in missing], resend_since(missing))
    resent, again = {}, []
    for p in missing:
        owner = owners.get(p.occurrence_id)
        if owner is not None and owner[1] == p.incoming.service_id:
            resent[p.occurrence_id] = owner
        else:  # another service's event id: this event is stored under an id of its own
            p.occurrence_id = p.occurrence["id"] = new_uuid()
            p.client_event_id = False
            again.append(p.occurrence)
    if again:
        conn.execute(statements.insert_occurrences, again).all()
    return resent
