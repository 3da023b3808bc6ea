"""The OpenAPI document: valid, complete (every route and nothing else), and true to real answers."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy import select

from app.extensions import db
from app.models import SEVERITIES, ErrorLog, ErrorNotification, ErrorPattern
from app.demo.loader import load_demo
from tests.factories import ingest, make_developer

RULE_ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
INGEST_RESULT = {"$ref": "#/components/schemas/IngestResult"}


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def schema_validator(document: dict, name: str) -> Draft202012Validator:
    """A validator of one component schema, its $refs resolved inside the document."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(document: dict, name: str, body) -> None:
    errors = sorted(schema_validator(document, name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def _paths_of(rule: str) -> list[str]:
    """``/webhook/<any(a, b):source>/`` -> ``/webhook/a/``, ``/webhook/b/``; ``<int:id>`` -> ``{id}``."""
    paths = [""]
    position = 0
    for match in RULE_ARGUMENT.finditer(rule):
        literal = rule[position:match.start()]
        converter, arguments, name = match.groups()
        if converter == "any":
            options = [option.strip().strip("'\"") for option in arguments.split(",")]
            paths = [p + literal + option for p in paths for option in options]
        else:
            paths = [p + literal + "{" + name + "}" for p in paths]
        position = match.end()
    return [p + rule[position:] for p in paths]


def _routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/webhook/")):
            continue
        for path in _paths_of(rule.rule):
            routes.update((method, path) for method in rule.methods - SKIPPED_METHODS)
    return routes


def _documented(document: dict) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in methods}


def test_document_is_valid_openapi_and_public(document):
    validate(document)
    assert document["openapi"].startswith("3.1")
    schemes = document["components"]["securitySchemes"]
    assert schemes["IngestKeyHeader"]["name"] == "X-Api-Key"
    assert schemes["IngestKeyQuery"] == {**schemes["IngestKeyQuery"], "in": "query", "name": "key"}
    assert schemes["BearerToken"]["scheme"] == "bearer"


def test_every_route_is_documented_and_every_documented_route_exists(app, document):
    routes = _routes(app)
    documented = _documented(document)
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations that no route serves"


def test_the_route_check_sees_each_webhook_and_path_argument(app):
    routes = _routes(app)
    for source in ("laravel", "java", "frontend", "mobile", "generic"):
        assert ("POST", f"/webhook/{source}/") in routes
    assert ("PATCH", "/api/errors/{error_id}/") in routes
    assert ("POST", "/api/developers/{developer_id}/on-call/") in routes


def test_ingest_operations_document_every_error_answer(document):
    for path, item in document["paths"].items():
        ingest_path = path == "/api/errors/" or path.startswith("/webhook/")
        if ingest_path and "on-call" not in item["post"]["tags"]:  # Slack's and Twilio's answers are not ingest
            responses = item["post"]["responses"]
            assert set(responses) == {"201", "202", "400", "401", "413", "415", "429", "503"}, path
    for name in ("RateLimited", "Unavailable"):
        assert "Retry-After" in document["components"]["responses"][name]["headers"]


def test_the_sentry_routes_document_the_404_of_a_malformed_service_id(client, document):
    sentry_paths = [path for path in document["paths"] if path.startswith("/api/{service_id}/")]
    assert {"/api/{service_id}/store/", "/api/{service_id}/envelope/", "/api/{service_id}/security/"} <= set(
        sentry_paths)
    for path in sentry_paths:
        answer = client.post(path.replace("{service_id}", "abc") + "?sentry_key=0", data=b"{}")
        assert answer.status_code == 404 and answer.is_json, path
        assert "404" in document["paths"][path]["post"]["responses"], path


def test_examples_match_their_schemas_and_are_accepted(client, service, document):
    checked = 0
    for path, item in document["paths"].items():
        operation = item.get("post")
        created = (operation or {}).get("responses", {}).get("201", {})
        if created.get("content", {}).get("application/json", {}).get("schema") != INGEST_RESULT:
            continue
        media = operation["requestBody"]["content"]["application/json"]
        examples = [e["value"] for e in media["examples"].values()] if "examples" in media else [media["example"]]
        schema_name = media["schema"]["$ref"].rpartition("/")[2]
        for example in examples:
            assert_valid(document, schema_name, example)
            response = ingest(client, service, example, path=path)
            assert response.status_code == 201, (path, response.json)
            assert_valid(document, "IngestResult", response.json)
            checked += 1
    assert checked == 7  # the API, five webhooks, and the Java webhook's second shape


def test_error_list_filters_accept_every_documented_value(api, document):
    parameters = {p["name"]: p for p in document["paths"]["/api/errors/"]["get"]["parameters"] if "name" in p}
    for sort in parameters["sort"]["schema"]["enum"]:
        assert api.get(f"/api/errors/?sort={sort}").status_code == 200, sort
    assert api.get("/api/errors/?sort=loudest").status_code == 400
    severity = re.compile(parameters["severity"]["schema"]["pattern"])
    status = re.compile(parameters["status"]["schema"]["pattern"])
    for value in SEVERITIES:
        assert severity.match(value)
        assert api.get(f"/api/errors/?severity={value}").status_code == 200
    for value in ("new", "open", "in_progress,resolved"):
        assert status.match(value)
        assert api.get(f"/api/errors/?status={value}").status_code == 200
    assert not status.match("closed")
    assert api.get("/api/errors/?status=closed").status_code == 400
    for value in ("me", "none", "unassigned", "1"):
        assert api.get(f"/api/errors/?assigned_to={value}").status_code == 200


def test_real_answers_match_the_response_schemas(app, api, lead, document):
    load_demo(150)
    listing = api.get("/api/errors/?per_page=100")
    assert listing.status_code == 200
    assert_valid(document, "ErrorPage", listing.json)
    assert listing.json["total"] >= 40
    for item in listing.json["items"]:
        detail = api.get(f"/api/errors/{item['error_id']}/")
        assert_valid(document, "ErrorDetail", detail.json)
        assert detail.json["latest_occurrence"] is not None
        occurrences = api.get(f"/api/errors/{item['error_id']}/occurrences/?per_page=5")
        assert_valid(document, "OccurrencePage", occurrences.json)
        assert_valid(document, "ErrorChart", api.get(f"/api/errors/{item['error_id']}/chart/?period=24h").json)

    for url, name in [("/api/errors/stats/?hours=168", "Stats"), ("/api/errors/critical/", "ErrorList"),
                      ("/api/developers/", "DeveloperList"), ("/api/developers/workload/", "WorkloadList")]:
        response = api.get(url)
        assert response.status_code == 200, url
        assert_valid(document, name, response.json)
    assert api.get("/api/errors/critical/").json["total"] >= 1


def test_action_answers_match_the_response_schemas(app, api, lead, service, client, document):
    developer = make_developer("Dana Dev", services=[service], on_call=True)
    error_id = ingest(client, service, {"error_type": "ValueError", "message": "bad input"}).json["error_id"]

    patched = api.patch(f"/api/errors/{error_id}/", json={"severity": "critical", "status": "in_progress"})
    assert patched.status_code == 200
    assert_valid(document, "ErrorDetail", patched.json)
    assigned = api.post(f"/api/errors/{error_id}/assign/", json={"developer_id": developer.id})
    assert_valid(document, "ErrorDetail", assigned.json)
    escalated = api.post(f"/api/errors/{error_id}/escalate/", json={"reason": "customers are blocked"})
    assert escalated.status_code == 201
    assert_valid(document, "Escalation", escalated.json)
    resolved = api.post(f"/api/errors/{error_id}/resolve/", json={"note": "fixed in 1.2.4"})
    assert_valid(document, "ErrorDetail", resolved.json)
    on_call = api.post(f"/api/developers/{developer.id}/on-call/", json={"on_call": False})
    assert_valid(document, "Developer", on_call.json)

    # Patterns and deliveries are written by the workers; rows of both shapes stand in for them here.
    error = db.session.get(ErrorLog, error_id)
    db.session.add(ErrorPattern(signature="a" * 40, error_type="ValueError", normalised_message="bad input",
                                occurrence_count=3, error_count=1, affected_services=[service.slug],
                                common_endpoints=[], severity_distribution={"critical": 1}, trend="new",
                                first_occurrence=error.first_seen, last_occurrence=error.last_seen))
    db.session.add(ErrorNotification(error_id=error_id, recipient_id=developer.id, recipient=developer.email,
                                     channel="email", status="failed", subject="[critical] ValueError",
                                     body="bad input", last_error="connection refused",
                                     idempotency_key=f"{error_id}:test"))
    db.session.commit()
    patterns = api.get("/api/patterns/")
    assert patterns.json["total"] >= 1
    assert_valid(document, "PatternPage", patterns.json)
    notifications = api.get(f"/api/notifications/?error_id={error_id}")
    assert notifications.json["total"] >= 1
    assert_valid(document, "NotificationPage", notifications.json)


def test_request_body_schemas_say_what_the_api_accepts(api, service, client, document):
    error_id = ingest(client, service, {"error_type": "ValueError", "message": "bad input"}).json["error_id"]
    cases = [
        ({"severity": "high"}, True), ({"status": "in_progress", "note": None}, True), ({"assigned_to": None}, True),
        ({"severity": None}, False), ({"status": "done"}, False), ({"assigned_to": "7"}, False),
        ({"assigned_to": True}, False), ({"note": 5}, False), ({"title": "x"}, False),
    ]
    validator = schema_validator(document, "ErrorChange")
    for body, accepted in cases:
        assert validator.is_valid(body) is accepted, body
        response = api.patch(f"/api/errors/{error_id}/", json=body)
        assert response.status_code == (200 if accepted else 400), (body, response.json)
        if not accepted:
            assert response.json["error"]["field"] == next(iter(body)), body
            assert_valid(document, "Error", response.json)
    patch = document["paths"]["/api/errors/{error_id}/"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorChange"}


def test_error_answers_match_the_error_schema(app, api, client, service, document):
    cases = [
        (client.get("/api/errors/"), 401),
        (api.get("/api/errors/?severity=loud"), 400),
        (api.get("/api/errors/00000000-0000-0000-0000-000000000000/"), 404),
        (ingest(client, service, {"message": "no type"}), 400),
        (client.post("/api/errors/", json={"error_type": "E", "message": "m"}, headers={"X-Api-Key": "nope"}), 401),
        (client.post("/webhook/generic/", data="message=x", headers={"X-Api-Key": service.ingest_key},
                     content_type="application/x-www-form-urlencoded"), 415),
        (client.post("/webhook/generic/", data=b"{" + b" " * (1024 * 1024) + b"}",
                     headers={"X-Api-Key": service.ingest_key}, content_type="application/json"), 413),
        (client.post("/webhook/generic/", data=gzip.compress(b'{"message": "' + b"x" * (1024 * 1024) + b'"}'),
                     headers={"X-Api-Key": service.ingest_key, "Content-Encoding": "gzip"},
                     content_type="application/json"), 413),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.json)
        assert_valid(document, "Error", response.json)


def test_rate_limited_answer_carries_retry_after(app, client, service, document):
    app.config["RATE_LIMIT_PER_MINUTE"] = 1
    assert ingest(client, service, {"error_type": "E", "message": "first"}).status_code == 201
    response = ingest(client, service, {"error_type": "E", "message": "second"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert_valid(document, "Error", response.json)


def test_sentry_store_answer_matches_its_schema(app, client, service, document):
    if "sentry" not in app.blueprints:
        pytest.skip("the Sentry-compatible endpoints are not served")
    response = client.post(f"/api/{service.id}/store/", json={"message": "hello from an SDK", "level": "error"},
                           headers={"X-Sentry-Auth": f"Sentry sentry_key={service.ingest_key}, sentry_version=7"})
    assert response.status_code == 200
    assert_valid(document, "SentryAccepted", response.json)
    recorded = db.session.execute(select(ErrorLog).where(ErrorLog.message == "hello from an SDK")).scalar_one()
    assert recorded.service_id == service.id



DOC_EXAMPLE = re.compile(r'curl -sS "\$HEARTWATCH(?P<path>/[^"?]+)(?P<query>\?key=\$KEY)?"(?P<options>.*?)'
                         r"<<'JSON'\n(?P<body>.*?)\nJSON\n", re.S)


def test_curl_examples_of_the_ingest_guide_are_accepted(client, service, document):
    guide = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()
    examples = list(DOC_EXAMPLE.finditer(guide))
    assert {m["path"] for m in examples} == {"/api/errors/", "/webhook/laravel/", "/webhook/java/",
                                             "/webhook/frontend/", "/webhook/mobile/", "/webhook/generic/"}
    for match in examples:
        url = match["path"] + (f"?key={service.ingest_key}" if match["query"] else "")
        headers = {} if match["query"] else {"X-Api-Key": service.ingest_key}
        content_type = "text/plain" if "text/plain" in match["options"] else "application/json"
        response = client.post(url, data=match["body"], headers=headers, content_type=content_type)
        assert response.status_code == 201, (match["path"], response.json)
        assert_valid(document, "IngestResult", response.json)
        # Where the example carries a stack, its frames were parsed: the error knows where it was raised.
        if any(key in match["body"] for key in ('"stack', '"trace"', '"frames"')):
            culprit = db.session.execute(select(ErrorLog.culprit).where(ErrorLog.id == response.json["error_id"]))
            assert culprit.scalar_one(), match["path"]


def test_schedule_answers_validate_against_their_schemas(document, api, lead, service):
    plan = api.post("/api/schedules/", json={"name": "Docs", "service_ids": [service.id]}).json
    layer = api.post(f"/api/schedules/{plan['id']}/layers/", json={
        "name": "weekly", "starts_on": "2026-03-23", "timezone": "Europe/Berlin", "participants": [lead.id],
        "days": [0, 1, 2, 3, 4], "window_start": "09:00", "window_end": "17:00"}).json
    override = api.post(f"/api/schedules/{plan['id']}/overrides/", json={
        "developer_id": lead.id, "starts_at": "2026-03-24T20:00:00Z", "ends_at": "2026-03-24T22:00:00Z"}).json
    assert_valid(document, "Layer", layer)
    assert_valid(document, "Override", override)
    assert_valid(document, "Schedule", api.get(f"/api/schedules/{plan['id']}/").json)
    assert_valid(document, "ScheduleList", api.get("/api/schedules/").json)
    assert_valid(document, "OverrideList", api.get(f"/api/schedules/{plan['id']}/overrides/?since=2026-03-20T00:00:00Z").json)
    assert_valid(document, "OnCall", api.get(f"/api/services/{service.id}/on-call/?at=2026-03-24T21:00:00Z").json)
    assert_valid(document, "OnCall", api.get(f"/api/schedules/{plan['id']}/on-call/?at=2020-01-01T00:00:00Z").json)
    assert_valid(document, "FeedAddress", api.post(f"/api/schedules/{plan['id']}/feed/").json)
