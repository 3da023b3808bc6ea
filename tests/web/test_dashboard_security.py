"""The Security page (browsers' reports, apart from the errors) and a report's fields on its page."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import ingest

PASSWORD = "correct horse battery"
RECORDED = Path(__file__).resolve().parents[1] / "sentry" / "recorded" / "chromium-156-csp-report-uri.json"


@pytest.fixture(autouse=True)
def no_overview_cache(app):
    app.config["DASHBOARD_CACHE_SECONDS"] = 0


@pytest.fixture
def reported(client, service):
    for request in json.loads(RECORDED.read_text())["requests"]:
        response = client.post(f"/api/{service.id}/security/?sentry_key={service.ingest_key}",
                               data=request["body"], headers={"Content-Type": request["content_type"]})
        assert response.status_code == 201
    ingest(client, service, {"error_type": "CartError", "message": "the cart is gone"})


def login(client, developer):
    response = client.post("/login", data={"email": developer.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_the_security_page_lists_reports_and_the_error_list_does_not(client, lead, reported):
    login(client, lead)
    page = client.get("/security").get_data(as_text=True)
    assert "Security reports" in page
    assert "report" in page.split("With selected")[0].split("</strong>", 1)[-1][:40]  # "N report(s)", not "errors"
    assert "Blocked &#39;script&#39; from &#39;cdn.evil.example&#39;" in page
    assert "CartError" not in page
    errors = client.get("/errors").get_data(as_text=True)
    assert "CartError" in errors and "cdn.evil.example" not in errors
    fragment = client.get("/security?q=image", headers={"HX-Request": "true", "HX-Target": "error-table"})
    text = fragment.get_data(as_text=True)
    assert "evil.example" in text and "cdn.evil.example" not in text and "/security?" in text


def test_the_overview_counters_and_feed_leave_reports_out(client, lead, reported):
    from app.reports import overview
    from app.web.feed import render_events
    from app.extensions import db
    from app.models import ErrorLog
    from sqlalchemy import select

    counts = overview.counters()
    assert (counts["open"], counts["new_last_hour"], counts["unassigned"]) == (1, 1, 0)
    assert [e.error_type for e in overview.recent_errors()] == ["CartError"]
    ids = list(db.session.execute(select(ErrorLog.id).where(ErrorLog.kind == "security")).scalars())
    assert render_events([{"type": "error.created", "error_id": i} for i in ids]) is None


def test_a_report_page_shows_its_fields(client, lead, reported, service):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ErrorLog

    login(client, lead)
    report = db.session.execute(select(ErrorLog).where(ErrorLog.error_type.like("Blocked 'image'%"))).scalar_one()
    page = client.get(f"/errors/{report.id}").get_data(as_text=True)
    assert 'id="security-report"' in page
    for field in ("blocked-uri", "effective-directive", "original-policy", "disposition", "source-file",
                  "line-number", "column-number", "status-code", "document-uri"):
        assert f">{field}<" in page, field
    assert "https://evil.example/pixel.gif?u=1" in page
    assert 'href="/security"' in page  # its crumbs lead back to the Security page


def test_bulk_actions_from_the_security_page_answer_with_the_security_list(client, lead, reported):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ErrorLog

    login(client, lead)
    ids = list(db.session.execute(select(ErrorLog.id).where(ErrorLog.kind == "security")).scalars())
    response = client.post("/errors/bulk", data={"action": "ignore", "error_id": ids, "next": "/security"},
                           headers={"HX-Request": "true", "HX-Target": "error-table"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "No security reports" in text and "CartError" not in text
