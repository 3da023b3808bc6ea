"""The five webhooks over HTTP: each platform's natural payload in, a grouped error with parsed frames out."""
from __future__ import annotations

import gzip
import json

import pytest

from app.extensions import db
from app.models import ErrorLog, ErrorOccurrence
from tests.factories import ingest, make_developer, make_service
from tests.ingest.test_sources_frontend import CHROME_ERROR_EVENT, FIREFOX_ERROR_EVENT
from tests.ingest.test_sources_generic import CELERY_TRACEBACK
from tests.ingest.test_sources_java import LOGSTASH_EVENT
from tests.ingest.test_sources_laravel import QUERY_EXCEPTION
from tests.ingest.test_sources_mobile import FLUTTER_EVENT

SOURCES = ["laravel", "java", "frontend", "mobile", "generic"]
SAMPLES = {
    "laravel": QUERY_EXCEPTION,
    "java": LOGSTASH_EVENT,
    "frontend": CHROME_ERROR_EVENT,
    "mobile": FLUTTER_EVENT,
    "generic": {"message": "report export crashed", "stack_trace": CELERY_TRACEBACK},
}


@pytest.fixture
def lead(app, service):
    # The conftest's lead without a password: hashing one (scrypt) would dominate these tests' time.
    return make_developer("Lena Lead", role="lead", services=[service], on_call=True, password=None)


def hook(client, service, source, payload, **headers):
    return ingest(client, service, payload, path=f"/webhook/{source}/", **headers)


def detail(api, error_id):
    response = api.get(f"/api/errors/{error_id}/")
    assert response.status_code == 200
    return response.json


@pytest.mark.parametrize(("source", "error_type", "severity", "functions"), [
    ("laravel", "Illuminate\\Database\\QueryException", "high",
     ["{main}", "Illuminate\\Foundation\\Http\\Kernel->handle", "App\\Http\\Controllers\\UserController->store"]),
    ("java", "DataIntegrityViolationException", "high", ["run", "invoke", "create", "save"]),
    ("frontend", "TypeError", "medium", ["new Promise", "loadOrders", "renderWithHooks", "OrderList"]),
    ("mobile", "FormatException", "high", ["GestureRecognizer.invokeCallback", "_InkResponseState.handleTap"]),
    ("generic", "TypeError", "high", ["trace_task", "export_report", "dumps"]),
])
def test_each_webhook_records_its_platforms_error_with_parsed_frames(api, client, service, source, error_type,
                                                                     severity, functions):
    response = hook(client, service, source, SAMPLES[source])
    assert response.status_code == 201, response.json
    assert response.json["new"] is True
    assert response.json["severity"] == severity
    body = detail(api, response.json["error_id"])
    assert body["error_type"] == error_type
    assert body["occurrence_count"] == 1
    latest = body["latest_occurrence"]
    assert latest["source"] == source
    assert [f["function"] for f in latest["frames"]][:len(functions)] == functions
    assert all(set(f) >= {"filename", "function", "lineno", "in_app"} for f in latest["frames"])


def test_a_second_event_from_a_webhook_groups_into_the_same_error(client, service):
    first = hook(client, service, "laravel", QUERY_EXCEPTION).json
    moved = json.loads(json.dumps(QUERY_EXCEPTION))
    for frame in moved["exception"]["trace"]:
        if "line" in frame:
            frame["line"] += 7  # a deploy moved the code
    moved["exception"]["message"] = moved["exception"]["message"].replace("ana@", "bo@")
    second = hook(client, service, "laravel", moved).json
    assert second["error_id"] == first["error_id"] and second["new"] is False


def test_chrome_and_firefox_reports_of_one_bug_are_one_error(client, service):
    chrome = hook(client, service, "frontend", CHROME_ERROR_EVENT).json
    firefox = hook(client, service, "frontend", FIREFOX_ERROR_EVENT).json
    assert firefox["error_id"] == chrome["error_id"]
    assert db.session.get(ErrorLog, chrome["error_id"]).occurrence_count == 2


