"""Sessions the server can end: a copied session or remember-me cookie stops working when its
session is signed out, the account disabled or the password changed; sign-in starts a new session
with a new CSRF token."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.accounts import sign_in, team
from tests.factories import make_developer

@pytest.fixture(autouse=True)
def fresh_limits(app):
    sign_in.reset_local_state()


def test_a_copied_session_cookie_stops_working_after_sign_out(visitor, lead):
    visitor.login(lead.email)
    copy = visitor.cookies()
    assert list(copy) == ["session"]
    assert visitor.new(copy).signed_in()
    assert visitor.post("/logout").status_code == 303
    assert not visitor.signed_in()
    assert not visitor.new(copy).signed_in()


def test_a_copied_remember_me_cookie_stops_working_after_sign_out(visitor, lead):
    visitor.login(lead.email, remember="1")
    remember = {"remember_token": visitor.cookies()["remember_token"]}
    assert visitor.new(remember).signed_in()
    visitor.post("/logout")
    assert not visitor.new(remember).signed_in()
    assert not visitor.new(visitor.cookies() | remember).signed_in()


def test_sign_out_ends_the_session_in_every_browser(visitor, lead):
    visitor.login(lead.email)
    laptop = visitor.new()
    laptop.login(lead.email, remember="1")
    visitor.post("/logout")
    assert not laptop.signed_in()


def test_sign_out_everywhere_ends_every_session_and_is_audited(visitor, lead):
    visitor.login(lead.email)
    phone = visitor.new()
    phone.login(lead.email, remember="1")
    phone_copy = phone.cookies()
    response = visitor.post("/account/sign-out-everywhere")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert not visitor.signed_in()
    assert not phone.signed_in()
    assert not visitor.new(phone_copy).signed_in()
    assert not visitor.new({"remember_token": phone_copy["remember_token"]}).signed_in()
    actions = [e.action for e in db.session.execute(db.select(AuditEvent)).scalars()]
    assert "developer.sessions_ended" in actions


def test_signing_in_again_after_sign_out_works(visitor, lead):
    visitor.login(lead.email)
    visitor.post("/logout")
    visitor.login(lead.email)
    assert visitor.signed_in()


def test_disabling_a_user_ends_their_sessions_for_good(visitor, lead):
    admin = make_developer("Ada Admin", role="admin")
    visitor.login(lead.email, remember="1")
    copy = visitor.cookies()
    team.set_active(lead, False, admin)
    assert not visitor.signed_in()
    team.set_active(lead, True, admin)
    # Enabled again, the account signs in afresh: the cookies from before stay dead.
    assert not visitor.new(copy).signed_in()
    assert not visitor.new({"remember_token": copy["remember_token"]}).signed_in()
    visitor.new().login(lead.email)


def test_disabling_from_the_users_page_ends_the_session(visitor, lead):
    admin = make_developer("Ada Admin", role="admin")
    visitor.login(lead.email)
    copy = visitor.cookies()
    admin_browser = visitor.new()
    admin_browser.login(admin.email)
    assert admin_browser.post(f"/settings/users/{lead.id}", {"active": "0"}).status_code == 303
    assert admin_browser.post(f"/settings/users/{lead.id}", {"active": "1"}).status_code == 303
    db.session.expire_all()
    assert lead.active
    assert not visitor.new(copy).signed_in()


def test_an_admin_signs_a_user_out_everywhere_and_the_account_stays(visitor, lead):
    admin = make_developer("Ada Admin", role="admin")
    visitor.login(lead.email, remember="1")
    copy = visitor.cookies()
    admin_browser = visitor.new()
    admin_browser.login(admin.email)
    assert "Sign out everywhere" in admin_browser.get("/settings/users").text
    assert admin_browser.post(f"/settings/users/{lead.id}", {"end_sessions": "1"}).status_code == 303
    assert not visitor.new(copy).signed_in() and not visitor.new({"remember_token": copy["remember_token"]}).signed_in()
    db.session.expire_all()
    assert lead.active and admin_browser.signed_in()
    assert visitor.new().login(lead.email) is not None  # the account signs in again
    audit = db.session.query(AuditEvent).filter_by(action="developer.sessions_ended", object_id=str(lead.id)).one()
    assert audit.details == {"reason": "ended by an admin"}


def test_only_admins_sign_others_out(lead):
    other = make_developer("Other")
    with pytest.raises(team.TeamError) as refused:
        team.end_sessions_of(other, lead)
    assert refused.value.status == 403


def _session_cookie(app, data: dict) -> str:
    """A session cookie signed with the app's key, as Flask makes them."""
    return app.session_interface.get_signing_serializer(app).dumps(data)


def _session_of(app, cookie: str) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(cookie)


def test_a_session_without_a_session_version_signs_no_one_in(app, visitor, lead):
    # The form sessions had before they carried a version: the id alone.
    forged = _session_cookie(app, {"_user_id": str(lead.id), "_fresh": True})
    assert not visitor.new({"session": forged}).signed_in()
    current = _session_cookie(app, {"_user_id": lead.get_id(), "_fresh": True})
    assert visitor.new({"session": current}).signed_in()


# --- a new session at sign-in ----------------------------------------------------------------------

def _token(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def test_the_csrf_token_from_before_sign_in_is_refused_after_it(app, visitor, lead):
    app.config["WTF_CSRF_ENABLED"] = True
    before = _token(visitor.get("/login").text)
    visitor.login(lead.email, csrf_token=before)
    refused = visitor.post("/account/sign-out-everywhere", {"csrf_token": before})
    assert refused.status_code == 400
    assert visitor.signed_in()
    after = _token(visitor.get("/").text)
    assert after != before
    assert visitor.post("/account/sign-out-everywhere", {"csrf_token": after}).status_code == 303
    assert not visitor.signed_in()


def test_sign_in_issues_a_new_session(app, visitor, lead):
    planted = _session_cookie(app, {"planted": "by someone else", "csrf_token": "0" * 40})
    visitor.http.cookies.set("session", planted, domain="127.0.0.1", path="/")
    visitor.login(lead.email)
    session = _session_of(app, visitor.cookies()["session"])
    assert "planted" not in session
    assert session.get("csrf_token") != "0" * 40
