"""Settings (admins only): services, keys, DSN and snippets, thresholds and intervals, webhooks, users."""
from __future__ import annotations

import json
import re

import pytest
from werkzeug import Response

from app.extensions import db
from app.models import AuditEvent, Developer, Service, Setting, WebhookSubscription
from app.platform import settings as runtime
from app.recording.dsn import dsn_for
from app.notify.subscriptions import verify_signature
from tests.factories import ingest, make_developer, make_service

PASSWORD = "correct horse battery"


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


@pytest.fixture
def admin(app):
    return make_developer("Ada Admin", email="ada@example.test", role="admin")


SETTINGS_PAGES = ["/settings/services", "/settings/users", "/settings/alerts", "/settings/webhooks"]


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_settings_are_for_admins_only(client, lead, path):
    login(client, lead)
    assert client.get(path).status_code == 403
    assert client.post(path, data={"name": "x"}).status_code == 403


def test_non_admins_do_not_see_settings_in_the_navigation(client, lead, admin):
    login(client, lead)
    assert 'href="/settings"' not in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login(client, admin)
    assert 'href="/settings"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_every_settings_page_renders_for_an_admin(client, admin, path):
    login(client, admin)
    assert client.get(path).status_code == 200


# --- services ------------------------------------------------------------------------------------

def test_create_a_service_and_see_its_dsn_and_snippets(client, admin, lead):
    login(client, admin)
    response = client.post("/settings/services", data={"name": "Billing API", "platform": "python",
                                                        "lead_id": str(lead.id)})
    assert response.status_code == 303
    service = db.session.execute(db.select(Service).where(Service.slug == "billing-api")).scalar_one()
    assert service.lead_id == lead.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    dsn = dsn_for(service)
    assert dsn in page and service.ingest_key in page
    for snippet in ("sentry_sdk.init(", "@sentry/react", "@sentry/angular", "SENTRY_LARAVEL_DSN=", "io.sentry.Sentry",
                    "SentryFlutter.init", "/webhook/laravel/", "/webhook/java/", "/webhook/frontend/",
                    "/webhook/mobile/", "/webhook/generic/", "curl -X POST"):
        assert snippet in page, snippet
    assert "Billing API created" in page


def test_the_curl_snippet_posts_an_error_that_is_accepted(client, admin, service):
    login(client, admin)
    page = client.get(f"/settings/services/{service.id}").get_data(as_text=True)
    snippet = re.search(r'<pre class="code" id="snippet-curl">(.*?)</pre>', page, re.S).group(1)
    first = snippet.replace("&#39;", "'").replace("&#34;", '"').replace("&quot;", '"')
    body = re.search(r"-d '(\{.*?\})'", first).group(1)
    response = ingest(client, service, json.loads(body))
    assert response.status_code == 201, response.json


def test_service_form_errors_are_explained(client, admin, service):
    login(client, admin)
    for data, message in (({"name": "", "platform": "python"}, "a service needs a name"),
                          ({"name": "Django AI", "platform": "python"}, "exists already"),
                          ({"name": "X", "platform": "cobol"}, "platform must be one of")):
        response = client.post("/settings/services", data=data)
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_rotating_the_key_keeps_the_old_one_for_the_grace_period(client, admin, service):
    old_key = service.ingest_key
    login(client, admin)
    response = client.post(f"/settings/services/{service.id}/rotate-key")
    assert response.status_code == 303
    db.session.refresh(service)
    assert service.ingest_key != old_key and service.previous_ingest_key == old_key
    page = client.get(f"/settings/services/{service.id}").get_data(as_text=True)
    assert service.ingest_key in page and "works until" in page
    for key in (old_key, service.ingest_key):
        posted = client.post("/api/errors/", json={"error_type": "E", "message": "m"}, headers={"X-Api-Key": key})
        assert posted.status_code == 201


def test_a_lead_cannot_rotate_a_key(client, lead, service):
    key = service.ingest_key
    login(client, lead)
    assert client.post(f"/settings/services/{service.id}/rotate-key").status_code == 403
    db.session.refresh(service)
    assert service.ingest_key == key


def test_dropped_events_are_shown_per_service(client, admin, service):
    service.dropped_events = 42
    db.session.commit()
    login(client, admin)
    assert '<span class="warn" title="events refused by the rate limit">42</span>' in \
        client.get("/settings/services").get_data(as_text=True)
    assert "42</span> refused by the rate limit" in client.get(f"/settings/services/{service.id}").get_data(as_text=True)


def test_unknown_service_is_404(client, admin):
    login(client, admin)
    assert client.get("/settings/services/999").status_code == 404


# --- users ------------------------------------------------------------------------------------------

def test_admin_creates_a_user_who_can_sign_in(client, admin, service):
    login(client, admin)
    response = client.post("/settings/users", data={"name": "Nina New", "email": "nina@example.test",
                                                     "role": "lead", "password": "a long password",
                                                     "service_id": str(service.id)})
    assert response.status_code == 303
    nina = db.session.execute(db.select(Developer).where(Developer.email == "nina@example.test")).scalar_one()
    assert nina.role == "lead" and [s.id for s in nina.services] == [service.id]
    client.post("/logout")
    assert client.post("/login", data={"email": "nina@example.test", "password": "a long password"}).status_code == 303


