"""The e-mails of swap requests, from a real SMTP server on loopback: the colleague hears of a request
and of its withdrawal, the requester of the answer; the same through the API and the dashboard; and a
request made while the mail server is down is mailed once it is back."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import ErrorNotification, OnCallOverride, OnCallSwap
from app.notify.recovery import retry_due
from app.triage import oncall
from tests.factories import ApiClient, make_developer, make_token

PASSWORD = "correct horse battery"
WINDOW = {"starts_at": "2026-03-25T10:00:00Z", "ends_at": "2026-03-25T18:00:00Z"}


def people(client, lead):
    ann = make_developer("Ann Asker", email="ann@example.test")
    bob = make_developer("Bob Backup", email="bob@example.test")
    plan = oncall.create_schedule(lead, name="Pair")
    oncall.add_layer(plan, lead, name="weekly", starts_on="2026-03-23", participants=[ann.id])
    return plan, ann, bob, ApiClient(client, make_token(ann)), ApiClient(client, make_token(bob))


def subjects(smtp_server, address: str) -> list[str]:
    return [m["Subject"] for m in smtp_server.to(address)]


def test_the_colleague_is_mailed_the_request_and_the_requester_the_answer(app, client, lead, smtp_server):
    smtp_server.configure(app.config)
    plan, ann, bob, ann_api, bob_api = people(client, lead)
    asked = ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, "note": "wedding",
                                                                   **WINDOW})
    assert asked.status_code == 201
    (request_mail,) = smtp_server.wait_for(1)
    assert request_mail["To"] == "bob@example.test"
    assert request_mail["Subject"] == "[Heartwatch] Ann Asker asks you to take Pair, Wed 25 Mar 10:00 to Wed 25 Mar 18:00 UTC"
    text = request_mail.get_body(("plain",)).get_content()
    assert "Their note: wedding" in text and "/oncall/mine#swaps" in text

    assert bob_api.post(f"/api/swaps/{asked.json['id']}/accept/").status_code == 200
    smtp_server.wait_for(2)
    assert subjects(smtp_server, "ann@example.test") == [
        "[Heartwatch] Bob Backup accepted your swap: Pair, Wed 25 Mar 10:00 to Wed 25 Mar 18:00 UTC"]

    declined = ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, **{
        "starts_at": "2026-03-26T10:00:00Z", "ends_at": "2026-03-26T12:00:00Z"}}).json
    bob_api.post(f"/api/swaps/{declined['id']}/decline/")
    withdrawn = ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, **{
        "starts_at": "2026-03-27T10:00:00Z", "ends_at": "2026-03-27T12:00:00Z"}}).json
    ann_api.post(f"/api/swaps/{withdrawn['id']}/cancel/")
    smtp_server.wait_for(6)
    assert [s.split(":")[0] for s in subjects(smtp_server, "ann@example.test")] == [
        "[Heartwatch] Bob Backup accepted your swap", "[Heartwatch] Bob Backup declined your swap"]
    assert subjects(smtp_server, "bob@example.test")[-1].startswith("[Heartwatch] Swap request withdrawn: Pair")
    assert len(smtp_server.messages) == 6  # each event once
    rows = db.session.execute(select(ErrorNotification.event, ErrorNotification.status)).all()
    assert sorted(rows) == sorted([("oncall.swap_requested", "sent")] * 3 + [
        ("oncall.swap_accepted", "sent"), ("oncall.swap_declined", "sent"), ("oncall.swap_cancelled", "sent")])


def test_the_dashboard_asks_and_answers_with_the_same_mails(app, client, lead, smtp_server):
    smtp_server.configure(app.config)
    plan, ann, bob, _, _ = people(client, lead)
    assert client.post("/login", data={"email": ann.email, "password": PASSWORD}).status_code == 303
    page = client.get("/oncall/mine").get_data(as_text=True)
    assert "Ask someone to take it" in page and 'id="swaps"' in page
    asked = client.post("/oncall/swaps", data={"schedule_id": plan.id, "colleague_id": bob.id,
                                                "starts_at": "2026-03-25T10:00", "ends_at": "2026-03-25T18:00",
                                                "note": "dentist"})
    assert asked.status_code == 303 and asked.headers["Location"].endswith("/oncall/mine#swaps")
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "bob@example.test" and "asks you to take Pair, Wed 25 Mar 10:00" in mail["Subject"]
    swap = db.session.execute(select(OnCallSwap)).scalar_one()
    assert "Withdraw" in client.get("/oncall/mine").get_data(as_text=True)

    client.post("/logout")
    assert client.post("/login", data={"email": bob.email, "password": PASSWORD}).status_code == 303
    mine = client.get("/oncall/mine").get_data(as_text=True)
    row = mine[mine.index(f'id="swap-{swap.id}"'):]
    assert "Ann Asker asks you" in row[:row.index("</tr>")] and "Accept" in row[:row.index("</tr>")]
    assert client.post(f"/oncall/swaps/{swap.id}/accept").status_code == 303
    smtp_server.wait_for(2)
    assert subjects(smtp_server, "ann@example.test")[0].startswith("[Heartwatch] Bob Backup accepted your swap")
    db.session.expire_all()
    override = db.session.get(OnCallOverride, db.session.get(OnCallSwap, swap.id).override_id)
    assert (override.developer_id, override.replaces_id) == (bob.id, ann.id)
    again = client.post(f"/oncall/swaps/{swap.id}/decline")
    assert again.status_code == 409 and "this swap request is accepted already" in again.get_data(as_text=True)


def test_a_request_made_while_the_mail_server_is_down_is_mailed_when_it_is_back(app, client, lead, smtp_server):
    smtp_server.configure(app.config)
    plan, ann, bob, ann_api, _ = people(client, lead)
    smtp_server.stop()
    asked = ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, **WINDOW})
    assert asked.status_code == 201  # the request is saved; its e-mail waits
    row = db.session.execute(select(ErrorNotification)).scalar_one()
    assert row.status in ("queued", "retrying") and row.event == "oncall.swap_requested"
    smtp_server.start()
    retry_due(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))  # the sweep, once the retry is due
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "bob@example.test" and "asks you to take Pair" in mail["Subject"]


def test_without_e_mail_a_request_is_saved_and_nothing_is_queued(app, client, lead):
    app.config["SMTP_HOST"] = None
    plan, ann, bob, ann_api, _ = people(client, lead)
    assert ann_api.post(f"/api/schedules/{plan.id}/swaps/", json={"colleague_id": bob.id, **WINDOW}).status_code == 201
    assert db.session.execute(select(ErrorNotification)).first() is None
