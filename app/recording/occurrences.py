"""The events' rows as the ingest writer stores them (app/recording/record.py, whose prebuilt statements
``statements`` are): an event id already stored is a resend, stored once; another service's event id is
not, and the event gets an id of its own."""
from __future__ import annotations

from app.models.types import new_uuid
from app.recording.prepare import PreparedEvent


def stored(conn, statements, ids: list[str]) -> dict[str, tuple]:
    """Occurrences already stored under these ids: id -> (error id, service id, status, severity)."""
    if not ids:
        return {}
    return {row[0]: tuple(row[1:]) for row in conn.execute(statements.known_occurrences, {"ids": ids})}


def insert(conn, statements, events: list[PreparedEvent]) -> dict[str, tuple]:
    """Insert the events' occurrences; returns those another transaction stored first under the same
    event id (a resend racing its original), as ``stored`` describes them."""
    inserted = set(conn.execute(statements.insert_occurrences, [p.occurrence for p in events]).scalars())
    missing = [p for p in events if p.occurrence_id not in inserted]
    if not missing:
        return {}
    owners = stored(conn, statements, [p.occurrence_id for p in missing])
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
