"""Comments on an error through the JSON API and the dashboard's form: stored as plain text, bounded, shown
escaped with their line breaks in the timeline; an @mention e-mails the developer named (a real SMTP server on
loopback)."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import ErrorComment, ErrorNotification
from app.triage.comments import mention_names
from tests.factories import ingest, make_developer
from tests.receivers import smtp_server  # noqa: F401  (a real SMTP server on loopback)

PASSWORD = "correct horse battery"


@pytest.fixture
def lead(app, service):
    return make_developer("Lena Lead", role="lead", services=[service], email="lena@example.test")


@pytest.fixture
def error_id(client, service) -> str:
    response = ingest(client, service, {"error_type": "KeyError", "message": "'x'", "severity": "low"})
    assert response.status_code == 201, response.json
    return response.json["error_id"]


@pytest.fixture
def mail(app, smtp_server):  # noqa: F811
    smtp_server.configure(app.config)
    return smtp_server


def test_post_and_list_comments(api, error_id, lead):
    first = api.post(f"/api/errors/{error_id}/comments/", json={"body": "  Looks like the cache.\nChecking.  "})
    assert first.status_code == 201, first.json
    assert first.json["body"] == "Looks like the cache.\nChecking."
    assert first.json["author"] == {"id": lead.id, "name": "Lena Lead", "email": "lena@example.test"}
    assert first.json["mentions"] == [] and first.json["error_id"] == error_id
    api.post(f"/api/errors/{error_id}/comments/", json={"body": "Fixed in 1.2"})
    listed = api.get(f"/api/errors/{error_id}/comments/").json
    assert listed["total"] == 2 and [c["body"] for c in listed["items"]] == ["Fixed in 1.2", first.json["body"]]


@pytest.mark.parametrize("body, message", [
    ({}, "'body' is required"),
    ({"body": "   "}, "write a comment first"),
    ({"body": 7}, "'body'"),
    ({"body": "x" * 4001}, "at most 4000 fit"),
    ({"body": "a\x00b"}, "NUL"),
])
def test_bad_comments_are_refused_naming_the_body(api, error_id, body, message):
    response = api.post(f"/api/errors/{error_id}/comments/", json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == "body" and message in response.json["error"]["message"]
    assert db.session.execute(db.select(ErrorComment)).first() is None


def test_a_comment_of_the_longest_length_is_kept(api, error_id):
    assert api.post(f"/api/errors/{error_id}/comments/", json={"body": "y" * 4000}).status_code == 201
    assert api.get("/api/errors/00000000-0000-4000-8000-000000000000/comments/").status_code == 404


def test_mention_names():
    assert mention_names("@Ada, ask @ada.lovelace. mail@example.test @bob-") == ["ada", "ada.lovelace", "bob"]
    assert mention_names("no mention here, not even a@b") == []


def test_a_mention_e_mails_the_developer_named_and_not_the_author(api, error_id, lead, mail, service):
    ada = make_developer("Ada Lovelace", email="ada@example.test", services=[service], password=None)
    make_developer("Bob Builder", email="bob@example.test", services=[service], password=None)
    response = api.post(f"/api/errors/{error_id}/comments/",
                        json={"body": "@AdaLovelace can you look? cc @lena\n<b>not bold</b>"})
    assert response.status_code == 201, response.json
    assert [m["id"] for m in response.json["mentions"]] == [ada.id]
    (message,) = mail.wait_for(1)
    assert message["To"] == "ada@example.test"
    assert "Lena Lead mentioned you on KeyError" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "@AdaLovelace can you look?" in text and "<b>not bold</b>" in text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
    (row,) = db.session.execute(db.select(ErrorNotification)).scalars().all()
    assert (row.event, row.status, row.recipient_id, row.error_id) == ("comment.mention", "sent", ada.id, error_id)
    # By the e-mail's local part too, case aside; the same mention in a second comment is a second message.
    api.post(f"/api/errors/{error_id}/comments/", json={"body": "@ADA again"})
    assert len(mail.wait_for(2)) == 2


def test_the_dashboard_form_adds_a_comment_shown_escaped_with_its_line_breaks(client, error_id, lead, mail,
                                                                               service):
    make_developer("Ada Lovelace", email="ada@example.test", services=[service], password=None)
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert f'action="/errors/{error_id}/comments"' in page
    response = client.post(f"/errors/{error_id}/comments",
                           data={"body": "<script>alert(1)</script>\nsecond line @ada"})
    assert response.status_code == 303
    (comment,) = db.session.execute(db.select(ErrorComment)).scalars().all()
    assert response.headers["Location"].endswith(f"/errors/{error_id}#comment-{comment.id}")
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert '<p class="comment-body">&lt;script&gt;alert(1)&lt;/script&gt;\nsecond line @ada</p>' in page
    assert "1 mentioned developer told" in page
    assert len(mail.wait_for(1)) == 1


def test_the_dashboard_form_refuses_an_empty_or_long_comment(client, error_id, lead):
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    empty = client.post(f"/errors/{error_id}/comments", data={"body": " "})
    assert empty.status_code == 400 and "write a comment first" in empty.get_data(as_text=True)
    long = client.post(f"/errors/{error_id}/comments", data={"body": "z" * 4001})
    assert long.status_code == 400 and "at most 4000 fit" in long.get_data(as_text=True)
    assert db.session.execute(db.select(ErrorComment)).first() is None
