"""One Slack member id rule: a developer's preferences, a lead's edit, a new account and the Slack
channel's mentions accept and refuse the same values."""
from __future__ import annotations

import pytest
from flask import g

from app.accounts import developers as accounts
from app.extensions import db
from app.models import Developer
from app.notify.channels.base import Notice
from app.notify.channels.slack import compose
from tests.factories import make_developer

PASSWORD = "correct horse battery"
VALID = [("U012AB3CD", "U012AB3CD"), ("W0123456789", "W0123456789"), ("u012ab3cd", "U012AB3CD"),
         (" U1234567 ", "U1234567"), ("U" + "A" * 19, "U" + "A" * 19)]
INVALID = ["U012AB3", "U" + "A" * 20, "X012AB3CD", "C012AB3CD", "U012-AB3CD", "<script>", "U012AB3CD <!here>"]


def signed_in(app, developer):
    """A client of its own, signed in as ``developer``. The test's app context is shared by every
    request, so the signed-in user that Flask-Login keeps on ``g`` is forgotten first."""
    g.pop("_login_user", None)
    client = app.test_client()
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303
    g.pop("_login_user", None)
    return client


def mention_in_slack(value: str) -> str | None:
    notice = Notice(event="error.created", key="k", title="t", headline="h", template="error_event",
                    url="http://hw.test/errors/1", mentions=[value])
    text = compose(notice, "C0INCIDENTS", "k").payload["attachments"][0]["blocks"][0]["text"]["text"]
    return text.split(">", 1)[0][2:] if text.startswith("<@") else None


def saved_in_preferences(app, developer, value: str) -> tuple[int, str | None]:
    response = signed_in(app, developer).post("/preferences", data={"channels_critical": ["email"], "slack_member_id": value})
    db.session.expire_all()
    return response.status_code, db.session.get(Developer, developer.id).slack_member_id


def saved_by_the_lead(app, lead, developer, value: str) -> tuple[int, str | None]:
    response = signed_in(app, lead).post(f"/developers/{developer.id}/edit", data={"slack_member_id": value})
    db.session.expire_all()
    return response.status_code, db.session.get(Developer, developer.id).slack_member_id


@pytest.mark.parametrize("value, canonical", VALID)
def test_a_valid_member_id_is_accepted_the_same_way_everywhere(app, service, lead, value, canonical):
    own, edited = make_developer("Own", services=[service]), make_developer("Edited", services=[service])
    assert saved_in_preferences(app, own, value) == (303, canonical)
    assert saved_by_the_lead(app, lead, edited, value) == (303, canonical)
    assert accounts.create_developer("New", "new@example.test", slack_member_id=value).slack_member_id == canonical
    assert mention_in_slack(value) == canonical


@pytest.mark.parametrize("value", INVALID)
def test_an_invalid_member_id_is_refused_the_same_way_everywhere(app, service, lead, value):
    own, edited = make_developer("Own", services=[service]), make_developer("Edited", services=[service])
    status, stored = saved_in_preferences(app, own, value)
    assert (status, stored) == (400, None)
    status, stored = saved_by_the_lead(app, lead, edited, value)
    assert (status, stored) == (400, None)
    with pytest.raises(accounts.AccountError) as refused:
        accounts.create_developer("New", "new@example.test", slack_member_id=value)
    assert refused.value.field == "slack_member_id"
    assert mention_in_slack(value) is None


def test_the_refusal_says_what_a_member_id_looks_like(app, service, lead):
    edited = make_developer("Edited", services=[service])
    body = signed_in(app, lead).post(f"/developers/{edited.id}/edit", data={"slack_member_id": "U12"}).get_data(as_text=True)
    assert "a Slack member id looks like U012AB3CD" in body
