"""The outbox: an error event's row is committed with the change, and the worker takes it through routing,
planning and sending, resuming after a stop at any step boundary without doing a step twice.

A stop is the step not run: the steps are called one by one as the worker calls them, then the drain
(``recovery.drain_outbox``, every minute in the worker) takes the row up one lease later.
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.jobs import queue_of
from app.models import AuditEvent, ErrorEventDispatch, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.notify import delivery, planning, recovery
from app.notify.subscriptions import create_subscription
from app.triage import changes
from tests.factories import ingest, make_developer, make_service


def dispatches(error_id: str) -> list[tuple[str, str, str]]:
    db.session.rollback()
    return [(d.event, d.marker, d.status) for d in db.session.execute(
        select(ErrorEventDispatch).where(ErrorEventDispatch.error_id == error_id)
        .order_by(ErrorEventDispatch.id)).scalars()]


def sent() -> list[tuple[str, str, str]]:
    db.session.rollback()
    return sorted((n.event, n.channel, n.status) for n in db.session.execute(select(ErrorNotification)).scalars())


def later(app, now: dt.datetime | None = None):
    """One lease on: the rows the hand-off job did not finish are the drain's."""
    return time_machine.travel((now or utcnow()) + dt.timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 5),
                               tick=True)



@pytest.fixture
def team(app, smtp_server, webhook_receiver):
    smtp_server.configure(app.config)
    service = make_service("Checkout")
    developer = make_developer("Ada", email="ada@example.test", services=[service], on_call=True)
    create_subscription("assignments", webhook_receiver.url, ["error.assigned"], None)
    db.session.commit()
    return service, developer


def post(client, service, **fields) -> str:
    response = ingest(client, service, {"error_type": "PaymentGatewayTimeout", "message": "gateway timed out",
                                        "severity": "critical", **fields})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


def test_the_ingest_commits_each_event_s_row_and_nothing_for_an_occurrence_that_changes_nothing(
        app, client, team, queue_down):
    service, _ = team
    error_id = post(client, service, severity="medium")
    assert dispatches(error_id) == [("error.created", "1", "pending")]
    post(client, service, severity="medium")  # the common case: an error seen again as it was
    assert dispatches(error_id) == [("error.created", "1", "pending")]

    error = db.session.get(ErrorLog, error_id)
    error.status = "resolved"
    db.session.commit()
    post(client, service, severity="medium")  # a regression
    post(client, service, severity="critical")  # graver
    rows = dispatches(error_id)
    assert rows[:2] == [("error.created", "1", "pending"), ("error.regressed", "r1", "pending")]
    (raised,) = rows[2:]
    error = db.session.get(ErrorLog, error_id)
    assert raised == ("error.severity_raised", planning.event_markers(error, "error.severity_raised")[0], "pending")
    assert raised[1].startswith("s5@")


def test_an_offline_client_s_two_day_old_error_lost_to_a_queue_outage_is_told_by_the_drain(
        app, client, team, smtp_server, queue_down):
    service, developer = team
    two_days_ago = (utcnow() - dt.timedelta(days=2)).isoformat()
    error_id = post(client, service, timestamp=two_days_ago)
    assert db.session.get(ErrorLog, error_id).first_seen < utcnow() - dt.timedelta(days=1)
    assert sent() == []
    queue_of(app).immediate = True

    assert recovery.drain_outbox() == {"events": 0, "deliveries": {}}  # the hand-off job has a lease to do it
    with later(app):
        assert recovery.drain_outbox()["events"] == 1
        assert recovery.drain_outbox() == {"events": 0, "deliveries": {}}
    assert sent() == [("error.assigned", "webhook", "sent"), ("error.created", "email", "sent")]
    assert len(smtp_server.wait_for(1)) == 1
    assert db.session.get(ErrorLog, error_id).assigned_to_id == developer.id


def test_stopped_after_routing_the_next_worker_plans_with_the_saved_decision(
        app, client, team, smtp_server, webhook_receiver, queue_down):
    service, developer = team
    error_id = post(client, service)
    dispatch = db.session.execute(select(ErrorEventDispatch)).scalar_one()
    routed = planning.route_dispatch(dispatch.id, error_id, "error.created", utcnow())  # step 1, then the stop
    assert routed["assigned_now"] and routed["assignee"] == developer.id
    assert dispatches(error_id) == [("error.created", "1", "pending")]
    assert db.session.get(ErrorLog, error_id).assigned_to_id == developer.id and sent() == []

    queue_of(app).immediate = True
    with later(app):
        assert recovery.drain_outbox()["events"] == 1
    # Routed once; the assignment routing made now is still told to the webhook, once.
    assert sent() == [("error.assigned", "webhook", "sent"), ("error.created", "email", "sent")]
    assert [r["headers"]["X-Heartwatch-Event"] for r in webhook_receiver.requests] == ["error.assigned"]
    assert len(smtp_server.wait_for(1)) == 1
    assigned = db.session.execute(select(AuditEvent).where(AuditEvent.action == "error.assigned")).scalars().all()
    assert len(assigned) == 1
    assert [status for event, _, status in dispatches(error_id)] == ["done", "done"]


def test_stopped_after_planning_the_next_worker_only_sends(app, client, team, smtp_server, webhook_receiver,
                                                           queue_down):
    service, _ = team
    error_id = post(client, service)
    dispatch = db.session.execute(select(ErrorEventDispatch)).scalar_one()
    now = utcnow()
    routed = planning.route_dispatch(dispatch.id, error_id, "error.created", now)
    keys = delivery.plan_dispatch(dispatch.id, error_id, "error.created", "1", now, routed)  # step 2, then the stop
    assert len(keys) == 2 and sent() == [("error.assigned", "webhook", "queued"), ("error.created", "email", "queued")]
    assert [status for _, _, status in dispatches(error_id)] == ["done", "done"]

    queue_of(app).immediate = True
    assert recovery.drain_outbox() == {"events": 0, "deliveries": {}}
    with later(app):
        assert recovery.drain_outbox() == {"events": 0, "deliveries": {"sent": 2}}
        assert recovery.drain_outbox() == {"events": 0, "deliveries": {}}
    assert len(smtp_server.wait_for(1)) == 1 and len(webhook_receiver.requests) == 1


def test_a_person_s_assignment_commits_its_row_with_the_assignment(app, client, team, webhook_receiver, queue_down):
    service, developer = team
    error_id = post(client, service, severity="low")
    other = make_developer("Bo", email="bo@example.test", services=[service])
    changes.assign_error(db.session.get(ErrorLog, error_id), other, None)
    error = db.session.get(ErrorLog, error_id)
    assert ("error.assigned", planning.event_markers(error, "error.assigned")[0], "pending") in dispatches(error_id)

    queue_of(app).immediate = True
    with later(app):
        assert recovery.drain_outbox()["events"] == 2
    assert len(webhook_receiver.requests) == 1  # the person's assignment; routing kept it (assigned already)


def test_readiness_counts_the_rows_overdue(app, client, team, queue_down):
    service, _ = team
    post(client, service)
    assert client.get("/readyz").json["checks"]["outbox"]["overdue"] == 0
    with later(app):
        check = client.get("/readyz").json["checks"]["outbox"]
        assert check["ok"] is False and check["overdue"] == 1 and "not handed off" in check["error"]
        queue_of(app).immediate = True
        recovery.drain_outbox()
        assert client.get("/readyz").json["checks"]["outbox"]["ok"] is True
