"""The security endpoint with the bodies chromium really posted, and what a security report is not:
routed, notified, escalated, swept up again, or listed among the errors."""
from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ErrorEventDispatch, ErrorLog, ErrorNotification, ErrorOccurrence
from app.notify.recovery import recover_lost_events
from app.reports.thresholds import measure
from app.triage import escalation
from app.triage.changes import TriageError
from tests.factories import ingest
from tests.sentry.stored import stored_errors, stored_occurrences

RECORDED = Path(__file__).resolve().parent / "recorded"


def recorded(name: str) -> list[dict]:
    return json.loads((RECORDED / name).read_text())["requests"]


def post_report(client, service, body, content_type="application/csp-report", query="", headers=None):
    data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
    return client.post(f"/api/{service.id}/security/?sentry_key={service.ingest_key}{query}", data=data,
                       headers={"Content-Type": content_type, **(headers or {})})


def post_recorded(client, service, name: str, query: str = "") -> list[str]:
    ids = []
    for request in recorded(name):
        response = post_report(client, service, request["body"], request["content_type"], query)
        assert response.status_code == 201, response.get_data(as_text=True)
        ids += response.json["ids"]
    return ids


def test_chromium_report_uri_posts_are_stored_as_security_reports(client, service):
    ids = post_recorded(client, service, "chromium-156-csp-report-uri.json",
                        "&sentry_environment=staging&sentry_release=shop%401.2")
    assert len(ids) == 6
    errors = {e.error_type: e for e in stored_errors(service.id)}
    assert sorted(errors) == ["Blocked 'image' from 'evil.example'", "Blocked 'script' from 'cdn.evil.example'",
                              "Blocked style attribute", "Blocked unsafe inline 'script'"]
    script = errors["Blocked 'script' from 'cdn.evil.example'"]
    # The enforced and the report-only violation are one group; the group is as grave as its gravest.
    assert (script.kind, script.occurrence_count, script.severity) == ("security", 2, "low")
    assert (script.environment, script.release, script.platform) == ("staging", "shop@1.2", "javascript")
    occurrence = next(o for o in stored_occurrences(service.id) if o.error_id == script.id)
    assert occurrence.source == "security"
    assert occurrence.extra["security"]["original-policy"].startswith("default-src 'self'") or \
        occurrence.extra["security"]["original-policy"].startswith("script-src 'self'")
    assert json.loads(occurrence.raw_payload)["csp-report"]["blocked-uri"] == "https://cdn.evil.example/tracker.js"


def test_chromium_reporting_api_batches_join_the_same_groups(client, service):
    post_recorded(client, service, "chromium-156-csp-report-uri.json")
    post_recorded(client, service, "chromium-156-csp-reports-json.json")
    counts = {e.error_type: e.occurrence_count for e in stored_errors(service.id)}
    assert counts == {"Blocked 'image' from 'evil.example'": 2, "Blocked 'script' from 'cdn.evil.example'": 3,
                      "Blocked style attribute": 2, "Blocked unsafe inline 'script'": 3}


def test_a_security_report_is_never_routed_notified_escalated_or_swept(client, service, lead):
    post_recorded(client, service, "chromium-156-csp-report-uri.json")
    ingest(client, service, {"error_type": "ValueError", "message": "bad cart"})  # an error, for contrast
    lead_id = lead.id
    db.session.remove()
    lead = db.session.get(type(lead), lead_id)
    error = db.session.execute(select(ErrorLog).where(ErrorLog.kind == "error")).scalar_one()
    assert error.assigned_to_id == lead.id  # the on-call lead took the error ...
    reports = list(db.session.execute(select(ErrorLog).where(ErrorLog.kind == "security")).scalars())
    assert len(reports) == 4 and all(r.assigned_to_id is None for r in reports)  # ... and none of the reports
    report_ids = [r.id for r in reports]
    assert db.session.execute(select(func.count()).select_from(ErrorEventDispatch)
                              .where(ErrorEventDispatch.error_id.in_(report_ids))).scalar_one() == 0
    assert db.session.execute(select(func.count()).select_from(ErrorNotification)
                              .where(ErrorNotification.error_id.in_(report_ids))).scalar_one() == 0
    assert recover_lost_events() == 0  # the sweep does not take them for lost hand-offs

    report = reports[0]
    report.severity, report.severity_level = "critical", 5
    report.first_seen = report.first_seen - dt.timedelta(days=2)
    db.session.commit()
    assert escalation.escalate_unresolved() == []
    with pytest.raises(TriageError) as refused:
        escalation.escalate_error(report, lead, "look at this")
    assert refused.value.status == 409
    # The threshold alerts count errors, not browsers' reports.
    assert measure(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)).errors_last_hour == 1


