"""The "My tokens" page: the signed-in developer's tokens, created once-shown, revoked with CSRF."""
from __future__ import annotations

import re

import pytest

from app.accounts import tokens
from app.extensions import db
from app.models import ApiToken
from tests.factories import ApiClient, make_developer, make_token

PASSWORD = "correct horse battery"


@pytest.fixture
def dev(app):
    return make_developer("Dora Dev")


def login(client, developer):
    response = client.post("/login", data={"email": developer.email, "password": PASSWORD})
    assert response.status_code == 303


def row_of(secret: str) -> ApiToken:
    db.session.expire_all()
    return db.session.execute(db.select(ApiToken).where(ApiToken.token_hash == tokens._token_hash(secret))
                              ).scalar_one()


def test_the_user_menu_links_to_my_tokens(client, dev):
    login(client, dev)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/tokens"' in page and "My tokens" in page


def test_the_page_lists_only_my_tokens_with_created_and_last_used(client, dev):
    mine = tokens.create_api_token(dev, "laptop")
    tokens.create_api_token(make_developer("Omar Other"), "someone-elses")
    ApiClient(client, mine).get("/api/tokens/")
    tokens.create_api_token(dev, "unused-ci")
    login(client, dev)
    page = client.get("/tokens").get_data(as_text=True)
    assert "laptop" in page and "unused-ci" in page and "someone-elses" not in page
    assert mine not in page
    laptop_row = re.search(r'<tr id="token-\d+"[^>]*>\s*<td><strong>laptop</strong>.*?</tr>', page, re.S).group(0)
    assert "just now" in laptop_row and "never" not in laptop_row
    unused_row = re.search(r'<tr id="token-\d+"[^>]*>\s*<td><strong>unused-ci</strong>.*?</tr>', page, re.S).group(0)
    assert "never" in unused_row and "Revoke" in unused_row


def test_creating_a_token_shows_it_once_and_it_opens_the_api(client, dev):
    login(client, dev)
    response = client.post("/tokens", data={"name": "script"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'<code id="new-token">(hw_[^<]+)</code>', response.get_data(as_text=True)).group(1)
    assert ApiClient(client, secret).get("/api/tokens/").json["items"][0]["name"] == "script"
    assert secret not in client.get("/tokens").get_data(as_text=True)


def test_revoking_from_the_page_refuses_the_token_at_once(client, dev):
    secret = make_token(dev)
    login(client, dev)
    response = client.post(f"/tokens/{row_of(secret).id}/revoke")
    assert response.status_code == 303 and response.headers["Location"].endswith("/tokens")
    assert row_of(secret).revoked_at is not None
    assert ApiClient(client, secret).get("/api/tokens/").status_code == 401
    page = client.get("/tokens").get_data(as_text=True)
    assert "revoked" in page and "Revoke</button>" not in page


def test_someone_elses_token_is_a_404_and_stays_valid(client, dev):
    other_secret = make_token(make_developer("Omar Other"))
    login(client, dev)
    assert client.post(f"/tokens/{row_of(other_secret).id}/revoke").status_code == 404
    assert row_of(other_secret).revoked_at is None


def test_the_revoke_button_needs_its_csrf_token(app, client, dev):
    app.config["WTF_CSRF_ENABLED"] = True
    secret = make_token(dev)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": dev.email, "password": PASSWORD, "csrf_token": csrf})
    assert client.post(f"/tokens/{row_of(secret).id}/revoke").status_code == 400
    assert row_of(secret).revoked_at is None
    page = client.get("/tokens").get_data(as_text=True)
    form = re.search(r'action="/tokens/\d+/revoke".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    assert client.post(f"/tokens/{row_of(secret).id}/revoke", data={"csrf_token": form}).status_code == 303
    assert row_of(secret).revoked_at is not None


def test_the_page_needs_sign_in(client):
    assert client.get("/tokens").status_code == 302
