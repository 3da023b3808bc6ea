"""Snoozing from the JSON API and the dashboard (error page, bulk bar): one rule, audited; a snoozed error
leaves the default list and ``is:snoozed`` finds it; events through the real ingest endpoint wake it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ErrorLog
from app.models.types import utcnow
from tests.factories import ApiClient, ingest, make_developer, make_token

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def no_overview_cache(app):
    app.config["DASHBOARD_CACHE_SECONDS"] = 0


def record(client, service, **fields) -> str:
    response = ingest(client, service, {"error_type": "ValueError", "message": "bad value", **fields})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


def fresh(error_id: str) -> ErrorLog:
    return db.session.get(ErrorLog, error_id, populate_existing=True)


def actions(error_id: str) -> list[tuple[str, dict | None]]:
    return [(a.action, a.details) for a in db.session.execute(
        select(AuditEvent).where(AuditEvent.error_id == error_id).order_by(AuditEvent.id)).scalars()
        if a.action.startswith(("error.snoozed", "error.unsnoozed", "error.woke"))]


def login(client, developer):
    response = client.post("/login", data={"email": developer.email, "password": PASSWORD})
    assert response.status_code == 303


# --- the API ---------------------------------------------------------------------------------------

def test_api_snoozes_until_a_time_and_unsnoozes(api, client, service, lead):
    error_id = record(client, service)
    until = (utcnow() + dt.timedelta(hours=2)).replace(microsecond=0)
    response = api.post(f"/api/errors/{error_id}/snooze/", json={"until": until.isoformat()})
    assert response.status_code == 200, response.json
    assert response.json["snoozed"] is True
    assert response.json["snooze"]["until"] == until.isoformat().replace("+00:00", "Z")
    assert api.get(f"/api/errors/{error_id}/").json["snooze"]["events"] is None

    response = api.post(f"/api/errors/{error_id}/unsnooze/")
    assert response.status_code == 200 and response.json["snoozed"] is False and response.json["snooze"] is None
    assert api.post(f"/api/errors/{error_id}/unsnooze/").status_code == 409
    assert [a for a, _ in actions(error_id)] == ["error.snoozed", "error.unsnoozed"]


@pytest.mark.parametrize("body, field", [
    ({}, "until"),
    ({"until": "tomorrow"}, "until"),
    ({"until": "2001-01-01T00:00:00Z"}, "until"),
    ({"minutes": 0}, "minutes"),
    ({"minutes": "60"}, "minutes"),  # the API is strict: a number, not text
    ({"events": -1}, "events"),
    ({"per_hour": True}, "per_hour"),
    ({"minutes": 5, "until": "2099-01-01T00:00:00Z"}, "minutes"),
])
def test_api_refuses_a_snooze_it_cannot_read_naming_the_field(api, client, service, body, field):
    error_id = record(client, service)
    response = api.post(f"/api/errors/{error_id}/snooze/", json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field
    assert fresh(error_id).snoozed_at is None


def test_only_open_errors_are_snoozed_and_resolving_ends_a_snooze(api, client, service):
    error_id = record(client, service)
    assert api.post(f"/api/errors/{error_id}/snooze/", json={"events": 10}).status_code == 200
    assert api.post(f"/api/errors/{error_id}/resolve/").json["snoozed"] is False
    response = api.post(f"/api/errors/{error_id}/snooze/", json={"events": 10})
    assert response.status_code == 409 and response.json["error"]["field"] == "status"


def test_a_developer_cannot_snooze_someone_elses_error(app, client, service, lead):
    error_id = record(client, service)
    error = fresh(error_id)
    error.assigned_to_id = lead.id
    db.session.commit()
    other = ApiClient(client, make_token(make_developer("Other", services=[service])))
    assert other.post(f"/api/errors/{error_id}/snooze/", json={"minutes": 60}).status_code == 403
    assert fresh(error_id).snoozed_at is None


# --- the ingest wakes it -----------------------------------------------------------------------------

def test_events_through_the_ingest_endpoint_wake_a_snooze_at_its_count(api, client, service):
    error_id = record(client, service)
    assert api.post(f"/api/errors/{error_id}/snooze/", json={"events": 2}).json["snooze"]["wake_at_count"] == 3
    record(client, service)
    assert fresh(error_id).snoozed_at is not None
    record(client, service)
    error = fresh(error_id)
    assert error.snoozed_at is None and error.regression_count == 1 and error.status == "assigned"  # as it was
    assert actions(error_id)[-1] == ("error.woke", {"occurrence_id": actions(error_id)[-1][1]["occurrence_id"],
                                                   "reason": "2 more events since snoozed", "marker": "r1"})
    assert api.get(f"/api/errors/{error_id}/").json["regression_count"] == 1


def test_events_of_errors_that_are_not_snoozed_wake_nothing(api, client, service):
    quiet, noisy = record(client, service, error_type="Quiet"), record(client, service, error_type="Noisy")
    api.post(f"/api/errors/{quiet}/snooze/", json={"events": 1})
    for _ in range(3):
        record(client, service, error_type="Noisy")
    assert fresh(quiet).snoozed_at is not None and fresh(noisy).regression_count == 0


# --- lists and search --------------------------------------------------------------------------------

def test_a_snoozed_error_leaves_the_default_list_and_is_snoozed_finds_it(api, client, service, lead):
    snoozed_id, open_id = record(client, service, error_type="Snoozed"), record(client, service, error_type="Open")
    api.post(f"/api/errors/{snoozed_id}/snooze/", json={"minutes": 60})
    login(client, lead)
    default = client.get("/errors").get_data(as_text=True)
    assert "Open" in default and f"/errors/{snoozed_id}" not in default
    found = client.get("/errors", query_string={"q": "is:snoozed"}).get_data(as_text=True)
    assert f"/errors/{snoozed_id}" in found and f"/errors/{open_id}" not in found
    assert [e["error_id"] for e in api.get("/api/errors/", query_string={"q": "is:snoozed"}).json["items"]] \
        == [snoozed_id]
    assert {e["error_id"] for e in api.get("/api/errors/", query_string={"q": "-is:snoozed"}).json["items"]} \
        == {open_id}


# --- the dashboard -----------------------------------------------------------------------------------

def test_the_error_page_snoozes_by_its_form_and_unsnoozes(client, service, lead):
    error_id = record(client, service)
    login(client, lead)
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert f'action="/errors/{error_id}/snooze"' in page
    response = client.post(f"/errors/{error_id}/snooze", data={"minutes": "480", "events": "", "per_hour": "50"},
                           headers={"HX-Request": "true", "HX-Target": "triage"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Snoozed" in body and "when more than 50 events come in an hour" in body and "Unsnooze" in body
    error = fresh(error_id)
    assert error.snooze_per_hour == 50 and error.snoozed_until > utcnow() + dt.timedelta(hours=7)
    assert actions(error_id)[0][1]["per_hour"] == 50

    refused = client.post(f"/errors/{error_id}/snooze", data={"minutes": "", "events": "many"},
                          headers={"HX-Request": "true", "HX-Target": "triage"})
    assert refused.status_code == 400 and "whole number" in refused.get_data(as_text=True)
    assert fresh(error_id).snooze_per_hour == 50  # the refused form changed nothing

    assert client.post(f"/errors/{error_id}/unsnooze").status_code == 303
    assert fresh(error_id).snoozed_at is None


def test_the_bulk_bar_snoozes_the_checked_errors(client, service, lead):
    ids = [record(client, service, error_type=f"Bulk{n}") for n in range(2)]
    login(client, lead)
    response = client.post("/errors/bulk", data={"action": "snooze", "minutes": "1440", "error_id": ids})
    assert response.status_code == 303
    assert all(fresh(i).snoozed_until is not None for i in ids)
    again = client.post("/errors/bulk", data={"action": "snooze", "minutes": "nope", "error_id": ids})
    assert again.status_code == 400 and "whole number" in again.get_data(as_text=True)


def test_a_snoozed_error_is_not_escalated_by_hand_and_ignoring_it_ends_the_snooze(api, client, service):
    error_id = record(client, service, severity="critical")
    api.post(f"/api/errors/{error_id}/snooze/", json={"minutes": 60})
    response = api.post(f"/api/errors/{error_id}/escalate/", json={"reason": "customers are blocked"})
    assert response.status_code == 409 and "snoozed" in response.json["error"]["message"]
    ignored = api.patch(f"/api/errors/{error_id}/", json={"status": "ignored"})
    assert ignored.status_code == 200 and ignored.json["snoozed"] is False