def test_the_error_list_leaves_security_reports_out_unless_asked(client, service, api):
    post_recorded(client, service, "chromium-156-csp-report-uri.json")
    ingest(client, service, {"error_type": "ValueError", "message": "bad cart"})
    listed = api.get("/api/errors/").json
    assert [i["kind"] for i in listed["items"]] == ["error"]
    security = api.get("/api/errors/?kind=security").json
    assert security["total"] == 4 and {i["kind"] for i in security["items"]} == {"security"}
    assert api.get("/api/errors/?kind=all").json["total"] == 5
    bad = api.get("/api/errors/?kind=csp")
    assert bad.status_code == 400 and bad.json["error"]["field"] == "kind"
    detail = api.get(f"/api/errors/{security['items'][0]['error_id']}/").json
    assert detail["latest_occurrence"]["extra"]["security"]["type"] == "csp"
    assert detail["latest_occurrence"]["source"] == "security"


def test_bad_requests_get_clear_answers(client, service, app):
    good = recorded("chromium-156-csp-report-uri.json")[0]["body"]
    missing = client.post(f"/api/{service.id}/security/", data=good, headers={"Content-Type": "application/csp-report"})
    assert missing.status_code == 403 and missing.json["error"]["field"] == "sentry_key"
    wrong = client.post(f"/api/{service.id + 1}/security/?sentry_key={service.ingest_key}", data=good,
                        headers={"Content-Type": "application/csp-report"})
    assert wrong.status_code == 403
    assert post_report(client, service, good, "text/html").status_code == 415
    for body, field in ((b"{not json", None), (b"", None), (b"42", None), ({"hello": "world"}, "body"),
                        ({"csp-report": {"blocked-uri": "x"}}, "effective-directive")):
        answer = post_report(client, service, body)
        assert answer.status_code == 400, body
        assert "X-Sentry-Error" in answer.headers
        if field:
            assert answer.json["error"]["field"] == field
    deep = {"csp-report": {"effective-directive": "img-src", "x": json.loads("[" * 80 + "]" * 80)}}
    assert post_report(client, service, deep).status_code == 400
    huge = {"csp-report": {"effective-directive": "img-src", "original-policy": "x" * (1024 * 1024)}}
    assert post_report(client, service, huge).status_code == 413
    bomb = gzip.compress(json.dumps(huge).encode())
    assert post_report(client, service, bomb, headers={"Content-Encoding": "gzip"}).status_code == 413
    assert db.session.execute(select(func.count()).select_from(ErrorOccurrence)).scalar_one() == 0
    zipped = post_report(client, service, gzip.compress(good.encode()), headers={"Content-Encoding": "gzip"})
    assert zipped.status_code == 201


def test_the_service_rate_limit_applies(client, service):
    service.rate_limit_per_minute = 1
    db.session.commit()
    body = recorded("chromium-156-csp-report-uri.json")[0]["body"]
    answers = [post_report(client, service, body).status_code for _ in range(4)]
    assert 429 in answers and answers[0] == 201


def test_the_browser_may_post_cross_origin(client, service):
    preflight = client.options(f"/api/{service.id}/security/?sentry_key={service.ingest_key}",
                               headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"]


def test_the_real_sentry_sdk_sends_an_event_with_a_csp_interface(sentry_init, service):
    import sentry_sdk

    client = sentry_init()
    event_id = sentry_sdk.capture_event({
        "message": "csp", "level": "error",
        "csp": {"effective_directive": "script-src-elem", "blocked_uri": "https://cdn.evil.example/tracker.js",
                "document_uri": "https://shop.example/cart", "violated_directive": "script-src-elem",
                "disposition": "enforce"}})
    client.flush(timeout=10)
    [error] = stored_errors(service.id)
    assert (error.kind, error.error_type, error.severity) == ("security", "Blocked 'script' from 'cdn.evil.example'",
                                                              "low")
    [occurrence] = stored_occurrences(service.id)
    assert occurrence.id.replace("-", "") == event_id
    assert occurrence.extra["security"]["document-uri"] == "https://shop.example/cart"
    assert error.assigned_to_id is None


def test_the_answers_match_the_openapi_document(client, service, api):
    from jsonschema import Draft202012Validator

    from tests.web.test_openapi import assert_valid

    document = client.get("/api/openapi.json").json
    operation = document["paths"]["/api/{service_id}/security/"]["post"]
    assert set(operation["requestBody"]["content"]) >= {"application/csp-report", "application/reports+json"}
    answer = post_report(client, service, recorded("chromium-156-csp-report-uri.json")[0]["body"])
    Draft202012Validator(operation["responses"]["201"]["content"]["application/json"]["schema"]).validate(answer.json)
    refused = post_report(client, service, {"hello": "world"})
    assert_valid(document, "Error", refused.json)
    kinds = next(p for p in document["paths"]["/api/errors/"]["get"]["parameters"] if p.get("name") == "kind")
    for kind in kinds["schema"]["enum"]:
        assert api.get(f"/api/errors/?kind={kind}").status_code == 200
    assert_valid(document, "ErrorPage", api.get("/api/errors/?kind=security").json)
