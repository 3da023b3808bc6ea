"""Releases: kept at ingest in the order first seen, listed per service (API and dashboard) with their new
errors and regressions; "resolve in next release" keeps an error resolved until a newer release's event."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ErrorLog, Release
from tests.factories import ingest
from tests.web.test_openapi import assert_valid

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def no_overview_cache(app):
    app.config["DASHBOARD_CACHE_SECONDS"] = 0


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").json


def record(client, service, error_type="ValueError", **fields) -> str:
    response = ingest(client, service, {"error_type": error_type, "message": "bad value", **fields})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


def fresh(error_id: str) -> ErrorLog:
    return db.session.get(ErrorLog, error_id, populate_existing=True)


def versions(api, service) -> list[tuple[str, list[str], list[str]]]:
    response = api.get(f"/api/services/{service.id}/releases/")
    assert response.status_code == 200, response.json
    return [(r["version"], [e["error_type"] for e in r["new_errors"]], [e["error_type"] for e in r["regressions"]])
            for r in response.json["items"]]


def test_releases_are_numbered_in_the_order_first_seen_and_list_new_errors_and_regressions(api, client, service,
                                                                                           document):
    # "10.0" sorts before "9.0" as text and after it as a version: Heartwatch goes by what came first.
    old = record(client, service, "OldError", release="9.0")
    record(client, service, "OldError", release="10.0")
    new = record(client, service, "NewError", release="10.0")
    record(client, service, "NoRelease")
    assert [r.version for r in db.session.execute(select(Release).order_by(Release.id)).scalars()] == ["9.0", "10.0"]
    assert versions(api, service) == [("10.0", ["NewError"], []), ("9.0", ["OldError"], [])]

    api.post(f"/api/errors/{old}/resolve/")
    record(client, service, "OldError", release="9.0")  # an ordinary resolution: any event reopens it
    assert fresh(old).status == "assigned"  # reopened, back to its assignee
    assert versions(api, service) == [("10.0", ["NewError"], []), ("9.0", ["OldError"], ["OldError"])]
    listing = api.get(f"/api/services/{service.id}/releases/")
    assert_valid(document, "ReleasePage", listing.json)
    assert listing.json["items"][1]["regression_count"] == 1 and listing.json["total"] == 2

    detail = api.get(f"/api/errors/{old}/").json
    assert (detail["first_release"], detail["last_release"], detail["resolved_in_release"]) == ("9.0", "10.0", None)
    assert api.get(f"/api/errors/{new}/").json["first_release"] == "10.0"
    assert api.get("/api/services/999999/releases/").status_code == 404
    assert api.get(f"/api/services/{service.id}/releases/?per_page=0").json["error"]["field"] == "per_page"


def test_resolved_in_next_release_stays_resolved_until_a_newer_release_reopens_it(api, client, service, document):
    error_id = record(client, service, release="1.0")
    record(client, service, "Other", release="1.1")  # the service's newest release is now 1.1

    resolved = api.post(f"/api/errors/{error_id}/resolve/", json={"in_next_release": True, "note": "fixed in 1.2"})
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolved_in_release"] == "1.1"
    assert_valid(document, "ErrorDetail", resolved.json)

    for release in ("1.0", "1.1", None):  # the same or older releases, or none: counted, still resolved
        record(client, service, **({"release": release} if release else {}))
    error = fresh(error_id)
    assert (error.status, error.occurrence_count, error.regression_count) == ("resolved", 4, 0)

    record(client, service, release="1.2")
    error = fresh(error_id)
    assert (error.status, error.regression_count, error.resolved_in_release_id) == ("assigned", 1, None)
    assert versions(api, service)[0] == ("1.2", [], ["ValueError"])
    regressed = db.session.execute(select(AuditEvent).where(AuditEvent.error_id == error_id,
                                                            AuditEvent.action == "error.regressed")).scalars().all()
    assert len(regressed) == 1


def test_resolve_in_next_release_needs_a_release_and_goes_with_resolving(api, client, service):
    error_id = record(client, service)
    response = api.post(f"/api/errors/{error_id}/resolve/", json={"in_next_release": True})
    assert response.status_code == 409 and response.json["error"]["field"] == "in_next_release"
    assert fresh(error_id).status != "resolved"
    response = api.post(f"/api/errors/{error_id}/resolve/", json={"in_next_release": "yes"})
    assert response.status_code == 400 and response.json["error"]["field"] == "in_next_release"


def login(client, developer):
    response = client.post("/login", data={"email": developer.email, "password": PASSWORD})
    assert response.status_code == 303


def test_the_dashboard_resolves_in_next_release_and_shows_the_releases(client, service, lead):
    error_id = record(client, service, "Checkout", release="2.0.0")
    record(client, service, "Checkout", release="2.1.0")
    record(client, service, "Fresh", release="2.1.0")
    login(client, lead)

    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert "First release" in page and ">2.0.0<" in page and ">2.1.0 <" in page
    assert 'name="in_next_release"' in page
    response = client.post(f"/errors/{error_id}/resolve", data={"note": "", "in_next_release": "1"})
    assert response.status_code == 303
    assert fresh(error_id).resolved_in_release_id is not None
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert "in the next release" in page

    releases = client.get(f"/services/{service.id}/releases").get_data(as_text=True)
    assert releases.index("2.1.0") < releases.index("2.0.0")
    assert "Fresh" in releases and "Checkout" in releases
    assert client.get("/releases").headers["Location"].endswith(f"/services/{service.id}/releases")
    assert client.get("/services/999999/releases").status_code == 404
