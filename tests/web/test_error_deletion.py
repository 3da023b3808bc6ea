"""Deleting an error with its events: admins only, from the API and from the dashboard (a confirmation
page, then a form with its CSRF token), both through ``app/triage/deletion.delete_error``, audited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ErrorLog, ErrorOccurrence
from tests.factories import ApiClient, make_developer, make_error, make_token

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(app):
    return make_developer("Ada Admin", role="admin")


@pytest.fixture
def error(app, service):
    found = None
    for n in range(3):
        found = make_error(service, "KeyError", "'cart'", tags={"n": str(n)})
    make_error(service, "TypeError", "kept")  # another error, untouched by the deletion
    return found


def sign_in(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def counts(error_id: str) -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.execute(select(func.count()).select_from(ErrorLog).where(ErrorLog.id == error_id)).scalar_one(),
            db.session.execute(select(func.count()).select_from(ErrorOccurrence)
                               .where(ErrorOccurrence.error_id == error_id)).scalar_one())


def deletion_rows() -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == "error.deleted")).scalars())


def assert_deleted_by(error_id: str, admin, service):
    assert counts(error_id) == (0, 0)
    assert db.session.execute(select(func.count()).select_from(ErrorLog)).scalar_one() == 1  # the other error
    [row] = deletion_rows()
    assert (row.actor_id, row.object_type, row.object_id, row.error_id) == (admin.id, "error", error_id, None)
    assert row.details["error_type"] == "KeyError" and row.details["occurrence_count"] == 3
    assert row.details["service"] == service.slug


def test_an_admin_deletes_an_error_and_its_events_through_the_api(client, admin, error, service):
    error_id = error.id
    answer = ApiClient(client, make_token(admin)).delete(f"/api/errors/{error_id}/")
    assert answer.status_code == 204 and answer.get_data() == b""
    assert_deleted_by(error_id, admin, service)
    assert ApiClient(client, make_token(admin)).get(f"/api/errors/{error_id}/").status_code == 404


def test_an_admin_deletes_an_error_from_the_dashboard_after_confirming(client, admin, error, service):
    error_id = error.id
    sign_in(client, admin)
    assert f'href="/errors/{error_id}/delete"' in client.get(f"/errors/{error_id}").get_data(as_text=True)
    confirm = client.get(f"/errors/{error_id}/delete")
    assert confirm.status_code == 200 and "all <strong>3</strong> of its events" in confirm.get_data(as_text=True)
    # The form of the confirmation page says so; a bare post does not delete.
    assert client.post(f"/errors/{error_id}/delete").status_code == 400
    assert counts(error_id) == (1, 3)
    done = client.post(f"/errors/{error_id}/delete", data={"confirm": "delete"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/errors")
    assert "Deleted KeyError and its 3 events." in client.get("/errors").get_data(as_text=True)
    assert_deleted_by(error_id, admin, service)
    assert client.get(f"/errors/{error_id}").status_code == 404


@pytest.mark.parametrize("role", ["developer", "lead", "manager"])
def test_only_admins_may_delete_and_a_refusal_changes_nothing(client, service, error, role):
    someone = make_developer(f"Some {role}", role=role, services=[service])
    error_id = error.id
    answer = ApiClient(client, make_token(someone)).delete(f"/api/errors/{error_id}/")
    assert answer.status_code == 403 and answer.json["error"]["message"] == "only admins may delete errors"
    sign_in(client, someone)
    assert "/delete" not in client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert client.get(f"/errors/{error_id}/delete").status_code == 403
    refused = client.post(f"/errors/{error_id}/delete", data={"confirm": "delete"})
    assert refused.status_code == 403 and "Only admins may delete errors." in refused.get_data(as_text=True)
    assert counts(error_id) == (1, 3) and deletion_rows() == []


def test_the_delete_form_needs_its_csrf_token(app, client, admin, error):
    app.config["WTF_CSRF_ENABLED"] = True
    error_id = error.id
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/errors/{error_id}/delete").get_data(as_text=True)
    form = re.search(r'action="/errors/[^"]+/delete".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    assert client.post(f"/errors/{error_id}/delete", data={"confirm": "delete"}).status_code == 400
    assert counts(error_id) == (1, 3)
    assert client.post(f"/errors/{error_id}/delete", data={"confirm": "delete", "csrf_token": form}).status_code == 303
    assert counts(error_id) == (0, 0)


def test_a_later_event_of_the_same_kind_starts_a_new_error(client, admin, error, service):
    old_id = error.id
    ApiClient(client, make_token(admin)).delete(f"/api/errors/{old_id}/")
    again = make_error(service, "KeyError", "'cart'")
    assert again.id != old_id and again.occurrence_count == 1 and again.status == "new"
