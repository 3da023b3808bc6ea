"""Every try of a delivery stays in the audit trail: a row that failed twice and then went out keeps
the three tries, each with its time, outcome, the receiver's status and the reason, in the API
and on the notifications page; what the receiver said is shown only to those who may see where
the delivery went."""
from __future__ import annotations

import datetime as dt
import html

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import ErrorNotification, NotificationAttempt
from app.models.types import utcnow
from app.notify import recovery
from app.notify import subscriptions as webhooks_out
from tests.factories import ApiClient, ingest, make_developer, make_service, make_token

PASSWORD = "correct horse battery"
# What the receiver says on its two failures; the second has markup and a control character.
FIRST_ANSWER = "database pool exhausted"
SECOND_ANSWER = "<b>maintenance</b>\x1b[31m until 05:00"


def record(client, service, severity="high"):
    response = ingest(client, service, {"error_type": "ReportTimeout", "message": "took too long", "severity": severity})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


def only_row(channel: str) -> ErrorNotification:
    (row,) = db.session.execute(select(ErrorNotification).where(ErrorNotification.channel == channel)
                                .execution_options(populate_existing=True)).scalars()
    return row


def sweep_until_sent(start: dt.datetime, rounds: int = 2) -> None:
    """Run the retry sweep past each backoff (1, then 4 minutes)."""
    moment = start
    for _ in range(rounds):
        moment = only_row("webhook").next_retry_at + dt.timedelta(seconds=1)
        with time_machine.travel(moment, tick=False):
            recovery.retry_due()


@pytest.fixture
def failing_twice(app, client, webhook_receiver):
    """A webhook subscriber that answers 500, then 503, then 200, and an error that it hears of."""
    webhook_receiver.script((500, FIRST_ANSWER), (503, SECOND_ANSWER), (200, "thanks"))
    webhooks_out.create_subscription("pager", f"{webhook_receiver.url}/hook", ["error.created"], None)
    service = make_service()
    start = utcnow()
    error_id = record(client, service)
    sweep_until_sent(start)
    assert [r["answered"] for r in webhook_receiver.wait_for(3)] == [500, 503, 200]
    return error_id


def test_a_delivery_that_failed_twice_then_went_out_keeps_its_three_attempts(app, failing_twice):
    row = only_row("webhook")
    assert (row.status, row.retry_count, row.last_error) == ("sent", 2, None)
    attempts = list(db.session.execute(select(NotificationAttempt).where(NotificationAttempt.notification_id == row.id)
                                       .order_by(NotificationAttempt.number)).scalars())
    assert [(a.number, a.outcome, a.answer_status) for a in attempts] == [(1, "retrying", 500), (2, "retrying", 503),
                                                                          (3, "sent", 200)]
    assert [a.reason for a in attempts] == ["webhook receiver answered 500", "webhook receiver answered 503",
                                            "webhook receiver answered 200"]
    assert attempts[0].attempted_at < attempts[1].attempted_at < attempts[2].attempted_at
    assert attempts[0].answer == FIRST_ANSWER
    assert attempts[1].answer == "<b>maintenance</b> [31m until 05:00"  # one line, no control character


def test_the_api_lists_every_attempt_and_the_answers_only_to_those_who_may_see_the_subscription(
        app, client, failing_twice):
    admin = ApiClient(client, make_token(make_developer("Ada Admin", role="admin")))
    developer = ApiClient(client, make_token(make_developer("Dev")))

    seen_by_admin = admin.get(f"/api/notifications/?error_id={failing_twice}&channel=webhook")
    assert seen_by_admin.status_code == 200
    (item,) = seen_by_admin.json["items"]
    assert (item["status"], item["retry_count"], item["last_error"]) == ("sent", 2, None)
    assert [(a["number"], a["outcome"], a["answer_status"], a["reason"]) for a in item["attempts"]] == [
        (1, "retrying", 500, "webhook receiver answered 500"),
        (2, "retrying", 503, "webhook receiver answered 503"),
        (3, "sent", 200, "webhook receiver answered 200"),
    ]
    assert [a["answer"] for a in item["attempts"]] == [FIRST_ANSWER, "<b>maintenance</b> [31m until 05:00", "thanks"]
    assert all(a["attempted_at"].endswith("Z") for a in item["attempts"])

    (seen,) = developer.get(f"/api/notifications/?error_id={failing_twice}&channel=webhook").json["items"]
    assert [(a["number"], a["reason"]) for a in seen["attempts"]] == [
        (a["number"], a["reason"]) for a in item["attempts"]]
    assert [a["answer"] for a in seen["attempts"]] == [None, None, None]


def notifications_page(client, developer) -> str:
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303
    response = client.get("/notifications?channel=webhook")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_notifications_page_shows_every_attempt_with_its_reason_and_answer(app, client, failing_twice):
    shown = notifications_page(client, make_developer("Ada Admin", role="admin"))
    assert "3 attempts" in shown
    for number, reason in ((1, "webhook receiver answered 500"), (2, "webhook receiver answered 503"),
                           (3, "webhook receiver answered 200")):
        assert f'data-attempt="{number}"' in shown and reason in shown
    assert FIRST_ANSWER in shown
    assert "<b>maintenance</b>" not in shown and html.escape("<b>maintenance</b>") in shown


def test_a_developer_sees_the_attempts_and_reasons_but_not_what_a_subscriber_said(app, client, failing_twice):
    shown = notifications_page(client, make_developer("Dev"))
    assert "3 attempts" in shown and "webhook receiver answered 503" in shown
    assert FIRST_ANSWER not in shown and "maintenance" not in shown


def test_an_smtp_server_down_twice_leaves_two_reasons_before_the_sent_attempt(app, client, smtp_server):
    smtp_server.configure(app.config)
    service = make_service("Reports")
    make_developer("Ops", email="ops@example.test", services=[service], on_call=True)
    smtp_server.stop()
    start = utcnow()
    record(client, service, "medium")
    moment = only_row("email").next_retry_at + dt.timedelta(seconds=1)
    with time_machine.travel(moment, tick=False):
        recovery.retry_due()
    smtp_server.start()
    moment = only_row("email").next_retry_at + dt.timedelta(seconds=1)
    with time_machine.travel(moment, tick=True):
        assert recovery.retry_due() == {"sent": 1}
    assert len(smtp_server.wait_for(1)) == 1 and start < moment

    row = only_row("email")
    assert (row.status, row.retry_count, row.last_error) == ("sent", 2, None)
    outcomes = [(a.number, a.outcome) for a in row.attempts]
    assert outcomes == [(1, "retrying"), (2, "retrying"), (3, "sent")]
    assert all("SMTP server unreachable" in a.reason for a in row.attempts[:2])
    assert row.attempts[2].reason.startswith("accepted by 127.0.0.1:")


def test_deleting_a_delivery_deletes_its_attempts(app, failing_twice):
    row = only_row("webhook")
    db.session.delete(row)
    db.session.commit()
    assert db.session.execute(select(NotificationAttempt)).scalars().all() == []
