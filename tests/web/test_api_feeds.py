"""GET /api/patterns/ and GET /api/notifications/: they exist, they page, they filter."""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import ErrorNotification, ErrorPattern
from app.models.types import utcnow
from tests.factories import make_developer, make_error


@pytest.fixture
def lead(app, service):
    # The conftest's lead, without a password: hashing one (scrypt) would dominate these tests' time.
    return make_developer("Lena Lead", role="lead", services=[service], on_call=True, password=None)


def test_patterns_page_most_recent_first(api, app):
    now = utcnow()
    for n in range(5):
        db.session.add(ErrorPattern(signature=f"sig-{n}", error_type="TimeoutError",
                                    normalised_message=f"upstream <n> timed out ({n})", occurrence_count=10 * n,
                                    error_count=n + 1, affected_services=["ai-api", "web"],
                                    severity_distribution={"high": n}, trend="rising",
                                    first_occurrence=now - dt.timedelta(days=3),
                                    last_occurrence=now - dt.timedelta(hours=n)))
    db.session.add(ErrorPattern(signature="never", error_type="X", normalised_message="y"))
    db.session.commit()
    first = api.get("/api/patterns/?per_page=4").json
    second = api.get("/api/patterns/?per_page=4&page=2").json
    assert (first["total"], first["page"], first["per_page"], len(first["items"]), len(second["items"])) == (6, 1, 4,
                                                                                                            4, 2)
    ordered = [p["normalised_message"] for p in first["items"] + second["items"]]
    assert ordered[:5] == [f"upstream <n> timed out ({n})" for n in range(5)]
    assert ordered[5] == "y"  # never seen: last
    item = first["items"][0]
    assert item["affected_services"] == ["ai-api", "web"] and item["trend"] == "rising"
    assert item["last_occurrence"].endswith("Z")


def test_notifications_page_and_filter(api, service, lead):
    error = make_error(service)
    other = make_error(service, "KeyError", "other")
    rows = [("email", "sent", error), ("slack", "failed", error), ("sms", "dead", other), ("email", "queued", other),
            ("webhook", "sent", error)]
    for n, (channel, status, target) in enumerate(rows):
        db.session.add(ErrorNotification(error_id=target.id, recipient_id=lead.id, recipient=lead.email,
                                         channel=channel, status=status, subject=f"[high] {n}",
                                         idempotency_key=f"k-{n}", created_at=utcnow() - dt.timedelta(minutes=n)))
    db.session.commit()
    body = api.get("/api/notifications/?per_page=2").json
    assert (body["total"], body["per_page"], len(body["items"])) == (5, 2, 2)
    assert [i["subject"] for i in body["items"]] == ["[high] 0", "[high] 1"]  # newest first
    assert api.get("/api/notifications/?channel=email").json["total"] == 2
    assert api.get("/api/notifications/?status=dead").json["items"][0]["channel"] == "sms"
    assert api.get(f"/api/notifications/?error_id={error.id}").json["total"] == 3
    assert api.get("/api/notifications/?channel=email&status=queued").json["total"] == 1


@pytest.mark.parametrize("url", ["/api/patterns/", "/api/notifications/"])
@pytest.mark.parametrize("query", ["page=0", "per_page=500", "page=abc"])
def test_paging_parameters_are_validated(api, url, query):
    response = api.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response.json["error"]["field"] == query.partition("=")[0]


@pytest.mark.parametrize("url", ["/api/patterns/", "/api/notifications/"])
def test_empty_pages(api, url):
    assert api.get(url).json == {"items": [], "total": 0, "page": 1, "per_page": 25}
