"""Custom webhook subscriptions: validation, event filters and what the audit trail keeps."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.notify import subscriptions as webhooks_out
from app.notify.subscriptions import WebhookError
from tests.factories import make_service
from tests.receivers import _http_receivers, webhook_receiver  # noqa: F401  (the fixtures)


def test_a_subscription_gets_a_generated_secret_that_the_audit_trail_never_shows(app):
    subscription, secret = webhooks_out.create_subscription(
        "pager", "https://hooks.example.test/in?token=abc", ["error.created", "threshold.breached"], None)
    assert secret.startswith("whsec_") and len(secret) > 30 and subscription.secret == secret
    audit = json.dumps([a.details for a in db.session.execute(select(AuditEvent)).scalars()])
    assert secret not in audit and "token=abc" not in audit and "https://hooks.example.test/in" in audit


def test_subscribers_are_filtered_by_event_service_and_activity(app):
    billing, geo = make_service("Billing"), make_service("Geo")
    everything, _ = webhooks_out.create_subscription("all", "https://a.test/", ["error.created"], None)
    billing_only, _ = webhooks_out.create_subscription("billing", "https://b.test/", ["error.created"], None,
                                                       service=billing)
    paused, _ = webhooks_out.create_subscription("paused", "https://c.test/", ["error.created"], None)
    webhooks_out.update_subscription(paused, None, active=False)
    webhooks_out.create_subscription("resolutions", "https://d.test/", ["error.resolved"], None)

    assert [s.id for s in webhooks_out.subscribers("error.created", billing.id)] == [everything.id, billing_only.id]
    assert [s.id for s in webhooks_out.subscribers("error.created", geo.id)] == [everything.id]


@pytest.mark.parametrize("url, events, field", [
    ("ftp://x.test/", ["error.created"], "url"), ("not a url", ["error.created"], "url"),
    ("https://x.test/", [], "events"), ("https://x.test/", ["error.deleted"], "events"),
])
def test_bad_subscriptions_are_refused_with_the_field(app, url, events, field):
    with pytest.raises(WebhookError) as refused:
        webhooks_out.create_subscription("x", url, events, None)
    assert refused.value.field == field


def test_rotating_the_secret_changes_what_verifies(app):
    subscription, old = webhooks_out.create_subscription("x", "https://x.test/", "error.created", None)
    new = webhooks_out.rotate_secret(subscription, None)
    assert new != old and subscription.secret == new


def test_a_test_event_is_signed_and_a_refusal_is_reported(app, webhook_receiver):  # noqa: F811
    subscription, secret = webhooks_out.create_subscription("bot", f"{webhook_receiver.url}/hook", ["error.created"],
                                                            None)
    assert "200" in webhooks_out.send_test(subscription, None)
    request = webhook_receiver.requests[0]
    assert request["headers"]["X-Heartwatch-Event"] == "webhook.test"
    assert webhooks_out.verify_signature(secret, request["body"], request["headers"]["X-Heartwatch-Signature"])

    webhook_receiver.script((500, "broken"))
    with pytest.raises(WebhookError) as refused:
        webhooks_out.send_test(subscription, None)
    assert refused.value.status == 502 and "500" in refused.value.message
    actions = [a.action for a in db.session.execute(select(AuditEvent)).scalars()]
    assert actions.count("webhook.tested") == 2
