"""The per-service rate limit on every way in: 429 with Retry-After, drops counted, and the Sentry
endpoints also tell the SDK (X-Sentry-Rate-Limits) which categories to hold back and for how long."""
from __future__ import annotations

import json
import uuid

import pytest

from app.extensions import db
from tests.factories import ingest
from tests.sentry.stored import dropped_events, stored_occurrences

LIMIT = 2


def _limit(service):
    service.rate_limit_per_minute = LIMIT
    db.session.commit()


def _first_refusal(send):
    """Send until the limit answers 429 (a minute boundary may reopen the window once)."""
    answers = []
    for _ in range(2 * LIMIT + 2):
        response = send()
        answers.append(response.status_code)
        if response.status_code == 429:
            return response, answers
    pytest.fail(f"never rate limited: {answers}")


def _sentry_envelope(service):
    event = {"event_id": uuid.uuid4().hex, "message": "queue backed up", "level": "warning"}
    return (json.dumps({"event_id": event["event_id"]}) + "\n" + json.dumps({"type": "event"}) + "\n"
            + json.dumps(event) + "\n").encode()


def test_sentry_endpoint_answers_429_with_sentry_rate_limit_headers(client, service):
    _limit(service)
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={service.ingest_key}, sentry_version=7"}
    refused, answers = _first_refusal(
        lambda: client.post(f"/api/{service.id}/envelope/", data=_sentry_envelope(service), headers=auth))
    assert set(answers[:-1]) == {200}
    seconds = refused.headers["Retry-After"]
    assert 1 <= int(seconds) <= 60
    assert refused.headers["X-Sentry-Rate-Limits"] == f"{seconds}:error;default:project"
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.json["error"]["code"] == "rate_limited"
    assert dropped_events(service.id) >= 1
    assert len(stored_occurrences(service.id)) == len(answers) - 1


def test_sentry_envelopes_without_events_do_not_use_up_the_limit(client, service):
    _limit(service)
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={service.ingest_key}, sentry_version=7"}
    session = b'{}\n{"type":"session"}\n{"sid":"s","status":"ok"}\n'
    for _ in range(LIMIT * 3):
        response = client.post(f"/api/{service.id}/envelope/", data=session, headers=auth)
        assert response.status_code == 200
    assert dropped_events(service.id) == 0


@pytest.mark.parametrize("path, payload", [
    ("/api/errors/", {"error_type": "TimeoutError", "message": "upstream slow"}),
    ("/webhook/generic/", {"message": "upstream slow"}),
    ("/webhook/laravel/", {"exception": {"class": "RuntimeException", "message": "upstream slow"}}),
])
def test_json_api_and_webhooks_answer_429_with_retry_after(client, service, path, payload):
    _limit(service)
    refused, answers = _first_refusal(lambda: ingest(client, service, payload, path=path))
    assert set(answers[:-1]) == {201}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json["error"]["code"] == "rate_limited"
    assert dropped_events(service.id) >= 1
