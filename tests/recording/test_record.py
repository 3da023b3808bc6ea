"""record_error / record_errors: grouping, regressions, severity, duplicates, odd input, the group-commit writer."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from app.extensions import db
from app.ingest.incoming import IncomingError, error_chain
from app.ingest.stacktraces import make_frame
from app.models import AuditEvent, ErrorLog, ErrorOccurrence
from app.models.types import utcnow
from app.reports import events
from app.triage import changes as triage
from app.recording.record import record_error, record_errors
from app.recording.writer import submit_error
from tests.factories import drain_ingest_writer, make_developer, make_service



def event(service, error_type="KeyError", message="'input'", **fields) -> IncomingError:
    """An event of ``service`` (a Service, or its id where a thread must not touch the ORM object)."""
    service_id = service if isinstance(service, int) else service.id
    return IncomingError(service_id=service_id, source="api", error_type=error_type, message=message,
                         platform="python", **fields)


def at(**delta) -> dt.datetime:
    return utcnow() - dt.timedelta(**delta)


def error_row(error_id: str) -> ErrorLog:
    db.session.expire_all()
    return db.session.get(ErrorLog, error_id)


def occurrence_count(error_id: str | None = None) -> int:
    stmt = db.select(db.func.count()).select_from(ErrorOccurrence)
    if error_id:
        stmt = stmt.where(ErrorOccurrence.error_id == error_id)
    return db.session.execute(stmt).scalar_one()


@pytest.fixture
def lead(app, service):
    # Not on call: routing (in-line after each record) leaves the errors of these tests unassigned.
    return make_developer("Lena Lead", role="lead", services=[service], password=None)


# --- grouping ----------------------------------------------------------------------------------

def test_first_occurrence_creates_the_error(service):
    result = record_error(event(service, severity="medium", environment="production", release="1.0",
                                endpoint="POST /predict", timestamp=at(minutes=5)))
    assert (result.is_new, result.regressed, result.duplicate, result.event) == (True, False, False, "error.created")
    error = error_row(result.error_id)
    assert (error.service_id, error.error_type, error.message, error.severity, error.severity_level) == (
        service.id, "KeyError", "'input'", "medium", 3)
    assert (error.status, error.resolved, error.occurrence_count) == ("new", False, 1)
    assert (error.environment, error.release, error.endpoint, error.platform) == ("production", "1.0",
                                                                                 "POST /predict", "python")
    assert error.first_seen == error.last_seen
    assert len(error.fingerprint) == 40
    occurrence = db.session.get(ErrorOccurrence, result.occurrence_id)
    assert (occurrence.error_id, occurrence.service_id, occurrence.source) == (error.id, service.id, "api")


def test_same_fingerprint_groups_and_counts(service):
    first = record_error(event(service, message="row 30 missing", timestamp=at(minutes=30)))
    results = [record_error(event(service, message=f"row {n} missing", timestamp=at(minutes=n))) for n in (20, 10)]
    assert {r.error_id for r in results} == {first.error_id}
    assert [r.is_new for r in results] == [False, False] and all(r.event is None for r in results)
    error = error_row(first.error_id)
    assert error.occurrence_count == 3 and occurrence_count(error.id) == 3
    assert error.message == "row 30 missing"  # the first event's message names the error


def test_late_events_move_first_seen_back_and_never_last_seen(service):
    result = record_error(event(service, timestamp=at(hours=1)))
    record_error(event(service, timestamp=at(hours=5)))
    error = error_row(result.error_id)
    assert error.first_seen < error.last_seen
    assert abs((error.last_seen - at(hours=1)).total_seconds()) < 60
    assert abs((error.first_seen - at(hours=5)).total_seconds()) < 60


def test_environment_and_release_follow_the_latest_event_that_names_them(service):
    result = record_error(event(service, environment="staging", release="1.0"))
    record_error(event(service, environment="production", release="1.1"))
    record_error(event(service))
    error = error_row(result.error_id)
    assert (error.environment, error.release) == ("production", "1.1")


def test_different_fingerprints_and_services_are_different_errors(service):
    web = make_service("Laravel web", platform="php")
    ids = {record_error(event(service)).error_id, record_error(event(service, "ValueError")).error_id,
           record_error(event(web)).error_id,
           record_error(event(service, fingerprint=["pinned"])).error_id}
    assert len(ids) == 4


def test_frames_decide_the_group_not_the_line_numbers(service):
    def with_frames(line):
        incoming = event(service, message=f"row {line} broke")
        incoming.exceptions = error_chain("KeyError", incoming.message, [
            make_frame(filename="/srv/app/views.py", module="app.views", function="predict", lineno=line,
                       in_app=True)])
        return incoming

    assert record_error(with_frames(10)).error_id == record_error(with_frames(99)).error_id


def test_one_batch_with_many_errors_and_repeats(service):
    events = [event(service, f"Error{n % 4}", timestamp=at(minutes=n)) for n in range(20)]
    results = record_errors(events)
    assert len(results) == 20 and len({r.occurrence_id for r in results}) == 20
    assert sum(r.is_new for r in results) == 4
    counts = sorted(e.occurrence_count for e in db.session.execute(db.select(ErrorLog)).scalars())
    assert counts == [5, 5, 5, 5]
    assert occurrence_count() == 20


# --- regressions and severity --------------------------------------------------------------------

def test_a_new_occurrence_of_a_resolved_error_reopens_it(service, lead):
    first = record_error(event(service))
    triage.resolve_error(error_row(first.error_id), lead, "fixed")
    again = record_error(event(service))
    assert again.error_id == first.error_id
    assert (again.is_new, again.regressed, again.status, again.event) == (False, True, "new", "error.regressed")
    error = error_row(first.error_id)
    assert (error.status, error.resolved, error.resolved_at) == ("new", False, None)
    assert error.regressed_at is not None and error.regression_count == 1
    regressions = db.session.execute(db.select(AuditEvent).where(AuditEvent.error_id == error.id,
                                                                 AuditEvent.action == "error.regressed")).scalars()
    assert [row.details["occurrence_id"] for row in regressions] == [again.occurrence_id]
    # Only the first occurrence after the resolution is the regression.
    later = record_error(event(service))
    assert (later.regressed, later.event) == (False, None)
    assert error_row(first.error_id).regression_count == 1


def test_each_resolution_can_regress_again(service, lead):
    first = record_error(event(service))
    for _ in range(2):
        triage.resolve_error(error_row(first.error_id), lead)
        assert record_error(event(service)).regressed
    assert error_row(first.error_id).regression_count == 2


def test_ignored_errors_stay_ignored(service, lead):
    first = record_error(event(service))
    triage.set_status(error_row(first.error_id), "ignored", lead)
    again = record_error(event(service))
    assert (again.regressed, again.status, again.event) == (False, "ignored", None)


def test_a_graver_occurrence_raises_the_severity_and_a_milder_one_never_lowers_it(service):
    first = record_error(event(service, severity="medium"))
    raised = record_error(event(service, severity="critical"))
    assert (raised.severity_raised, raised.severity, raised.event) == (True, "critical", "error.severity_raised")
    error = error_row(first.error_id)
    assert (error.severity, error.severity_level) == ("critical", 5) and error.severity_raised_at is not None
    milder = record_error(event(service, severity="low"))
    assert (milder.severity_raised, milder.severity) == (False, "critical")
    assert error_row(first.error_id).severity == "critical"
    # Each occurrence keeps the severity it came with.
    assert db.session.get(ErrorOccurrence, milder.occurrence_id).severity == "low"


def test_severity_from_the_configured_rules(app, service):
    app.config["SEVERITY_RULES"] = '{"types": {"KeyError": "low"}}'
    assert record_error(event(service)).severity == "low"


# --- duplicates by event id ----------------------------------------------------------------------

EVENT_ID = "5b1f6c2e-0d8a-4f4e-9a51-3c7e2d9b8a10"


def test_a_resent_event_is_stored_once(service):
    first = record_error(event(service, event_id=EVENT_ID))
    again = record_error(event(service, event_id=EVENT_ID, message="changed on resend"))
    assert first.occurrence_id == again.occurrence_id == EVENT_ID
    assert again.error_id == first.error_id
    assert (again.duplicate, again.is_new, again.event) == (True, False, None)
    assert error_row(first.error_id).occurrence_count == 1 and occurrence_count() == 1


def received_before(occurrence_id: str, hours: float) -> None:
    """Move the stored event back, as if it had been received ``hours`` ago (on PostgreSQL into an
    older partition)."""
    db.session.execute(db.update(ErrorOccurrence).where(ErrorOccurrence.id == occurrence_id)
                       .values(received_at=at(hours=hours)))
    db.session.commit()


@pytest.mark.parametrize("hours, stored_again", [(23, False), (25, True)])
def test_a_resend_is_looked_for_within_the_resend_window(service, hours, stored_again):
    first = record_error(event(service, event_id=EVENT_ID))
    received_before(EVENT_ID, hours)
    again = record_error(event(service, event_id=EVENT_ID))
    assert again.duplicate is not stored_again
    assert occurrence_count() == error_row(first.error_id).occurrence_count == (2 if stored_again else 1)
    # Either way the event's page shows the first copy.
    shown = events.event_of(error_row(first.error_id), EVENT_ID)
    assert shown is not None and shown.received_at <= at(hours=hours - 1)


def test_the_same_event_twice_in_one_batch_is_stored_once(service):
    results = record_errors([event(service, event_id=EVENT_ID), event(service, event_id=EVENT_ID)])
    assert [r.duplicate for r in results] == [False, True]
    assert results[0].error_id == results[1].error_id
    assert occurrence_count() == 1 and error_row(results[0].error_id).occurrence_count == 1


def test_a_resent_event_of_a_resolved_error_does_not_reopen_it(service, lead):
    first = record_error(event(service, event_id=EVENT_ID))
    triage.resolve_error(error_row(first.error_id), lead)
    again = record_error(event(service, event_id=EVENT_ID))
    assert again.duplicate and not again.regressed
    assert error_row(first.error_id).status == "resolved"


def test_an_event_id_reused_by_another_service_is_stored_under_that_service(service):
    web = make_service("Laravel web", platform="php")
    first = record_error(event(service, event_id=EVENT_ID))
    other = record_error(event(web, event_id=EVENT_ID))
    # Not a resend: the other service's event is kept (with an id of its own) and never answered
    # with the first service's error.
    assert not other.duplicate and other.is_new
    assert error_row(other.error_id).service_id == web.id
    assert other.occurrence_id != first.occurrence_id
    assert occurrence_count() == 2


# --- odd input ---------------------------------------------------------------------------------

def test_future_timestamps_are_clamped_to_the_arrival_time(service):
    result = record_error(event(service, timestamp=utcnow() + dt.timedelta(days=400)))
    occurrence = db.session.get(ErrorOccurrence, result.occurrence_id)
    assert occurrence.timestamp <= occurrence.received_at <= utcnow()
    error = error_row(result.error_id)
    assert error.first_seen <= utcnow() and error.last_seen <= utcnow()


def test_nul_characters_from_the_normalisers_never_reach_the_database(service):
    nul = "\x00"
    incoming = event(service, f"Key{nul}Error", f"bad{nul}", environment=f"prod{nul}", release=f"1{nul}",
                     server_name=f"web{nul}", endpoint=f"/x{nul}", stack_trace=f"trace{nul}",
                     tags={f"k{nul}": f"v{nul}"}, extra={f"e{nul}": [f"x{nul}"]}, fingerprint=[f"f{nul}"])
    incoming.exceptions = error_chain(f"Key{nul}Error", "bad", [make_frame(filename=f"a{nul}.py",
                                                                           function=f"f{nul}")])
    result = record_error(incoming)
    error = error_row(result.error_id)
    occurrence = db.session.get(ErrorOccurrence, result.occurrence_id)
    assert (error.error_type, error.message, error.environment) == ("KeyError", "bad", "prod")
    assert (occurrence.stack_trace, occurrence.tags, occurrence.extra) == ("trace", {"k": "v"}, {"e": ["x"]})
    assert occurrence.exceptions[-1]["frames"][0]["function"] == "f"


def test_nul_characters_in_platform_user_and_request_never_reach_the_database(service):
    nul = "\x00"
    incoming = event(service, user={"id": f"7{nul}"}, request={"url": f"/u{nul}"})
    incoming.platform = f"py{nul}thon"
    result = record_error(incoming)
    occurrence = db.session.get(ErrorOccurrence, result.occurrence_id)
    assert occurrence.user == {"id": "7"} and occurrence.request == {"url": "/u"}
    assert error_row(result.error_id).platform == "python"


def test_empty_type_and_message_still_record(service):
    result = record_error(event(service, "", ""))
    error = error_row(result.error_id)
    assert error.error_type == "Error" and error.message == ""


# --- the group-commit writer -------------------------------------------------------------------

@pytest.fixture
def group_commit(app, service):
    app.config.update(INGEST_BATCH_MAX=16, INGEST_BATCH_WAIT_MS=5)
    service_id = service.id
    yield app
    drain_ingest_writer(service_id)


def test_group_commit_writer_answers_every_thread_with_its_committed_event(group_commit, service):
    app, service_id = group_commit, service.id
    answers: list = []
    failures: list = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n):
        try:
            with app.app_context():
                start.wait(timeout=10)
                for i in range(10):
                    result = submit_error(event(service_id, f"Error{(n + i) % 3}", timestamp=at(seconds=i)))
                    with lock:
                        answers.append(result)
        except Exception as exc:  # reported below: an exception in a thread would vanish otherwise
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(answers) == 80 and len({a.occurrence_id for a in answers}) == 80
    assert sum(a.is_new for a in answers) == 3  # one per distinct error, even inside shared batches
    # Every answered event is committed: read with a fresh session.
    db.session.remove()
    assert occurrence_count() == 80
    assert sorted(e.occurrence_count for e in db.session.execute(db.select(ErrorLog)).scalars()) == [26, 27, 27]
    ids = {a.occurrence_id for a in answers}
    stored = set(db.session.execute(db.select(ErrorOccurrence.id)).scalars())
    assert stored == ids


def test_group_commit_writer_over_http(group_commit, client, service):
    responses = []
    key = service.ingest_key

    def post(n):
        local = group_commit.test_client()
        responses.append(local.post("/api/errors/", json={"error_type": "Timeout", "message": f"call {n}"},
                                    headers={"X-Api-Key": key}))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status_code for r in responses] == [201] * 12
    assert sum(r.json["new"] for r in responses) == 1
    db.session.remove()
    assert occurrence_count() == 12


def test_one_bad_event_in_a_batch_does_not_fail_the_others(group_commit, service):
    app, service_id = group_commit, service.id
    outcomes: dict[int, object] = {}
    start = threading.Barrier(6)

    def worker(n):
        with app.app_context():
            incoming = event(service_id, f"Good{n}")
            if n == 3:
                incoming.severity = "not-a-severity"  # cannot be recorded
            start.wait(timeout=10)
            try:
                outcomes[n] = submit_error(incoming)
            except Exception as exc:
                outcomes[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert isinstance(outcomes.pop(3), Exception)
    assert all(not isinstance(result, Exception) for result in outcomes.values())
    db.session.remove()
    assert occurrence_count() == 5
