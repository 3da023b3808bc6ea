"""Signing in to the dashboard: passwords, the attempt limit, cookies, CSRF, who reaches what."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AuditEvent, ErrorLog
from app.accounts import sign_in
from tests.factories import ingest, make_developer

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_limits(app):
    sign_in.reset_local_state()
    if app.config.get("REDIS_URL"):
        import redis

        client = redis.Redis.from_url(app.config["REDIS_URL"])
        keys = list(client.scan_iter("heartwatch:login:*"))
        if keys:
            client.delete(*keys)


def login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_sign_in_with_the_right_password_reaches_the_overview_and_is_audited(client, lead):
    response = login(client, lead.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Lena Lead" in page.get_data(as_text=True)
    actions = [e.action for e in db.session.execute(db.select(AuditEvent)).scalars()]
    assert "developer.signed_in" in actions


def test_wrong_password_is_refused_with_401_and_no_session(client, lead):
    response = login(client, lead.email, "not the password")
    assert response.status_code == 401
    assert "Wrong e-mail or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, lead):
    response = login(client, "nobody@example.test", "whatever")
    assert response.status_code == 401
    assert "Wrong e-mail or password" in response.get_data(as_text=True)


def test_disabled_account_cannot_sign_in(client, lead):
    lead.active = False
    db.session.commit()
    assert login(client, lead.email).status_code == 401


def test_disabling_an_account_ends_its_open_session(client, lead):
    login(client, lead.email)
    assert client.get("/").status_code == 200
    lead.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_after_the_attempt_limit_even_the_right_password_waits(app, client, lead):
    app.config["LOGIN_MAX_ATTEMPTS"] = 3
    for _ in range(3):
        assert login(client, lead.email, "guess").status_code == 401
    refused = login(client, lead.email)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_the_limit_counts_per_email_so_others_still_sign_in(app, client, lead):
    app.config["LOGIN_MAX_ATTEMPTS"] = 2
    other = make_developer("Other One", email="other@example.test")
    for _ in range(2):
        login(client, lead.email, "guess")
    assert login(client, lead.email).status_code == 429
    assert login(client, other.email).status_code == 303


def test_a_successful_sign_in_clears_earlier_failures(app, client, lead):
    app.config["LOGIN_MAX_ATTEMPTS"] = 3
    login(client, lead.email, "guess")
    login(client, lead.email, "guess")
    assert login(client, lead.email).status_code == 303
    client.post("/logout")
    login(client, lead.email, "guess")
    login(client, lead.email, "guess")
    assert login(client, lead.email).status_code == 303


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_session_and_remember_cookies_are_httponly_and_samesite(client, lead):
    response = login(client, lead.email, remember="1")
    cookies = _set_cookies(response)
    session = next(c for c in cookies if c.startswith("session="))
    remember = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session, remember):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # served over plain http in the tests


def test_without_remember_me_no_lasting_cookie_is_set(client, lead):
    response = login(client, lead.email)
    assert not any(c.startswith("remember_token=") for c in _set_cookies(response))


def test_remember_me_signs_in_again_after_the_session_cookie_is_gone(client, lead):
    login(client, lead.email, remember="1")
    client.delete_cookie("session")
    assert client.get("/").status_code == 200


def test_cookies_are_secure_when_served_over_https(app, client, lead):
    app.config["SESSION_COOKIE_SECURE"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = True
    response = login(client, lead.email, remember="1")
    assert all("Secure" in c for c in _set_cookies(response) if c.startswith(("session=", "remember_token=")))


def test_sign_out_ends_the_session(client, lead):
    login(client, lead.email)
    response = client.post("/logout")
    assert response.status_code == 303
    assert client.get("/").status_code == 302


def test_next_goes_back_to_the_page_asked_for_but_never_off_site(client, lead):
    response = client.post("/login?next=/errors%3Fseverity%3Dhigh",
                           data={"email": lead.email, "password": PASSWORD})
    assert response.headers["Location"] == "/errors?severity=high"
    client.post("/logout")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", query_string={"next": target},
                               data={"email": lead.email, "password": PASSWORD})
        assert response.headers["Location"] == "/", target
        client.post("/logout")


def test_pages_redirect_to_sign_in_and_remember_where_to_go(client):
    response = client.get("/errors?severity=critical")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_htmx_requests_without_a_session_are_told_to_sign_in(client):
    response = client.get("/errors", headers={"HX-Request": "true", "HX-Target": "error-table"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_json_clients_without_a_session_get_the_json_error_shape(client):
    response = client.get("/errors", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_health_check_needs_no_session(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_pages_carry_a_strict_content_security_policy(client, lead):
    login(client, lead.email)
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert client.get("/login").headers["X-Frame-Options"] == "DENY"


# --- CSRF ----------------------------------------------------------------------------------------

@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _token(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def test_sign_in_form_without_its_csrf_token_is_refused(csrf_app, client, lead):
    response = login(client, lead.email)
    assert response.status_code == 400
    token = _token(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": lead.email, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 303


def test_a_form_post_without_csrf_token_changes_nothing(csrf_app, client, lead, service):
    error_id = ingest(client, service, {"error_type": "ValueError", "message": "boom"}).json["error_id"]
    token = _token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": lead.email, "password": PASSWORD, "csrf_token": token})
    refused = client.post(f"/errors/{error_id}/resolve", data={"note": "forged"})
    assert refused.status_code == 400
    assert db.session.get(ErrorLog, error_id).status != "resolved"
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    accepted = client.post(f"/errors/{error_id}/resolve", data={"note": "fixed"},
                           headers={"X-CSRFToken": header_token, "HX-Request": "true", "HX-Target": "triage"})
    assert accepted.status_code == 200
    db.session.expire_all()
    assert db.session.get(ErrorLog, error_id).status == "resolved"


def test_a_nul_byte_in_the_email_is_a_failed_sign_in(client, lead):
    assert login(client, lead.email + "\x00").status_code == 401


@pytest.mark.parametrize("forwarded_host, referer, status", [
    ("heartwatch.example.com:8443", "https://heartwatch.example.com:8443/login", 303),  # nginx's $host:$server_port
    ("heartwatch.example.com:443", "https://heartwatch.example.com/login", 303),        # the same on 443
    ("heartwatch.example.com", "https://heartwatch.example.com:8443/login", 400),       # $host alone drops the port
])
def test_sign_in_behind_a_proxy_needs_the_forwarded_host_with_its_port(app, lead, forwarded_host, referer, status):
    """docs/deploy.md's nginx site: on https the form's CSRF check compares the Referer with the host
    the proxy forwarded."""
    from app import create_app
    from app.config import TestConfig

    served = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                        REDIS_URL=app.config["REDIS_URL"], INGEST_SPOOL_DIR=app.config["INGEST_SPOOL_DIR"],
                        PROXY_HOPS=1, WTF_CSRF_ENABLED=True)
    proxy = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": forwarded_host}
    browser = served.test_client()
    page = browser.get("/login", headers=proxy).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = browser.post("/login", data={"email": lead.email, "password": PASSWORD, "csrf_token": token},
                          headers={**proxy, "Referer": referer})
    assert answer.status_code == status, answer.get_data(as_text=True)
    if status == 400:
        assert "The referrer does not match the host" in answer.get_data(as_text=True)