@pytest.mark.parametrize("data, message", [
    ({"name": "N", "email": "not-an-email", "role": "lead", "password": "a long password"}, "valid e-mail"),
    ({"name": "N", "email": "n@example.test", "role": "overlord", "password": "a long password"}, "role must be"),
    ({"name": "N", "email": "n@example.test", "role": "developer", "password": "short"}, "at least 10"),
    ({"name": "N", "email": "ada@example.test", "role": "developer", "password": "a long password"}, "exists already"),
])
def test_user_form_errors_are_explained(client, admin, data, message):
    login(client, admin)
    response = client.post("/settings/users", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_role_and_active_changes_and_the_last_admin_is_kept(client, admin, lead):
    login(client, admin)
    assert client.post(f"/settings/users/{lead.id}", data={"role": "manager"}).status_code == 303
    assert client.post(f"/settings/users/{lead.id}", data={"active": "0"}).status_code == 303
    db.session.expire_all()
    lead = db.session.get(Developer, lead.id)
    assert lead.role == "manager" and not lead.active
    refused = client.post(f"/settings/users/{admin.id}", data={"role": "developer"})
    assert refused.status_code == 409 and "at least one active admin" in refused.get_data(as_text=True)
    assert client.post(f"/settings/users/{admin.id}", data={"active": "0"}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Developer, admin.id).role == "admin"
    actions = {e.action for e in db.session.execute(db.select(AuditEvent)).scalars()}
    assert {"developer.role_changed", "developer.disabled"} <= actions


# --- thresholds and intervals ----------------------------------------------------------------------

def test_thresholds_and_intervals_are_changed_and_reset(client, admin):
    login(client, admin)
    page = client.get("/settings/alerts").get_data(as_text=True)
    assert "Errors per hour before an alert" in page and "Threshold checks" in page
    saved = client.post("/settings/alerts", data={"key": "threshold_errors_per_hour", "value": "250"})
    assert saved.status_code == 303
    assert runtime.get("threshold_errors_per_hour") == 250
    assert "changed" in client.get("/settings/alerts").get_data(as_text=True)
    client.post("/settings/alerts", data={"key": "threshold_errors_per_hour", "reset": "1"})
    assert db.session.get(Setting, "threshold_errors_per_hour") is None


@pytest.mark.parametrize("key, value", [("threshold_errors_per_hour", "many"), ("threshold_errors_per_hour", "0"),
                                        ("daily_summary_time", "25:99"), ("no_such_setting", "1")])
def test_invalid_settings_are_explained_and_not_saved(client, admin, key, value):
    login(client, admin)
    response = client.post("/settings/alerts", data={"key": key, "value": value})
    assert response.status_code == 400 and "flash-error" in response.get_data(as_text=True)
    assert db.session.execute(db.select(Setting)).scalar_one_or_none() is None


# --- webhooks -----------------------------------------------------------------------------------------

def test_a_webhook_subscription_is_created_its_secret_shown_once_then_tested(client, admin, httpserver):
    received = []

    def receiver(request):
        received.append((request.headers.get("X-Heartwatch-Signature"), request.get_data()))
        return Response("ok")

    httpserver.expect_request("/hooks/heartwatch", method="POST").respond_with_handler(receiver)
    login(client, admin)
    response = client.post("/settings/webhooks", data={"name": "Incident bot", "url": httpserver.url_for(
        "/hooks/heartwatch"), "events": ["error.created", "error.resolved"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    subscription = db.session.execute(db.select(WebhookSubscription)).scalar_one()
    assert subscription.secret in body and subscription.events == ["error.created", "error.resolved"]
    assert subscription.secret not in client.get("/settings/webhooks").get_data(as_text=True)
    tested = client.post(f"/settings/webhooks/{subscription.id}", data={"action": "test"})
    assert tested.status_code == 303
    assert len(received) == 1
    header, raw = received[0]
    assert verify_signature(subscription.secret, raw, header)


def test_webhook_form_errors_and_actions(client, admin):
    login(client, admin)
    bad = client.post("/settings/webhooks", data={"name": "x", "url": "ftp://nope", "events": ["error.created"]})
    assert bad.status_code == 400 and "http://" in bad.get_data(as_text=True)
    client.post("/settings/webhooks", data={"name": "Bot", "url": "https://hooks.example/x",
                                            "events": ["error.created"]})
    subscription = db.session.execute(db.select(WebhookSubscription)).scalar_one()
    old_secret = subscription.secret
    client.post(f"/settings/webhooks/{subscription.id}", data={"action": "disable"})
    rotated = client.post(f"/settings/webhooks/{subscription.id}", data={"action": "rotate"})
    db.session.refresh(subscription)
    assert not subscription.active and subscription.secret != old_secret
    assert subscription.secret in rotated.get_data(as_text=True)
    assert client.post(f"/settings/webhooks/{subscription.id}", data={"action": "explode"}).status_code == 400
    client.post(f"/settings/webhooks/{subscription.id}", data={"action": "delete"})
    assert db.session.execute(db.select(WebhookSubscription)).scalar_one_or_none() is None
    assert client.post("/settings/webhooks/999", data={"action": "delete"}).status_code == 404


def test_webhook_settings_refused_to_a_lead(client, lead):
    login(client, lead)
    assert client.post("/settings/webhooks", data={"name": "x", "url": "https://a.example/",
                                                   "events": ["error.created"]}).status_code == 403
    assert db.session.execute(db.select(WebhookSubscription)).scalar_one_or_none() is None


def test_a_second_service_appears_in_the_list(client, admin):
    make_service("Java Geo", platform="java")
    login(client, admin)
    assert "Java Geo" in client.get("/settings/services").get_data(as_text=True)
