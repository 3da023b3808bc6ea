"""The escalation tests' team: a service with its lead, an on-call developer and two admins, every channel
pointed at the local receivers."""
import pytest

from app.extensions import db
from tests.factories import make_developer, make_service
from tests.receivers import configure_slack_webhook, configure_twilio


@pytest.fixture
def team(app, smtp_server, slack_receiver, twilio_receiver):
    smtp_server.configure(app.config)
    configure_slack_webhook(app.config, slack_receiver)
    configure_twilio(app.config, twilio_receiver)
    lead = make_developer("Lena Lead", email="lena@example.test", role="lead", phone="+41790000010")
    lead.slack_member_id = "U0LENA001"
    service = make_service("Checkout", lead=lead)
    make_developer("Dev", email="dev@example.test", services=[service], on_call=True, phone="+41790000011")
    admins = [make_developer(f"Admin {n}", email=f"admin{n}@example.test", role="admin", phone=f"+4179000002{n}")
              for n in (1, 2)]
    db.session.commit()
    return service, lead, admins
