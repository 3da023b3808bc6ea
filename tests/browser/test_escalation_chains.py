"""The escalation chain editor in a real browser: a lead creates a chain for their service, adds steps
with HTMX, moves one up, removes one, sees a refusal naming the field; at 1440 and 390 px nothing sticks
out."""
from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.models import EscalationChain
from app.triage import chain_plans, oncall
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard_flows import sign_in
from tests.factories import make_developer
from tests.receivers import configure_twilio, twilio_receiver, _http_receivers  # noqa: F401

WIDTHS = (1440, 390)


def _step_texts(page) -> list[str]:
    return [t.strip() for t in page.locator(".chain-step-text").all_inner_texts()]


def test_a_lead_builds_reorders_and_trims_a_chain(page, live_server, app, service, lead, twilio_receiver):  # noqa: F811
    configure_twilio(app.config, twilio_receiver)
    admin = make_developer("Ada Admin", role="admin")
    rota = oncall.create_schedule(None, name="AI rota")
    db.session.commit()
    sign_in(page, live_server, lead.email)
    page.goto(f"{live_server}/escalations")
    page.get_by_role("link", name="Escalation chains").click()
    form = page.locator("#new-chain")
    form.locator("input[name=name]").fill("AI pages")
    form.locator("select[name=service_id]").select_option(str(service.id))
    form.locator("select[name=severity]").select_option("critical")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("AI pages")

    add = page.locator("#add-step")
    # Only the configured channels are offered: SMS (Twilio) here, no e-mail or Slack.
    expect(add.locator("input[name=channels]")).to_have_count(1)
    steps = [("oncall", {"schedule_id": str(rota.id)}), ("person", {"developer_id": str(admin.id)}),
             ("wait", {"minutes": "15"}), ("role", {"role": "admin"})]
    for number, (kind, fields) in enumerate(steps, start=1):
        add = page.locator("#add-step")
        add.locator("select[name=kind]").select_option(kind)
        for name, value in fields.items():
            target = add.locator(f"[name={name}]")
            target.fill(value) if name == "minutes" else target.select_option(value)
        if kind != "wait":
            add.locator("input[name=channels][value=sms]").check()
        add.locator("button[type=submit]").click()
        expect(page.locator(".chain-step")).to_have_count(number)
    assert _step_texts(page) == ["whoever is on call in AI rota by SMS", "Ada Admin by SMS", "wait 15 min",
                                 "every admin by SMS"]

    page.get_by_role("button", name="Move step 2 down").click()
    expect(page.locator(".chain-step").nth(2)).to_contain_text("Ada Admin")
    expect(page.get_by_role("button", name="Move step 1 up")).to_be_disabled()
    page.get_by_role("button", name="Remove step 4").click()
    expect(page.locator(".chain-step")).to_have_count(3)
    assert _step_texts(page) == ["whoever is on call in AI rota by SMS", "wait 15 min", "Ada Admin by SMS"]

    add = page.locator("#add-step")
    add.locator("select[name=kind]").select_option("wait")
    add.locator("input[name=minutes]").fill("0")
    add.locator("button[type=submit]").click()
    expect(page.locator("#chain-editor .flash-error")).to_contain_text("'steps.3.minutes' must be between 1 and 10080")
    expect(page.locator(".chain-step")).to_have_count(3)

    settings = page.locator("#chain-settings")
    settings.locator("input[name=repeat_times]").fill("2")
    settings.locator("input[name=repeat_every_minutes]").fill("10")
    settings.locator("button[type=submit]").click()
    expect(page.locator("#chain-editor")).to_contain_text("Then again 10 min later, at most 2 more times")

    db.session.expire_all()
    chain = db.session.query(EscalationChain).one()
    assert (chain.service_id, chain.severity, chain.repeat_times, chain.repeat_every_minutes) == (
        service.id, "critical", 2, 10)
    assert [chain_plans.step_dict(s)["kind"] for s in chain.steps] == ["oncall", "wait", "person"]

    page.reload()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        expect(page.locator("#chain-editor")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        screenshot(page, f"dashboard-escalation-chain-{width}")
