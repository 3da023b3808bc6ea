"""The on-call hand-off: at the start of a shift the incoming developer gets one e-mail (real SMTP on
loopback) with the open critical and high errors of their services; a second run sends nothing."""
from __future__ import annotations

import datetime as dt

import time_machine

from app.extensions import db
from app.jobs.scheduled import WORK, claim_due
from app.models import ErrorLog
from app.triage import changes as triage
from app.triage import oncall
from tests.factories import make_developer, make_service
from tests.jobs.events import record_events

UTC = dt.timezone.utc
# Monday 30 March 2026, 09:00 in Berlin: 07:00 UTC, the first Monday after the clocks went forward.
HANDOFF = dt.datetime(2026, 3, 30, 7, tzinfo=UTC)


def handoffs(smtp_server):
    return [m for m in smtp_server.messages if m["X-Heartwatch-Event"] == "oncall.handoff"]


def test_the_incoming_developer_is_told_the_open_critical_and_high_errors_of_their_services(app, smtp_server):
    smtp_server.configure(app.config)
    billing, search = make_service("Billing"), make_service("Search")
    lead = make_developer("Lead", email="lead@example.test", role="lead")
    ann = make_developer("Ann", email="ann@example.test", services=[billing])
    bob = make_developer("Bob", email="bob@example.test", services=[billing])
    record_events(billing, severity="critical", error_type="CardDeclined", message="card declined",
                  at=HANDOFF - dt.timedelta(hours=5))
    record_events(billing, severity="medium", error_type="SlowQuery", at=HANDOFF - dt.timedelta(hours=5))
    (fixed,) = record_events(billing, severity="high", error_type="Fixed", at=HANDOFF - dt.timedelta(hours=6))
    triage.resolve_error(db.session.get(ErrorLog, fixed.error_id), lead)
    record_events(search, severity="critical", error_type="NotTheirs", at=HANDOFF - dt.timedelta(hours=5))
    plan = oncall.create_schedule(lead, name="Billing", service_ids=[billing.id])
    oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-23", handoff_time="09:00",
                     timezone="Europe/Berlin", participants=[ann.id, bob.id])
    smtp_server.messages.clear()

    with time_machine.travel(HANDOFF - dt.timedelta(minutes=20), tick=False):
        assert WORK["send_oncall_handoffs"]() == {"notifications": 0}  # Ann's turn began a week ago
    with time_machine.travel(HANDOFF + dt.timedelta(minutes=3), tick=False):
        assert "send_oncall_handoffs" in claim_due()
        assert WORK["send_oncall_handoffs"]() == {"notifications": 1}
    with time_machine.travel(HANDOFF + dt.timedelta(minutes=8), tick=False):
        WORK["send_oncall_handoffs"]()  # the same shift again, within the look-back: told once
    (message,) = handoffs(smtp_server)
    assert message["To"] == "bob@example.test" and "Billing" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Mon 30 Mar 07:00 UTC until Mon 06 Apr 07:00 UTC" in text
    assert "CardDeclined: card declined" in text
    assert "SlowQuery" not in text and "Fixed" not in text and "NotTheirs" not in text
    assert "CardDeclined" in message.get_body(("html",)).get_content()
