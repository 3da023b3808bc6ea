"""Delivery guarantees: retries with backoff, dead letters, the sweep, and never a second send."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.jobs import queue_of, tasks_of
from app.models import ErrorEventDispatch, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.notify import delivery, planning, recovery
from app.platform import settings
from tests.factories import ingest, make_developer, make_service
from tests.receivers import configure_slack_webhook


def rows(**filters):
    stmt = select(ErrorNotification).order_by(ErrorNotification.id).execution_options(populate_existing=True)
    for name, value in filters.items():
        stmt = stmt.where(getattr(ErrorNotification, name) == value)
    return list(db.session.execute(stmt).scalars())


def record(client, service, severity="critical", error_type="ReportTimeout"):
    response = ingest(client, service, {"error_type": error_type, "message": "report took too long", "severity": severity})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


@pytest.fixture
def on_call(app, smtp_server):
    smtp_server.configure(app.config)
    service = make_service("Reports")
    developer = make_developer("Ops", email="ops@example.test", services=[service], on_call=True)
    return service, developer


def test_smtp_down_then_up_is_retried_and_delivered_once(app, client, smtp_server, on_call):
    service, _ = on_call
    smtp_server.stop()
    start = utcnow()
    record(client, service, "medium")

    (row,) = rows()
    assert (row.status, row.retry_count) == ("retrying", 1) and "unreachable" in row.last_error
    assert dt.timedelta(seconds=55) <= row.next_retry_at - start <= dt.timedelta(seconds=75)
    assert recovery.retry_due() == {}  # not due yet

    smtp_server.start()
    with time_machine.travel(start + dt.timedelta(minutes=1, seconds=5), tick=True):
        assert recovery.retry_due() == {"sent": 1}
    with time_machine.travel(start + dt.timedelta(hours=2), tick=True):
        assert recovery.retry_due() == {}
        tasks_of(app)["retry_failed_notifications"]()

    (row,) = rows()
    assert (row.status, row.retry_count, row.last_error) == ("sent", 1, None)
    assert len(smtp_server.wait_for(1)) == 1
    assert [m["To"] for m in smtp_server.messages] == ["ops@example.test"]


def test_three_retries_with_growing_delays_then_dead(app, client, smtp_server, on_call):
    service, _ = on_call
    smtp_server.stop()
    start = utcnow()
    record(client, service, "medium")

    waits = []
    moment = start
    for expected_count in (2, 3, 4):
        row = rows()[0]
        waits.append(round((row.next_retry_at - moment).total_seconds() / 60))
        moment = row.next_retry_at + dt.timedelta(seconds=1)
        with time_machine.travel(moment, tick=False):
            recovery.retry_due()
        assert rows()[0].retry_count == expected_count

    row = rows()[0]
    assert waits == [1, 4, 16]
    assert (row.status, row.next_retry_at) == ("dead", None)
    with time_machine.travel(moment + dt.timedelta(days=1), tick=False):
        assert recovery.retry_due() == {}
    assert rows()[0].retry_count == 4


def test_retry_delays_are_a_setting(app, client, smtp_server, on_call):
    service, _ = on_call
    settings.update_setting("notify_retry_delays_minutes", "2, 30", None)
    smtp_server.stop()
    start = utcnow()
    record(client, service, "medium")
    row = rows()[0]
    assert round((row.next_retry_at - start).total_seconds() / 60) == 2
    with time_machine.travel(row.next_retry_at + dt.timedelta(seconds=1), tick=False):
        recovery.retry_due()
    row = rows()[0]
    with time_machine.travel(row.next_retry_at + dt.timedelta(seconds=1), tick=False):
        recovery.retry_due()
    assert (rows()[0].status, rows()[0].retry_count) == ("dead", 3)


def test_slack_answering_500_then_200_is_delivered_on_the_retry(app, client, slack_receiver):
    configure_slack_webhook(app.config, slack_receiver)
    slack_receiver.script((500, "internal error"), (200, "ok"))
    service = make_service()
    make_developer(services=[service], on_call=True)
    start = utcnow()
    record(client, service, "high")

    (row,) = rows(channel="slack")
    assert row.status == "retrying" and "500" in row.last_error
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=True):
        recovery.retry_due()
        recovery.retry_due()

    assert rows(channel="slack")[0].status == "sent"
    assert [r["answered"] for r in slack_receiver.requests] == [500, 200]


def test_slack_retry_after_is_respected(app, client, slack_receiver):
    configure_slack_webhook(app.config, slack_receiver)
    slack_receiver.script((429, "rate limited", 0, {"Retry-After": "600"}), (200, "ok"))
    service = make_service()
    make_developer(services=[service], on_call=True)
    start = utcnow()
    record(client, service, "high")

    row = rows(channel="slack")[0]
    assert row.status == "retrying" and row.next_retry_at - start >= dt.timedelta(seconds=600)
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        assert recovery.retry_due() == {}


def _planned_email(service, developer, error_type: str) -> int:
    """A medium error with one planned (not yet sent) e-mail to the developer; the row's id."""
    error = ErrorLog(service_id=service.id, fingerprint=error_type.ljust(40, "0"), severity="medium",
                     severity_level=3, error_type=error_type, message=error_type, status="new",
                     occurrence_count=1, regression_count=0)
    db.session.add(error)
    db.session.commit()
    key = planning.error_notice_key("error.created", error.id, "1")
    (row_id,) = planning.record_planned([planning.PlannedDelivery(
        key, "error.created", "email", f"dev:{developer.id}", developer.email, developer.id)], error.id)
    return row_id


