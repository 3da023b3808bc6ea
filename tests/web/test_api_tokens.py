"""Personal tokens through the JSON API: GET /api/tokens/ and DELETE /api/tokens/{id}."""
from __future__ import annotations

import pytest

from app.accounts import tokens
from app.extensions import db
from app.models import ApiToken
from tests.factories import ApiClient, make_developer, make_token
from tests.web.test_openapi import assert_valid


@pytest.fixture
def dev(app):
    return make_developer("Dora Dev", password=None)


def token_id(secret: str) -> int:
    return db.session.execute(db.select(ApiToken.id).where(ApiToken.token_hash == tokens._token_hash(secret))
                              ).scalar_one()


def test_the_list_shows_the_callers_tokens_and_never_a_secret(client, dev):
    laptop = tokens.create_api_token(dev, "laptop")
    ci = tokens.create_api_token(dev, "ci")
    make_token(make_developer("Omar Other", password=None))
    response = ApiClient(client, laptop).get("/api/tokens/")
    assert response.status_code == 200
    body = response.json
    assert body["total"] == 2 and [t["name"] for t in body["items"]] == ["ci", "laptop"]
    assert set(body["items"][0]) == {"id", "name", "created_at", "last_used_at", "revoked_at"}
    text = response.get_data(as_text=True)
    assert laptop not in text and ci not in text and tokens._token_hash(ci) not in text
    used = next(t for t in body["items"] if t["name"] == "laptop")
    assert used["last_used_at"] is not None and used["revoked_at"] is None


def test_the_answers_match_the_documented_schemas(client, dev):
    secret = make_token(dev)
    api = ApiClient(client, secret)
    document = client.get("/api/openapi.json").json
    assert_valid(document, "TokenList", api.get("/api/tokens/").json)
    assert api.delete(f"/api/tokens/{token_id(make_token(dev))}").status_code == 204
    assert_valid(document, "TokenList", api.get("/api/tokens/").json)


def test_a_revoked_token_is_refused_at_once(client, dev):
    secret = make_token(dev)
    api = ApiClient(client, secret)
    assert api.get("/api/errors/").status_code == 200
    response = api.delete(f"/api/tokens/{token_id(secret)}")
    assert response.status_code == 204 and response.get_data() == b""
    refused = api.get("/api/errors/")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"


def test_revoking_another_token_leaves_the_callers_working(client, dev):
    secret, other = make_token(dev), make_token(dev)
    api = ApiClient(client, secret)
    assert api.delete(f"/api/tokens/{token_id(other)}").status_code == 204
    assert ApiClient(client, other).get("/api/tokens/").status_code == 401
    items = api.get("/api/tokens/").json["items"]
    assert [t["revoked_at"] is not None for t in items] == [True, False]


@pytest.mark.parametrize("role", ["developer", "lead", "manager"])
def test_someone_elses_token_is_a_404_and_stays_valid(client, dev, role):
    other_secret = make_token(dev)
    caller = make_developer(f"Caller {role}", role=role, password=None)
    response = ApiClient(client, make_token(caller)).delete(f"/api/tokens/{token_id(other_secret)}")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert ApiClient(client, other_secret).get("/api/tokens/").status_code == 200


def test_an_admin_revokes_anyones_token(client, dev):
    other_secret = make_token(dev)
    admin = make_developer("Ada Admin", role="admin", password=None)
    assert ApiClient(client, make_token(admin)).delete(f"/api/tokens/{token_id(other_secret)}").status_code == 204
    assert ApiClient(client, other_secret).get("/api/tokens/").status_code == 401


@pytest.mark.parametrize("path", ["/api/tokens/999999", "/api/tokens/0", "/api/tokens/abc"])
def test_unknown_tokens_are_a_json_404(client, dev, path):
    response = ApiClient(client, make_token(dev)).delete(path)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_the_token_endpoints_need_a_token(client):
    assert client.get("/api/tokens/").status_code == 401
    assert client.delete("/api/tokens/1").status_code == 401
