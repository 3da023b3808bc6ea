"""Changing a password: the dashboard page and the set-password command apply the same rules and
both end every session; a generated first admin password is changed at the first sign-in."""
from __future__ import annotations

import re

import pytest
import requests

from app.extensions import db
from app.models import AuditEvent, Developer
from app.accounts import developers as accounts
from app.accounts import passwords, sign_in
from tests.factories import make_token

NEW = "a new and longer passphrase"
OLD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_limits(app):
    sign_in.reset_local_state()


def change(visitor, current=OLD, new=NEW, confirm=None):
    return visitor.post("/account/password", {"current_password": current, "password": new,
                                              "confirm": new if confirm is None else confirm})


def signs_in(visitor, email, password) -> bool:
    return visitor.new().post("/login", {"email": email, "password": password}).status_code == 303


@pytest.mark.parametrize(("current", "new", "confirm", "message"), [
    ("not the password", NEW, NEW, "The current password is wrong."),
    (OLD, NEW, NEW + "!", "The new password and its repetition differ."),
    (OLD, "short", "short", "A password of at least 10 characters."),
    (OLD, " " * 12, " " * 12, "A password cannot be only spaces."),
    (OLD, OLD, OLD, "Choose a password other than the current one."),
])
def test_a_refused_change_says_why_and_changes_nothing(visitor, lead, current, new, confirm, message):
    visitor.login(lead.email)
    response = change(visitor, current, new, confirm)
    assert response.status_code == 400
    assert message in response.text
    assert signs_in(visitor, lead.email, OLD)
    assert visitor.signed_in()


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(visitor, lead):
    visitor.login(lead.email)
    laptop = visitor.new()
    laptop.login(lead.email, remember="1")
    laptop_copy = laptop.cookies()
    assert visitor.get("/account/password").status_code == 200
    response = change(visitor)
    assert response.status_code == 303
    assert visitor.signed_in()
    assert not laptop.signed_in()
    assert not visitor.new(laptop_copy).signed_in()
    assert not signs_in(visitor, lead.email, OLD)
    assert signs_in(visitor, lead.email, NEW)
    actions = [e.action for e in db.session.execute(db.select(AuditEvent)).scalars()]
    assert "developer.password_changed" in actions


def test_a_remembered_browser_stays_remembered_after_its_own_change(visitor, lead):
    visitor.login(lead.email, remember="1")
    change(visitor)
    remember = {"remember_token": visitor.cookies()["remember_token"]}
    assert visitor.new(remember).signed_in()


# --- the set-password command ----------------------------------------------------------------------

def test_set_password_refuses_what_the_page_refuses_with_the_same_words(runner, visitor, lead):
    visitor.login(lead.email)
    page = change(visitor, new="short", confirm="short").text
    result = runner.invoke(args=["set-password", "--email", lead.email, "--password", "short"])
    assert result.exit_code != 0
    with pytest.raises(accounts.AccountError) as refusal:
        passwords.check_new_password("short")
    assert refusal.value.message in result.output
    assert refusal.value.message[:1].upper() + refusal.value.message[1:] in page
    assert signs_in(visitor, lead.email, OLD)


def test_set_password_sets_it_and_ends_every_session(runner, visitor, lead):
    visitor.login(lead.email, remember="1")
    copy = visitor.cookies()
    result = runner.invoke(args=["set-password", "--email", lead.email, "--password", NEW])
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    assert not visitor.signed_in()
    assert not visitor.new(copy).signed_in()
    assert not signs_in(visitor, lead.email, OLD)
    assert signs_in(visitor, lead.email, NEW)


def test_set_password_asks_twice_when_no_password_is_given(runner, visitor, lead):
    result = runner.invoke(args=["set-password", "--email", lead.email], input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert NEW not in result.output
    assert signs_in(visitor, lead.email, NEW)


def test_set_password_json_and_an_unknown_address(runner, lead):
    ok = runner.invoke(args=["set-password", "--email", lead.email, "--password", NEW, "--json"])
    assert ok.stdout.strip() == f'{{"id": {lead.id}, "email": "{lead.email}"}}'
    unknown = runner.invoke(args=["set-password", "--email", "nobody@example.test", "--password", NEW, "--json"])
    assert unknown.exit_code == 1
    assert '"field": "email"' in unknown.stdout


def test_a_new_user_gets_the_same_password_rules(visitor, lead):
    from tests.factories import make_developer

    admin = make_developer("Ada Admin", role="admin")
    visitor.login(admin.email)
    response = visitor.post("/settings/users", {"name": "Short", "email": "short@example.test",
                                                "role": "developer", "password": " " * 12})
    assert response.status_code == 400
    assert "cannot be only spaces" in response.text


# --- the generated first password --------------------------------------------------------------------

def bootstrap(runner) -> tuple[Developer, str]:
    result = runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    password = re.search(r"one-time password: (\S+)", result.output).group(1)
    return accounts.developer_by_email("admin@localhost"), password


def test_a_generated_admin_password_must_be_changed_before_anything_else(runner, visitor, live_server):
    admin, generated = bootstrap(runner)
    assert admin.must_change_password
    visitor.login(admin.email, generated)
    for path in ("/", "/errors", "/settings/users", "/tokens"):
        response = visitor.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/password"
    htmx = visitor.get("/errors", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers["HX-Redirect"]) == (403, "/account/password")
    assert visitor.get("/account/password").status_code == 200
    # The API with a token is not held up.
    token = make_token(admin)
    api = requests.get(f"{live_server}/api/errors/", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert api.status_code == 200
    assert change(visitor, generated, generated, generated).status_code == 400
    assert change(visitor, generated).status_code == 303
    assert visitor.get("/").status_code == 200
    db.session.expire_all()
    assert not db.session.get(Developer, admin.id).must_change_password


def test_an_admin_password_from_the_settings_need_not_be_changed(app, runner, visitor):
    app.config.update(ADMIN_EMAIL="root@example.test", ADMIN_PASSWORD="chosen by the operator")
    runner.invoke(args=["bootstrap"])
    visitor.login("root@example.test", "chosen by the operator")
    assert visitor.get("/").status_code == 200
