"""Security headers on every kind of answer: nosniff and a referrer policy everywhere, and on every
HTML answer (error pages too) a content security policy that forbids inline scripts and framing."""
from __future__ import annotations

import pytest

from tests.factories import ApiClient, ingest, make_token
from tests.http_browser import PASSWORD


@pytest.fixture
def answers(app, client, lead, service):
    """One answer of each kind Heartwatch gives, by name."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def fail():
        raise RuntimeError("a bug in a view")

    app.add_url_rule("/__failing", "failing", fail)
    api = ApiClient(client, make_token(lead))
    got = {
        "sign-in page": client.get("/login"),
        "json api": api.get("/api/errors/"),
        "json api refusal": client.get("/api/errors/"),
        "ingest": ingest(client, service, {"error_type": "ValueError", "message": "boom"}),
        "webhook ingest": ingest(client, service, {"message": "boom"}, path="/webhook/generic/"),
        "sentry store": client.post(f"/api/{service.id}/store/", json={"message": "boom"},
                                    headers={"X-Sentry-Auth": f"Sentry sentry_key={service.ingest_key}"}),
        "static file": client.get("/static/js/app.js"),
        "vendored file": client.get("/static/vendor/htmx.min.js"),
        "404 page": client.get("/no/such/page"),
        "404 json": client.get("/api/no/such/thing/"),
        "405 page": client.get("/logout"),
        "405 json": client.get("/webhook/generic/"),
        "500 page": client.get("/__failing"),
        "health": client.get("/healthz"),
    }
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    got["dashboard page"] = client.get("/")
    got["htmx fragment"] = client.get("/errors", headers={"HX-Request": "true", "HX-Target": "error-table"})
    got["dashboard 404"] = client.get("/errors/999999")
    return got


def test_every_kind_of_answer_says_nosniff_and_a_referrer_policy(answers):
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses["404 page"] == 404 and statuses["405 page"] == 405 and statuses["500 page"] == 500
    assert statuses["static file"] == 200 and statuses["ingest"] in (200, 201, 202)
    for name, response in answers.items():
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") == "same-origin", name


def test_every_html_answer_has_the_content_security_policy(answers):
    html = {name: r for name, r in answers.items() if r.mimetype == "text/html"}
    assert {"sign-in page", "dashboard page", "htmx fragment", "404 page", "405 page", "500 page",
            "dashboard 404"} <= set(html)
    for name, response in html.items():
        policy = response.headers.get("Content-Security-Policy", "")
        assert "script-src 'self';" in policy, name
        assert "frame-ancestors 'none'" in policy, name
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, name
        assert "connect-src 'self' ws://localhost wss://localhost" in policy, name
        assert response.headers.get("X-Frame-Options") == "DENY", name


def test_json_answers_are_json_and_keep_their_own_headers(answers):
    assert answers["json api"].is_json and answers["404 json"].is_json
    assert answers["webhook ingest"].headers["Access-Control-Allow-Origin"] == "*"
    assert answers["405 json"].headers["Allow"]

