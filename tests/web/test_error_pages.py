"""404, 405 and 500 answers: a styled page wherever a browser meets them (signed in or not), the JSON
error shape under /api/ and /webhook/ and for clients that ask for JSON, the flash bar for HTMX, and
the security headers on all of them."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.factories import ApiClient, make_token

PASSWORD = "correct horse battery"


@pytest.fixture
def failing(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def fail():
        raise RuntimeError("a bug in a view: secret detail")

    def fail_in_the_database():
        db.session.execute(text("SELECT no_such_column FROM no_such_table"))

    app.add_url_rule("/__failing", "failing", fail)
    app.add_url_rule("/__failing_sql", "failing_sql", fail_in_the_database)
    return app


def sign_in(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def assert_styled_page(response, status: int, title: str):
    body = response.get_data(as_text=True)
    assert response.status_code == status and response.mimetype == "text/html", body[:300]
    assert f'<p class="problem-code" aria-hidden="true">{status}</p>' in body and f">{title}</h1>" in body
    assert 'href="/static/css/app.css"' in body
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    return body


@pytest.mark.parametrize("signed_in", [False, True])
def test_an_unknown_address_is_a_styled_404_page(client, lead, signed_in):
    if signed_in:
        sign_in(client, lead)
    body = assert_styled_page(client.get("/no/such/page"), 404, "Page not found")
    assert "There is no page at this address" in body and "GET /no/such/page" in body
    assert ("The overview" in body) is signed_in and ("Sign in" in body) is not signed_in


def test_a_view_s_own_404_sentence_is_kept(client, lead):
    sign_in(client, lead)
    body = assert_styled_page(client.get("/errors/00000000-0000-0000-0000-000000000000"), 404, "Page not found")
    assert "No error with id 00000000-0000-0000-0000-000000000000." in body


def test_a_wrong_method_is_a_styled_405_page_with_allow(client, lead):
    response = client.get("/logout")
    body = assert_styled_page(response, 405, "Method not allowed")
    assert "does not take a GET request" in body and "POST" in response.headers["Allow"]
    sign_in(client, lead)
    response = client.get(f"/errors/{'0' * 8}/resolve")
    assert_styled_page(response, 405, "Method not allowed")


def test_a_failure_is_a_styled_500_page_that_tells_nothing_of_the_code(client, failing, lead):
    for path in ("/__failing", "/__failing_sql"):
        body = assert_styled_page(client.get(path), 500, "Something went wrong")
        assert "secret detail" not in body and "no_such_table" not in body and "Traceback" not in body
    # The session is usable again after the failed statement: the next page signs in and renders.
    sign_in(client, lead)
    assert "The overview" in assert_styled_page(client.get("/__failing_sql"), 500, "Something went wrong")
    assert client.get("/").status_code == 200


def test_a_referring_page_of_heartwatch_is_offered_as_the_way_back(client, lead):
    sign_in(client, lead)
    body = client.get("/no/such/page", headers={"Referer": "http://localhost/errors?status=all"}).get_data(as_text=True)
    assert 'href="/errors?status=all">← Back</a>' in body
    other = client.get("/no/such/page", headers={"Referer": "https://elsewhere.example/x"}).get_data(as_text=True)
    assert "← Back" not in other


def test_json_answers_stay_json(client, lead, failing):
    api = ApiClient(client, make_token(lead))
    not_found = api.get("/api/no/such/thing/")
    assert not_found.status_code == 404 and not_found.json["error"]["code"] == "not_found"
    wrong_method = api.delete("/api/errors/")
    assert wrong_method.status_code == 405 and wrong_method.json["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]
    assert client.get("/webhook/nope/").json["error"]["code"] == "not_found"
    asked = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert asked.status_code == 404 and asked.is_json
    failed = client.get("/__failing", headers={"Accept": "application/json"})
    assert failed.status_code == 500 and failed.json["error"]["code"] == "internal_error"


def test_htmx_hears_of_a_404_in_the_flash_bar(client, lead):
    sign_in(client, lead)
    response = client.get("/no/such/fragment", headers={"HX-Request": "true", "HX-Target": "error-table"})
    assert response.status_code == 404 and response.headers["HX-Retarget"] == "#flash"
    assert "There is no page at this address" in response.get_data(as_text=True)
    assert "Content-Security-Policy" in response.headers
