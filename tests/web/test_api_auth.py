"""Personal API tokens: every JSON API endpoint but ingest wants one, and refuses a bad one."""
from __future__ import annotations

import hashlib

import pytest

from app.extensions import db
from app.models import ApiToken
from app.models.types import utcnow
from tests.factories import ApiClient, make_developer, make_error, make_token

READS = ["/api/errors/", "/api/errors/stats/", "/api/errors/critical/", "/api/errors/{id}/",
         "/api/errors/{id}/occurrences/", "/api/developers/", "/api/developers/workload/", "/api/patterns/",
         "/api/notifications/"]
WRITES = [("patch", "/api/errors/{id}/", {"status": "ignored"}), ("post", "/api/errors/{id}/resolve/", {}),
          ("post", "/api/errors/{id}/assign/", {"developer_id": 1}),
          ("post", "/api/errors/{id}/escalate/", {"reason": "x"}),
          ("post", "/api/developers/{dev}/on-call/", {"on_call": True})]


@pytest.fixture
def lead(app, service):
    # The conftest's lead, without a password: hashing one (scrypt) would dominate these tests' time.
    return make_developer("Lena Lead", role="lead", services=[service], on_call=True, password=None)


@pytest.fixture
def error(app, service):
    return make_error(service)


def urls(error, lead):
    return [url.format(id=error.id, dev=lead.id) for url in READS]


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer   "},
    {"Authorization": "Token hw_abc"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer hw_not-a-real-token"},
    {"Authorization": "Bearer " + "x" * 5000},
])
def test_missing_or_bad_token_is_401_everywhere(client, error, lead, headers):
    for url in urls(error, lead):
        response = client.get(url, headers=headers)
        assert response.status_code == 401, url
        assert response.json["error"]["field"] == "Authorization"
    for method, url, body in WRITES:
        response = getattr(client, method)(url.format(id=error.id, dev=lead.id), json=body, headers=headers)
        assert response.status_code == 401, url


def test_the_service_ingest_key_is_not_a_token(client, error, lead, service):
    response = client.get("/api/errors/", headers={"Authorization": f"Bearer {service.ingest_key}",
                                                   "X-Api-Key": service.ingest_key})
    assert response.status_code == 401


def test_a_valid_token_reads_everything(api, error, lead):
    for url in urls(error, lead):
        assert api.get(url).status_code == 200, url


def test_a_revoked_token_is_401(client, error, lead):
    token = make_token(lead)
    row = db.session.execute(db.select(ApiToken)).scalar_one()
    row.revoked_at = utcnow()
    db.session.commit()
    assert ApiClient(client, token).get("/api/errors/").status_code == 401


def test_a_deactivated_developers_token_is_401(client, error, lead):
    token = make_token(lead)
    lead.active = False
    db.session.commit()
    assert ApiClient(client, token).get("/api/errors/").status_code == 401


def test_tokens_are_stored_only_as_a_hash(app, lead):
    token = make_token(lead)
    row = db.session.execute(db.select(ApiToken)).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.prefix, row.name)
    assert token.startswith(row.prefix)


def test_unknown_api_urls_and_methods_answer_json(api):
    missing = api.get("/api/nothing-here/")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = api.client.delete("/api/errors/", headers={"Authorization": f"Bearer {api.token}"})
    assert wrong.status_code == 405 and wrong.is_json