def test_a_worker_killed_mid_send_leaves_a_lease_that_the_sweep_outlives(app, smtp_server, on_call):
    service, developer = on_call
    row_id = _planned_email(service, developer, "LeaseError")
    assert delivery.claim(row_id)  # the worker that then died

    assert recovery.retry_due() == {} and smtp_server.messages == []
    with time_machine.travel(utcnow() + dt.timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 5), tick=True):
        assert recovery.retry_due() == {"sent": 1}
        assert recovery.retry_due() == {}
    assert len(smtp_server.wait_for(1)) == 1


def test_a_refused_recipient_fails_for_good_until_someone_retries_it(app, client, smtp_server, on_call):
    service, developer = on_call
    smtp_server.refuse.add("ops@example.test")
    record(client, service, "medium")
    (row,) = rows()
    assert (row.status, row.next_retry_at) == ("failed", None) and "550" in row.last_error
    with time_machine.travel(utcnow() + dt.timedelta(days=1), tick=False):
        assert recovery.retry_due() == {}

    smtp_server.refuse.clear()
    lead = make_developer("Lee Lead", role="lead", password=None)
    retried = delivery.retry_notification(row.id, lead)
    assert retried.status == "sent" and len(smtp_server.wait_for(1)) == 1


def test_two_workers_delivering_the_same_row_send_it_once(app, smtp_server, on_call):
    service, developer = on_call
    row_id = _planned_email(service, developer, "RaceError")

    barrier = threading.Barrier(4)
    outcomes = []

    def worker():
        with app.app_context():
            barrier.wait()
            outcomes.append(delivery.deliver(row_id))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes, key=str) == [None, None, None, "sent"]
    assert len(smtp_server.wait_for(1)) == 1 and rows()[0].status == "sent"



def test_a_lost_hand_off_is_found_and_delivered_by_the_sweep(app, client, smtp_server, on_call, queue_down):
    service, _ = on_call
    error_id = record(client, service, "critical")  # still 201: the event is stored, only the hand-off failed

    assert rows() == [] and db.session.get(ErrorLog, error_id).assigned_to_id is None
    # The event's outbox row was committed with the error.
    (pending,) = db.session.execute(select(ErrorEventDispatch.status).where(ErrorEventDispatch.error_id == error_id)
                                    ).scalars()
    assert pending == "pending"
    queue_of(app).immediate = True
    assert tasks_of(app)["retry_failed_notifications"]().get()["recovered_events"] == 0  # left to the job a lease
    with time_machine.travel(utcnow() + dt.timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 5), tick=True):
        result = tasks_of(app)["retry_failed_notifications"]()
        tasks_of(app)["retry_failed_notifications"]()

    assert result.get()["recovered_events"] == 1
    assert [(r.channel, r.status) for r in rows()] == [("email", "sent")]
    assert len(smtp_server.wait_for(1)) == 1
    assert db.session.get(ErrorLog, error_id).assigned_to_id is not None


def test_an_event_left_half_handled_is_finished_by_the_sweep(app, client, smtp_server, on_call, queue_down):
    service, developer = on_call
    error_id = record(client, service, "medium")
    # A worker took the event (the ingest's outbox row) and was killed before planning it.
    dispatch = db.session.execute(select(ErrorEventDispatch).where(ErrorEventDispatch.error_id == error_id)
                                  ).scalar_one()
    assert (dispatch.event, dispatch.marker, dispatch.status) == ("error.created", "1", "pending")
    dispatch.attempts = 1
    db.session.commit()
    queue_of(app).immediate = True

    assert recovery.recover_lost_events() == 0  # its lease has not expired yet
    with time_machine.travel(utcnow() + dt.timedelta(minutes=5), tick=True):
        assert recovery.recover_lost_events() == 1
    assert [(r.recipient_id, r.status) for r in rows()] == [(developer.id, "sent")]


def test_two_consumers_handling_the_same_event_route_once_and_send_once(app, smtp_server, on_call):
    service, developer = on_call
    make_developer("Second", services=[service], on_call=True)
    error = ErrorLog(service_id=service.id, fingerprint="d" * 40, severity="high", severity_level=4,
                     error_type="DoubleHandled", message="two consumers", status="new",
                     occurrence_count=1, regression_count=0)
    db.session.add(error)
    db.session.commit()
    error_id = error.id  # read here: the threads must not touch this session's objects
    barrier = threading.Barrier(3)

    def consumer():
        with app.app_context():
            barrier.wait()
            delivery.handle_error_event(error_id, "error.created")
            db.session.remove()

    threads = [threading.Thread(target=consumer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(smtp_server.wait_for(1)) == 1
    assert [(r.channel, r.status) for r in rows()] == [("email", "sent")]
    from app.models import AuditEvent

    assignments = db.session.execute(select(AuditEvent).where(AuditEvent.error_id == error_id,
                                                              AuditEvent.action == "error.assigned")).scalars().all()
    assert len(assignments) == 1  # routed once, whoever won
