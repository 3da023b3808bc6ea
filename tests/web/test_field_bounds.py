"""Every form field is bounded like its column: an over-long value is a clear 400 naming the field, on
every way in, never a 500 (PostgreSQL checks lengths and raised) and never silently cut (SQLite stored
it whole, and some forms cut it quietly). One rule: app/platform/refusal.py column_text."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, Developer, OnCallOverride, Service, WebhookSubscription
from app.triage import oncall
from tests.factories import make_developer, make_service

PASSWORD = "correct horse battery"
LONG_NAME = "N" * 300
LONG_EMAIL = "a" * 64 + "@" + "b" * 241 + ".test"  # 311 characters: the e-mail form passes, the column does not


def login(client, developer):
    assert client.post("/login", data={"email": developer.email, "password": PASSWORD}).status_code == 303


@pytest.fixture
def admin(app):
    admin = make_developer("Ada Admin", email="ada@example.test", role="admin")
    db.session.commit()
    return admin


def count(model) -> int:
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def refused(response, field_text: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page[:300]
    assert field_text in page and "at most" in page


def test_a_service_name_or_slug_too_long_for_its_column(client, admin):
    login(client, admin)
    before = count(Service)
    refused(client.post("/settings/services", data={"name": LONG_NAME, "platform": "python"}), "120 fit")
    refused(client.post("/settings/services", data={"name": "Billing", "slug": "s" * 130, "platform": "python"}),
            "120 fit")
    assert count(Service) == before


def test_a_user_s_name_or_e_mail_too_long_for_its_column(client, admin):
    login(client, admin)
    before = count(Developer)
    refused(client.post("/settings/users", data={"name": LONG_NAME, "email": "new@example.test", "role": "developer",
                                                  "password": "a long enough password"}), "name is 300 characters")
    refused(client.post("/settings/users", data={"name": "New", "email": LONG_EMAIL, "role": "developer",
                                                  "password": "a long enough password"}), "email is 311 characters")
    assert count(Developer) == before


def test_a_developer_s_new_name_too_long_is_refused_not_cut(client, admin):
    dev = make_developer("Dev", email="dev@example.test")
    db.session.commit()
    login(client, admin)
    refused(client.post(f"/developers/{dev.id}/edit", data={"name": LONG_NAME, "max_load": "5"}), "name is 300")
    db.session.refresh(dev)
    assert dev.name == "Dev"


def test_a_token_name_an_override_reason_and_a_webhook_name_too_long(client, admin):
    login(client, admin)
    assert client.post("/tokens", data={"name": LONG_NAME}).status_code == 400
    assert count(ApiToken) == 0
    plan = oncall.ensure_default_schedule()
    db.session.commit()
    refused(client.post(f"/oncall/{plan.id}/overrides", data={
        "developer_id": admin.id, "starts_at": "2026-03-02T09:00", "ends_at": "2026-03-02T17:00",
        "reason": "x" * 300}), "reason is 300")
    assert count(OnCallOverride) == 0
    refused(client.post("/settings/webhooks", data={"name": LONG_NAME, "url": "https://hooks.example.com/x",
                                                     "events": ["error.created"]}), "name is 300")
    assert count(WebhookSubscription) == 0


def test_the_command_line_answers_the_same(runner, app):
    make_service("Checkout")
    db.session.commit()
    done = runner.invoke(args=["create-developer", "--name", LONG_NAME, "--email", "cli@example.test"])
    assert done.exit_code != 0 and "name is 300 characters long; at most 120 fit" in done.output
    done = runner.invoke(args=["create-service", LONG_NAME, "--platform", "python"])
    assert done.exit_code != 0 and "name is 300 characters long; at most 120 fit" in done.output
    assert count(Developer) == 0 and count(Service) == 1