def test_frontend_unhandled_rejection(api, client, service):
    response = hook(client, service, "frontend", {
        "type": "unhandledrejection", "reason": {"name": "ChunkLoadError", "message": "Loading chunk 7 failed.",
                                                 "stack": "ChunkLoadError: Loading chunk 7 failed.\n"
                                                          "    at j (https://shop.example.com/js/main.js:1:3390)"},
        "url": "https://shop.example.com/checkout", "framework": "react"})
    assert response.status_code == 201
    body = detail(api, response.json["error_id"])
    assert body["error_type"] == "ChunkLoadError" and body["severity"] == "medium"
    assert body["latest_occurrence"]["tags"] == {"framework": "react", "event_type": "unhandledrejection"}


def test_react_component_stack_reaches_the_occurrence(api, client, service):
    response = hook(client, service, "frontend", CHROME_ERROR_EVENT)
    extra = detail(api, response.json["error_id"])["latest_occurrence"]["extra"]
    assert extra["component_stack"] == ["OrderList", "div", "ErrorBoundary", "App"]


def test_java_structured_exception(api, client, service):
    response = hook(client, service, "java", {
        "exception": "java.lang.IllegalStateException", "message": "no route",
        "frames": [{"className": "com.acme.geo.Router", "methodName": "route", "fileName": "Router.java",
                    "lineNumber": 42}],
        "level": "FATAL"})
    assert response.status_code == 201
    assert response.json["severity"] == "critical"
    frames = detail(api, response.json["error_id"])["latest_occurrence"]["frames"]
    assert [(f["module"], f["function"], f["lineno"]) for f in frames] == [("com.acme.geo.Router", "route", 42)]


def test_laravel_not_found_is_classified_low_by_the_rules(client, service):
    response = hook(client, service, "laravel", {"exception": {
        "class": "Symfony\\Component\\HttpKernel\\Exception\\NotFoundHttpException", "message": "",
        "file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Routing/RouteCollection.php", "line": 44}})
    assert response.json["severity"] == "low"


def test_the_same_error_through_two_entry_points_is_one_error(client, service):
    via_api = ingest(client, service, {"error_type": "TypeError", "message": "x",
                                       "stack_trace": CELERY_TRACEBACK}).json
    via_webhook = hook(client, service, "generic", {"message": "report export crashed",
                                                    "stack_trace": CELERY_TRACEBACK}).json
    assert via_webhook["error_id"] == via_api["error_id"]


def test_unknown_fields_are_kept(api, client, service):
    response = hook(client, service, "mobile", {**FLUTTER_EVENT, "screen": "checkout", "battery": 0.12,
                                                "sessionId": "s-99"})
    extra = detail(api, response.json["error_id"])["latest_occurrence"]["extra"]
    assert extra["screen"] == "checkout" and extra["battery"] == 0.12
    assert extra["sessionId"] == "[Filtered]"  # kept, and scrubbed like every field (docs/ingest.md)


