"""A service's ingest settings through the API and the dashboard, and what every way in then stores."""
from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import orjson
import pytest

from app.extensions import db
from app.ingest.scrubbing import FILTERED
from app.models import AuditEvent, ErrorLog, ErrorOccurrence, Service
from tests.factories import ApiClient, ingest, make_developer, make_service, make_token

PASSWORD = "correct horse battery"
RECORDED = Path(__file__).resolve().parents[1] / "ingest" / "recorded"
SECRET = "hunter2-s3cret"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def admin(app):
    return make_developer("Ada Admin", email="ada@example.test", role="admin")


@pytest.fixture
def admin_api(client, admin):
    return ApiClient(client, make_token(admin))


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


def _occurrence(service) -> ErrorOccurrence:
    db.session.commit()  # a new transaction: what the server committed meanwhile
    [occurrence] = db.session.execute(db.select(ErrorOccurrence).where(ErrorOccurrence.service_id == service.id)
                                      ).scalars().all()
    return occurrence


def _stored_text(occurrence: ErrorOccurrence) -> str:
    return json.dumps([occurrence.message, occurrence.exceptions, occurrence.user, occurrence.request,
                       occurrence.tags, occurrence.extra, occurrence.stack_trace, occurrence.raw_payload])


# --- the API ---------------------------------------------------------------------------------------

def test_a_service_has_the_defaults_until_changed(admin_api, service):
    answer = admin_api.get(f"/api/services/{service.id}/")
    assert answer.status_code == 200
    assert answer.json == {"id": service.id, "name": service.name, "slug": service.slug, "platform": "python",
                           "active": True, "ingest_settings": {
                               "scrub_data": True, "sensitive_fields": [], "safe_fields": [],
                               "in_app_include": [], "in_app_exclude": []}}


def test_an_admin_changes_the_settings_and_absent_fields_are_kept(admin_api, service):
    answer = admin_api.patch(f"/api/services/{service.id}/", json={"ingest_settings": {
        "sensitive_fields": ["iban", " iban ", "tax_id"], "in_app_include": ["com.acme"]}})
    assert answer.status_code == 200, answer.json
    assert answer.json["ingest_settings"]["sensitive_fields"] == ["iban", "tax_id"]
    answer = admin_api.patch(f"/api/services/{service.id}/", json={"ingest_settings": {"scrub_data": False}})
    assert answer.json["ingest_settings"] == {"scrub_data": False, "sensitive_fields": ["iban", "tax_id"],
                                              "safe_fields": [], "in_app_include": ["com.acme"],
                                              "in_app_exclude": []}
    audit = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "service.ingest_settings_changed")
                               ).scalars().all()
    assert len(audit) == 2


BAD_SETTINGS = [
    ({"sensitive_fields": ["k"] * 51}, "sensitive_fields", "'sensitive_fields' takes at most 50 entries, not 51"),
    ({"in_app_include": ["x" * 101]}, "in_app_include[0]",
     "'in_app_include[0]' is longer than 100 characters"),
    ({"safe_fields": ["ok", "  "]}, "safe_fields[1]", "'safe_fields[1]' is empty"),
    ({"in_app_exclude": "org.postgresql"}, "in_app_exclude", "'in_app_exclude' must be a list of strings"),
    ({"in_app_exclude": ["a\tb"]}, "in_app_exclude[0]", "'in_app_exclude[0]' contains control characters"),
]


@pytest.mark.parametrize("settings, field, message", BAD_SETTINGS + [
    ({"scrub_data": "no"}, "scrub_data", "'scrub_data' must be true or false"),
    ({"scrub": True}, "scrub", "unknown ingest setting 'scrub'; the settings are scrub_data, sensitive_fields, "
                               "safe_fields, in_app_include, in_app_exclude"),
])
def test_bad_settings_are_a_400_naming_the_field_and_change_nothing(admin_api, service, settings, field, message):
    answer = admin_api.patch(f"/api/services/{service.id}/", json={"ingest_settings": settings})
    assert answer.status_code == 400
    assert answer.json["error"]["field"] == f"ingest_settings.{field}"
    assert answer.json["error"]["message"] == message
    db.session.commit()  # a new transaction: what the server committed meanwhile
    assert db.session.get(Service, service.id).ingest_settings is None


@pytest.mark.parametrize("body, field", [({}, "ingest_settings"), ({"name": "x", "ingest_settings": {}}, "name"),
                                         ({"ingest_settings": []}, "ingest_settings")])
def test_the_body_is_checked(admin_api, service, body, field):
    answer = admin_api.patch(f"/api/services/{service.id}/", json=body)
    assert answer.status_code == 400 and answer.json["error"]["field"] == field


