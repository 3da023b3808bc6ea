"""Resetting a forgotten password by a link mailed through the e-mail channel, received by a real
SMTP server on loopback: the same answer for any address, a link that expires and works once."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from app.accounts import password_reset, sign_in
from tests.factories import make_developer

NEW = "a new and longer passphrase"
OLD = "correct horse battery"


@pytest.fixture(autouse=True)
def mail(app, smtp_server):
    sign_in.reset_local_state()
    password_reset.forget_requests()
    smtp_server.configure(app.config)
    return smtp_server


def ask(visitor, email):
    return visitor.post("/password-reset", {"email": email})


def link_in(message) -> str:
    return re.search(r"http://\S+/password-reset/\S+", message.get_content()).group(0)


def path_of(link: str) -> str:
    return "/password-reset/" + link.rsplit("/password-reset/", 1)[1]


def signs_in(visitor, email, password) -> bool:
    return visitor.new().post("/login", {"email": email, "password": password}).status_code == 303


def test_the_sign_in_page_offers_a_reset_only_with_e_mail_configured(app, visitor):
    assert "Forgot your password?" in visitor.get("/login").text
    app.config["SMTP_HOST"] = None
    assert "Forgot your password?" not in visitor.get("/login").text
    assert visitor.get("/password-reset").status_code == 404
    assert visitor.post("/password-reset", {"email": "x@example.test"}).status_code == 404


def test_the_answer_is_the_same_whether_or_not_the_address_exists(visitor, lead, mail):
    known, unknown = ask(visitor, lead.email), ask(visitor.new(), "nobody@example.test")
    assert (known.status_code, known.headers["Location"]) == (unknown.status_code, unknown.headers["Location"])
    assert visitor.get("/login").text.count("a link to reset its password is on its way") == 1
    messages = mail.wait_for(1)
    assert [m["To"] for m in messages] == [lead.email]
    assert messages[0]["Subject"] == "Reset your Heartwatch password"
    assert mail.to("nobody@example.test") == []


def test_the_link_sets_a_new_password_once_and_ends_every_session(visitor, lead, mail):
    visitor.login(lead.email, remember="1")
    copy = visitor.cookies()
    ask(visitor.new(), lead.email)
    link = link_in(mail.wait_for(1)[0])
    page = visitor.new()
    assert page.get(path_of(link)).status_code == 200
    mismatch = page.post(path_of(link), {"password": NEW, "confirm": NEW + "?"})
    assert mismatch.status_code == 400
    short = page.post(path_of(link), {"password": "short", "confirm": "short"})
    assert (short.status_code, "A password of at least 10 characters." in short.text) == (400, True)
    done = page.post(path_of(link), {"password": NEW, "confirm": NEW})
    assert (done.status_code, done.headers["Location"]) == (303, "/login")
    assert signs_in(visitor, lead.email, NEW)
    assert not signs_in(visitor, lead.email, OLD)
    assert not visitor.signed_in()
    assert not visitor.new(copy).signed_in()
    # Used once, the link is dead.
    assert page.get(path_of(link)).status_code == 410
    again = page.post(path_of(link), {"password": "yet another passphrase", "confirm": "yet another passphrase"})
    assert again.status_code == 410
    assert signs_in(visitor, lead.email, NEW)


def test_the_link_expires_after_an_hour(visitor, lead, mail):
    ask(visitor, lead.email)
    path = path_of(link_in(mail.wait_for(1)[0]))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=password_reset.MAX_AGE_SECONDS + 5)
    with time_machine.travel(later, tick=False):
        assert visitor.get(path).status_code == 410
        assert visitor.post(path, {"password": NEW, "confirm": NEW}).status_code == 410
    assert signs_in(visitor, lead.email, OLD)


def test_a_link_dies_when_the_password_changes_another_way(runner, visitor, lead, mail):
    ask(visitor, lead.email)
    path = path_of(link_in(mail.wait_for(1)[0]))
    runner.invoke(args=["set-password", "--email", lead.email, "--password", NEW])
    assert visitor.post(path, {"password": "yet another passphrase",
                               "confirm": "yet another passphrase"}).status_code == 410
    assert signs_in(visitor, lead.email, NEW)


def test_a_tampered_or_foreign_link_is_refused(visitor, lead, mail):
    other = make_developer("Other One")
    ask(visitor, lead.email)
    path = path_of(link_in(mail.wait_for(1)[0]))
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert visitor.get(tampered).status_code == 410
    assert visitor.get("/password-reset/" + "x" * 5000).status_code == 410
    assert signs_in(visitor, other.email, OLD)


def test_disabled_accounts_get_no_mail(visitor, lead, mail):
    lead.active = False
    from app.extensions import db

    db.session.commit()
    ask(visitor, lead.email)
    ask(visitor, "\x00@example.test")
    assert mail.wait_for(1, timeout=1.5) == []


def test_one_account_gets_at_most_three_links_an_hour(visitor, lead, mail):
    for _ in range(6):
        assert ask(visitor.new(), lead.email).status_code == 303  # the same answer every time
    assert len(mail.wait_for(password_reset.MAILS_PER_HOUR)) == password_reset.MAILS_PER_HOUR
    assert mail.wait_for(password_reset.MAILS_PER_HOUR + 1, timeout=1.5)[password_reset.MAILS_PER_HOUR:] == []
    from app.platform import kv

    assert 3500 < kv.store().ttl(f"{password_reset.KEY_PREFIX}{lead.id}") <= 3600  # the count ends with the hour