# --- authentication, routing, CORS ---------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_key_in_the_query_string_for_clients_without_headers(client, service, source):
    response = client.post(f"/webhook/{source}/?key={service.ingest_key}", json=SAMPLES[source])
    assert response.status_code == 201


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "f" * 32}, {"X-Api-Key": "ab\x00cd"}])
def test_missing_or_unknown_key_is_401(client, service, source, headers):
    response = client.post(f"/webhook/{source}/", json=SAMPLES[source], headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["field"] == "X-Api-Key"
    assert db.session.execute(db.select(ErrorOccurrence)).first() is None


def test_unknown_webhook_is_a_json_404(client, service):
    response = hook(client, service, "lavarel", QUERY_EXCEPTION)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405(client, service):
    response = client.get("/webhook/java/")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_browsers_may_post_from_any_origin(client, service):
    preflight = client.options("/webhook/frontend/", headers={
        "Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-api-key"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Api-Key" in preflight.headers["Access-Control-Allow-Headers"]
    posted = hook(client, service, "frontend", CHROME_ERROR_EVENT, Origin="https://shop.example.com")
    assert posted.headers["Access-Control-Allow-Origin"] == "*"
    refused = client.post("/webhook/frontend/", json=CHROME_ERROR_EVENT)
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "payload", "field"), [
    ("laravel", {}, "exception"),
    ("laravel", {"exception": "Boom"}, "exception"),
    ("laravel", {"exception": {"message": "x"}}, "exception.class"),
    ("laravel", {"exception": {"class": "X", "trace": 5}}, "exception.trace"),
    ("java", {}, "message"),
    ("java", {"exception": ["X"]}, "exception"),
    ("java", {"exception": "X", "frames": "at X"}, "frames"),
    ("java", {"message": "x", "@timestamp": "noon"}, "@timestamp"),
    ("frontend", {}, "message"),
    ("frontend", {"message": "x", "filename": "a.js", "lineno": "x"}, "lineno"),
    ("frontend", {"type": "unhandledrejection", "reason": {"message": ["x"]}}, "reason.message"),
    ("mobile", {}, "exception"),
    ("mobile", {"exception": "X", "device": "Pixel"}, "device"),
    ("mobile", {"exception": "X", "stackTrace": ["#0"]}, "stackTrace"),
    ("generic", {}, "message"),
    ("generic", {"message": "x", "frames": {}}, "frames"),
])
def test_platform_specific_bad_shapes_are_400_naming_the_field(client, service, source, payload, field):
    response = hook(client, service, source, payload)
    assert response.status_code == 400
    assert response.json["error"]["field"] == field


@pytest.mark.parametrize("source", SOURCES)
def test_common_optional_fields_are_validated_on_every_webhook(client, service, source):
    for field, value in [("severity", "urgent"), ("tags", "a"), ("user", "ana"), ("request", []),
                         ("timestamp", "then"), ("fingerprint", {"a": 1}), ("event_id", "nope"), ("environment", {}),
                         ("release", []), ("endpoint", {}), ("extra", "x")]:
        response = hook(client, service, source, {**SAMPLES[source], field: value})
        assert response.status_code == 400, field
        assert response.json["error"]["field"] == field
    assert db.session.execute(db.select(ErrorOccurrence)).first() is None


@pytest.mark.parametrize("source", SOURCES)
def test_malformed_json_not_json_and_too_large_on_every_webhook(client, service, source):
    headers = {"X-Api-Key": service.ingest_key}
    url = f"/webhook/{source}/"
    malformed = client.post(url, data=b"{", content_type="application/json", headers=headers)
    assert malformed.status_code == 400 and malformed.json["error"]["code"] == "malformed_json"
    listed = client.post(url, data=b"[]", content_type="application/json", headers=headers)
    assert listed.status_code == 400
    assert client.post(url, data=b"a=b", content_type="application/x-www-form-urlencoded",
                       headers=headers).status_code == 415
    bomb = gzip.compress(b'{"message": "' + b"a" * (2 * 1024 * 1024) + b'"}')
    inflated = client.post(url, data=bomb, content_type="application/json",
                           headers={**headers, "Content-Encoding": "gzip"})
    assert inflated.status_code == 413 and inflated.is_json


@pytest.mark.parametrize("source", SOURCES)
def test_optional_common_fields_are_taken_on_every_webhook(api, client, service, source):
    extra_fields = {"environment": "staging", "release": "r-9", "tags": {"team": "core"},
                    "user": {"id": "u1"}, "timestamp": "2024-05-01T10:00:00Z", "fingerprint": ["pinned"],
                    "severity": "notice", "endpoint": "GET /health"}
    response = hook(client, service, source, {**SAMPLES[source], **extra_fields})
    assert response.status_code == 201
    assert response.json["severity"] == "low"
    body = detail(api, response.json["error_id"])
    assert (body["environment"], body["release"], body["endpoint"]) == ("staging", "r-9", "GET /health")
    latest = body["latest_occurrence"]
    assert latest["tags"]["team"] == "core" and latest["user"] == {"id": "u1"}
    assert latest["timestamp"] == "2024-05-01T10:00:00Z"


def test_a_client_fingerprint_groups_across_webhooks_but_not_across_services(client, service):
    pinned = {"fingerprint": ["checkout-outage"]}
    first = hook(client, service, "laravel", {**QUERY_EXCEPTION, **pinned}).json
    assert hook(client, service, "frontend", {**CHROME_ERROR_EVENT, **pinned}).json["error_id"] == first["error_id"]
    other = hook(client, make_service("Other"), "laravel", {**QUERY_EXCEPTION, **pinned}).json
    assert other["new"] is True and other["error_id"] != first["error_id"]
