"""The error page's Acknowledge button: the same rule as the API's, shown in the triage panel."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ErrorAcknowledgement
from tests.factories import make_developer
from tests.web.test_dashboard_errors import HTMX_TRIAGE, login, record


def test_acknowledging_from_the_error_page(app, client, service, lead):
    error_id = record(client, service, severity="critical")
    login(client, lead)
    page = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert f'action="/errors/{error_id}/acknowledge"' in page

    panel = client.post(f"/errors/{error_id}/acknowledge", headers=HTMX_TRIAGE).get_data(as_text=True)
    assert "Acknowledged by" in panel and lead.name in panel and "Acknowledge again" in panel
    assert db.session.get(ErrorAcknowledgement, error_id).via == "dashboard"
    timeline = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert "acknowledged it: the escalation waits." in timeline
    assert db.session.execute(select(AuditEvent.details).where(AuditEvent.action == "error.acknowledged")
                              ).scalar_one() == {"via": "dashboard", "renewed": False}


def test_someone_else_s_error_is_not_acknowledged_by_a_developer(app, client, service, lead):
    error_id = record(client, service, severity="critical")
    other = make_developer("Olli Other", email="olli@example.test", password="correct horse battery")
    db.session.commit()
    login(client, lead)
    client.post(f"/errors/{error_id}/assign", data={"developer_id": str(lead.id)})
    client.post("/logout")
    login(client, other)
    assert f'/errors/{error_id}/acknowledge"' not in client.get(f"/errors/{error_id}").get_data(as_text=True)
    answer = client.post(f"/errors/{error_id}/acknowledge", headers=HTMX_TRIAGE)
    assert answer.status_code == 403
    assert db.session.get(ErrorAcknowledgement, error_id) is None
