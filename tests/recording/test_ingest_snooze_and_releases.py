"""What snoozes and releases cost the ingest writer: no statement more for a batch of errors that are not
snoozed and whose releases this process knows; one lookup for a release it has not seen; the snooze
conditions read only for errors whose row says snoozed."""
from __future__ import annotations

import contextlib

from sqlalchemy import event as sa_event

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.models import ErrorLog, Release
from app.recording.record import record_errors
from app.triage import snooze


def event(service, error_type="KeyError", **fields) -> IncomingError:
    return IncomingError(service_id=service.id, source="api", error_type=error_type, message="'input'",
                         platform="python", **fields)


@contextlib.contextmanager
def statements():
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    sa_event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", note)


def about_releases(seen: list[str]) -> list[str]:
    return [s for s in seen if "releases" in s.split(" WHERE ")[0]]


def about_snoozes(seen: list[str]) -> list[str]:
    # The writer's reading of snooze conditions and its waking (not the hand-off's reading of whole rows).
    return [s for s in seen if s.startswith(("SELECT error_logs.id, error_logs.snoozed_at,",
                                             "UPDATE error_logs SET snoozed_at"))]


def test_a_batch_of_known_releases_and_errors_not_snoozed_costs_no_statement_more(service):
    for _ in range(2):  # the first inserts the releases, the second reads their ids, committed, into the cache
        record_errors([event(service, release="1.0"), event(service, "ValueError", release="1.1")])
    with statements() as seen:
        results = record_errors([event(service, release="1.0"), event(service, release="1.1"),
                                 event(service, "ValueError", release="1.1"), event(service, "TypeError")])
    assert about_releases(seen) == [] and about_snoozes(seen) == []
    error = db.session.get(ErrorLog, results[0].error_id)
    ids = {r.version: r.id for r in db.session.execute(db.select(Release)).scalars()}
    assert (error.first_release_id, error.last_release_id) == (ids["1.0"], ids["1.1"])


def test_a_release_new_to_the_process_is_looked_up_once_for_the_batch(service):
    with statements() as seen:
        record_errors([event(service, release="2.0"), event(service, "ValueError", release="2.1"),
                       event(service, release="2.1")])
    found = about_releases(seen)
    assert len(found) == 2 and found[0].startswith("SELECT") and found[1].startswith("INSERT INTO releases")
    with statements() as seen:
        record_errors([event(service, release="2.0"), event(service, release="2.1")])
    # The ids this transaction inserted are read once more, committed, before the cache keeps them.
    assert len(about_releases(seen)) == 1 and about_releases(seen)[0].startswith("SELECT")
    with statements() as seen:
        record_errors([event(service, release="2.1"), event(service, "ValueError", release="2.0")])
    assert about_releases(seen) == []


def test_only_errors_whose_row_says_snoozed_have_their_conditions_read(service):
    (snoozed, _) = record_errors([event(service, "Snoozed"), event(service, "Awake")])
    snooze.snooze_error(db.session.get(ErrorLog, snoozed.error_id), None, snooze.SnoozeRule(events=5))
    with statements() as seen:
        record_errors([event(service, "Awake"), event(service, "Awake")])
    assert about_snoozes(seen) == []
    with statements() as seen:
        record_errors([event(service, "Snoozed"), event(service, "Awake")])
    assert len(about_snoozes(seen)) == 1