def test_only_admins_change_settings_and_unknown_services_are_404(api, admin_api, service):
    answer = api.patch(f"/api/services/{service.id}/", json={"ingest_settings": {"scrub_data": False}})
    assert answer.status_code == 403
    assert admin_api.get("/api/services/9999/").status_code == 404
    assert admin_api.patch("/api/services/9999/", json={"ingest_settings": {}}).status_code == 404


# --- the dashboard ---------------------------------------------------------------------------------

# (a blank line of the form is no entry, and a form cannot send a string for a list)
@pytest.mark.parametrize("settings, field, message", BAD_SETTINGS[:2] + BAD_SETTINGS[4:])
def test_the_form_refuses_what_the_api_refuses_with_the_same_message(client, admin, admin_api, service,
                                                                     settings, field, message):
    login(client, admin)
    form = {"scrub_data": "on", **{name: "\n".join(value) for name, value in settings.items()}}
    response = client.post(f"/settings/services/{service.id}/ingest-settings", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message.replace("'", "&#39;") in page
    assert admin_api.patch(f"/api/services/{service.id}/", json={"ingest_settings": settings}).json["error"][
        "message"] == message


def test_the_form_saves_the_settings_and_the_page_shows_them(client, admin, admin_api, service):
    login(client, admin)
    page = client.get(f"/settings/services/{service.id}").get_data(as_text=True)
    assert 'name="scrub_data" checked' in page
    response = client.post(f"/settings/services/{service.id}/ingest-settings", data={
        "sensitive_fields": "iban\ntax_id, vat", "safe_fields": "", "in_app_include": "com.acme\n",
        "in_app_exclude": "org.jooq"})
    assert response.status_code == 303
    settings = admin_api.get(f"/api/services/{service.id}/").json["ingest_settings"]
    assert settings == {"scrub_data": False, "sensitive_fields": ["iban", "tax_id", "vat"], "safe_fields": [],
                        "in_app_include": ["com.acme"], "in_app_exclude": ["org.jooq"]}
    page = client.get(f"/settings/services/{service.id}").get_data(as_text=True)
    assert 'name="scrub_data" >' in page and "iban\ntax_id\nvat</textarea>" in page


def test_settings_are_for_admins(client, lead, service):
    login(client, lead)
    assert client.post(f"/settings/services/{service.id}/ingest-settings", data={}).status_code == 403


# --- what is stored ---------------------------------------------------------------------------------

def test_ingest_follows_changed_settings_at_once(client, admin_api, service):
    payload = {"error_type": "E", "message": "m", "extra": {"iban": "DE89370400440532013000", "author": "ada"}}
    assert ingest(client, service, payload).status_code == 201
    admin_api.patch(f"/api/services/{service.id}/", json={"ingest_settings": {
        "sensitive_fields": ["iban"], "safe_fields": ["author"]}})
    first = _occurrence(service)
    assert first.extra == {"iban": "DE89370400440532013000", "author": FILTERED}
    db.session.execute(db.delete(ErrorOccurrence))
    db.session.commit()
    assert ingest(client, service, payload).status_code == 201
    assert _occurrence(service).extra == {"iban": FILTERED, "author": "ada"}
    assert "DE89" not in _occurrence(service).raw_payload


def test_scrubbing_off_keeps_the_data_but_not_the_credentials(client, admin_api, service):
    admin_api.patch(f"/api/services/{service.id}/", json={"ingest_settings": {"scrub_data": False}})
    payload = {"error_type": "E", "message": "m", "extra": {"password": SECRET},
               "request": {"headers": {"Authorization": "Bearer " + SECRET, "Accept": "*/*"}}}
    assert ingest(client, service, payload).status_code == 201
    occurrence = _occurrence(service)
    assert occurrence.extra == {"password": SECRET}
    assert occurrence.request["headers"] == {"Authorization": FILTERED, "Accept": "*/*"}
    assert "Bearer" not in occurrence.raw_payload


WEBHOOK_EVENTS = {
    "/api/errors/": {"error_type": "PaymentError", "message": f"card {CARD} declined"},
    "/webhook/generic/": {"message": f"card {CARD} declined"},
    "/webhook/java/": {"message": f"card {CARD} declined", "level": "ERROR", "logger_name": "pay.Api",
                       "stack_trace": f"java.lang.IllegalStateException: card {CARD} declined\n\tat pay.Api.x(Api.java:3)"},
    "/webhook/laravel/": {"exception": {"class": "RuntimeException", "message": f"card {CARD} declined",
                                        "file": "/app/Pay.php", "line": 4, "trace": []}},
    "/webhook/frontend/": {"name": "Error", "message": f"card {CARD} declined", "url": "https://shop.example/"},
    "/webhook/mobile/": {"exception": "StateError", "message": f"card {CARD} declined"},
}


@pytest.mark.parametrize("path", list(WEBHOOK_EVENTS))
def test_every_json_way_in_is_scrubbed_before_it_is_stored(client, service, path):
    payload = {**WEBHOOK_EVENTS[path], "user": {"id": "u-1", "password": SECRET},
               "request": {"url": "https://shop.example/pay?token=" + SECRET, "query_string": "token=" + SECRET,
                           "headers": {"Cookie": "sid=" + SECRET}},
               "tags": {"session": SECRET}, "extra": {"api_key": SECRET, "ok": "kept"}}
    assert ingest(client, service, payload, path).status_code == 201, path
    occurrence = _occurrence(service)
    stored = _stored_text(occurrence)
    assert SECRET not in stored, path
    assert "4111" not in stored, path
    assert occurrence.extra["ok"] == "kept" and occurrence.user == {"id": "u-1", "password": FILTERED}
    assert orjson.loads(occurrence.raw_payload)["extra"] == {"api_key": FILTERED, "ok": "kept"}
    db.session.commit()  # a new transaction: what the server committed meanwhile
    assert db.session.execute(db.select(ErrorLog.message)).scalar_one() == f"card {FILTERED} declined"


def _sentry_event() -> dict:
    return {"event_id": "6f2b3c4d5e6f708192a3b4c5d6e7f809", "platform": "python", "level": "error",
            "exception": {"values": [{"type": "KeyError", "value": "'x'", "stacktrace": {"frames": [
                {"filename": "app.py", "function": "pay", "module": "shop.pay", "in_app": True,
                 "vars": {"password": SECRET, "amount": "12"}}]}}]},
            "request": {"url": "http://shop/pay", "headers": [["Authorization", "Basic " + SECRET],
                                                              ["Accept", "*/*"]],
                        "cookies": "sid=" + SECRET, "data": {"card_number": CARD, "note": "n"}},
            "extra": {"db_secret": SECRET}, "contexts": {"app": {"session_id": SECRET}},
            "breadcrumbs": {"values": [{"category": "query", "data": {"token": SECRET}}]}}


def _assert_sentry_event_scrubbed(service):
    occurrence = _occurrence(service)
    assert SECRET not in _stored_text(occurrence) and "4111" not in _stored_text(occurrence)
    assert occurrence.request["headers"] == {"Authorization": FILTERED, "Accept": "*/*"}
    assert occurrence.request["data"] == {"card_number": FILTERED, "note": "n"}
    raw = orjson.loads(occurrence.raw_payload)
    assert raw["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"] == {"password": FILTERED,
                                                                                "amount": "12"}
    assert raw["request"]["headers"] == [["Authorization", FILTERED], ["Accept", "*/*"]]


def test_sentry_store_is_scrubbed(client, service):
    body = base64.b64encode(gzip.compress(orjson.dumps(_sentry_event())))
    response = client.post(f"/api/{service.id}/store/", data=body,
                           headers={"X-Sentry-Auth": f"Sentry sentry_key={service.ingest_key}, sentry_version=7"})
    assert response.status_code == 200
    _assert_sentry_event_scrubbed(service)


def test_sentry_envelope_is_scrubbed(client, service):
    event = orjson.dumps(_sentry_event())
    envelope = b"\n".join([orjson.dumps({"event_id": "6f2b3c4d5e6f708192a3b4c5d6e7f809"}),
                           orjson.dumps({"type": "event", "length": len(event)}), event])
    response = client.post(f"/api/{service.id}/envelope/?sentry_key={service.ingest_key}", data=envelope,
                           content_type="application/x-sentry-envelope")
    assert response.status_code == 200
    _assert_sentry_event_scrubbed(service)


def test_in_app_prefixes_decide_the_culprit_of_a_real_java_trace(client, admin_api):
    service = make_service("Orders", platform="java")
    trace = (RECORDED / "java17-hikari-postgres.txt").read_text()
    payload = {"message": "order lookup failed", "level": "ERROR", "logger_name": "com.acme.orders",
               "stack_trace": trace.replace("Exception in thread \"main\" ", "")}
    assert ingest(client, service, payload, "/webhook/java/").status_code == 201
    occurrence = _occurrence(service)
    cause = occurrence.exceptions[0]
    assert [f["module"] for f in cause["frames"] if f["in_app"]] == ["com.acme.orders.OrderLookup"] * 2
    admin_api.patch(f"/api/services/{service.id}/", json={"ingest_settings": {
        "in_app_include": ["com.zaxxer.hikari"]}})
    db.session.execute(db.delete(ErrorOccurrence))
    db.session.commit()
    assert ingest(client, service, payload, "/webhook/java/").status_code == 201
    cause = _occurrence(service).exceptions[0]
    assert {f["module"] for f in cause["frames"] if f["in_app"]} == {
        "com.acme.orders.OrderLookup", "com.zaxxer.hikari.pool.ProxyPreparedStatement",
        "com.zaxxer.hikari.pool.HikariProxyPreparedStatement"}
