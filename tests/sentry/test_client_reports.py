"""Client reports: what the SDKs say they dropped, counted per service, day, reason and category."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import brotli
import pytest
from sqlalchemy import select

from app.extensions import db
from app.ingest.envelope import discarded_counts
from app.models import ClientDiscard
from tests.sentry.stored import stored_errors

RECORDED = Path(__file__).resolve().parent / "recorded" / "sentry-python-2.75.0-client-report.envelope"
AUTH = "Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.python/2.75.0"


def post(client, service, body: bytes, **headers):
    return client.post(f"/api/{service.id}/envelope/", data=body, headers={
        "X-Sentry-Auth": AUTH.format(key=service.ingest_key), "Content-Type": "application/x-sentry-envelope",
        **headers})


def rows(service_id: int) -> dict:
    db.session.remove()
    return {(r.reason, r.category): r.quantity for r in db.session.execute(
        select(ClientDiscard).where(ClientDiscard.service_id == service_id)).scalars()}


def test_the_recorded_client_report_is_counted_and_adds_up(client, service):
    body = brotli.compress(RECORDED.read_bytes())  # as the SDK sent it
    for _ in range(2):
        response = post(client, service, body, **{"Content-Encoding": "br"})
        assert response.status_code == 200 and response.json == {}
    assert rows(service.id) == {("before_send", "error"): 6, ("sample_rate", "transaction"): 2,
                                ("sample_rate", "span"): 2}
    assert stored_errors(service.id) == []  # nothing else is kept


def test_the_api_and_the_service_pages_show_the_counts(client, service, api, lead):
    post(client, service, RECORDED.read_bytes())
    answer = api.get(f"/api/services/{service.id}/client-discarded/?days=7")
    assert answer.status_code == 200
    body = answer.json
    assert (body["service"], body["days"], body["total"]) == (service.slug, 7, 5)
    assert body["by_reason"][0] == {"reason": "before_send", "category": "error", "quantity": 3}
    assert {(d["reason"], d["category"]) for d in body["per_day"]} == {
        ("before_send", "error"), ("sample_rate", "transaction"), ("sample_rate", "span")}
    assert api.get("/api/services/999/client-discarded/").status_code == 404
    assert api.get(f"/api/services/{service.id}/client-discarded/?days=0").json["error"]["field"] == "days"

    client.post("/login", data={"email": lead.email, "password": "correct horse battery"})
    page = client.get(f"/services/{service.id}/discarded").get_data(as_text=True)
    assert "before_send" in page and "sample_rate" in page and "<strong>5</strong>" in page
    assert client.get("/services/999/discarded").status_code == 404


def test_a_client_report_beside_an_event_is_counted_and_a_broken_one_costs_nothing(client, service):
    event_id = uuid.uuid4().hex
    event = {"event_id": event_id, "message": "disk full", "level": "error"}
    report = {"discarded_events": [{"reason": "queue_overflow", "category": "error", "quantity": 4},
                                   {"reason": "x", "category": "error", "quantity": "many"}, "junk",
                                   {"reason": "", "category": "error", "quantity": 1}]}
    body = "\n".join([json.dumps({"event_id": event_id}), json.dumps({"type": "event"}), json.dumps(event),
                      json.dumps({"type": "client_report"}), json.dumps(report),
                      json.dumps({"type": "client_report"}), "{not json"]).encode()
    response = post(client, service, body)
    assert response.status_code == 200 and response.json == {"id": event_id}
    assert rows(service.id) == {("queue_overflow", "error"): 4}
    assert [e.message for e in stored_errors(service.id)] == ["disk full"]


@pytest.mark.parametrize("report, expected", [
    ({}, {}), ({"discarded_events": "x"}, {}),
    ({"discarded_events": [{"reason": "r" * 100, "category": "error", "quantity": 2},
                           {"reason": "r" * 100, "category": "error", "quantity": 3}]}, {("r" * 64, "error"): 5}),
    ({"discarded_events": [{"reason": "a", "category": "b", "quantity": True},
                           {"reason": "a", "category": "b", "quantity": -1}]}, {}),
    ({"discarded_events": [{"reason": "a", "category": "b", "quantity": 2**40}]}, {("a", "b"): 2**31 - 1}),
])
def test_discarded_counts_take_only_well_formed_entries(report, expected):
    assert discarded_counts(report) == expected


def test_the_real_sdk_reports_what_before_send_dropped(sentry_init, service, api):
    import sentry_sdk

    client = sentry_init(before_send=lambda event, hint: None)
    for _ in range(3):
        sentry_sdk.capture_message("never sent")
    client.flush(timeout=10)
    assert rows(service.id).get(("before_send", "error")) == 3
    assert api.get(f"/api/services/{service.id}/client-discarded/").json["total"] == 3


def test_the_answer_matches_the_openapi_document(client, service, api):
    from tests.web.test_openapi import assert_valid

    post(client, service, RECORDED.read_bytes())
    document = client.get("/api/openapi.json").json
    assert_valid(document, "ClientDiscarded", api.get(f"/api/services/{service.id}/client-discarded/").json)
