"""The escalation chain editor: the chains, a new one for a service (or the default) and a severity, and
one chain's steps added, moved up or down and removed. Every change goes through app/triage/chains.py
(``create_chain``, ``update_chain`` and the step helpers), the JSON API's rules; HTMX swaps the editor."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import (
    ROLES, SEVERITIES, Developer, EscalationChain, OnCallSchedule, Service, WebhookSubscription,
)
from app.notify import channels as registry
from app.triage import chain_plans, chains, permissions
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, fragment, htmx_target

EDITOR = "chain-editor"
STEP_FORM_FIELDS = ("kind", "minutes", "setting", "schedule_id", "developer_id", "role", "slack_channel",
                    "webhook_id")


def _chain_or_404(chain_id: int) -> EscalationChain:
    chain = db.session.get(EscalationChain, chain_id) if chain_id < 2**31 else None
    if chain is None:
        abort(404, description=f"No escalation chain with id {chain_id}.")
    return chain


def _services_for(user) -> list[Service]:
    services = db.session.execute(select(Service).order_by(Service.name)).scalars().all()
    return [s for s in services if permissions.can_manage_escalation_chain(user, s)]


def _choices() -> dict:
    """What the step form offers: the channels configured here, and the existing targets."""
    return {
        "offered": registry.offered_channels(), "roles": ROLES,
        "severities": tuple(reversed(SEVERITIES)), "step_kinds": chain_plans.STEP_LABELS, "wait_settings": chains.WAIT_SETTINGS,
        "slack_by_name": registry.slack_web_api(),
        "schedules": db.session.execute(select(OnCallSchedule).order_by(OnCallSchedule.name)).scalars().all(),
        "people": db.session.execute(select(Developer).where(Developer.active.is_(True))
                                     .order_by(Developer.name)).scalars().all(),
        "webhooks": db.session.execute(select(WebhookSubscription).order_by(WebhookSubscription.name)).scalars().all(),
    }


def _editor_context(chain: EscalationChain, problem=None, draft: dict | None = None) -> dict:
    plan = chain_plans.plan_of(chain)
    names = chain_plans.target_names([plan])
    user = actor()
    return {"chain": chain, "steps": [(step, chain_plans.describe_step(step, names)) for step in plan.steps],
            "levels": {entry.index for entry in chain_plans.walk(plan) if entry.round == 0},
            "may_edit": permissions.can_manage_escalation_chain(user, chain.service),
            "services": _services_for(user), "may_edit_default": permissions.is_admin(user),
            "problem": problem, "draft": draft or {}, **_choices()}


def _editor(chain: EscalationChain, problem=None, draft: dict | None = None):
    """The editor after a change: its fragment for HTMX, else the page (a refusal keeps its status)."""
    status = problem.status if problem is not None else 200
    context = _editor_context(chain, problem, draft)
    if htmx_target() == EDITOR:
        return fragment("partials/_chain_editor.html", status, **context)
    if problem is None:
        return redirect(url_for("dashboard.escalation_chain", chain_id=chain.id), code=303)
    return render_template("dashboard/escalation_chain.html", **context), status


def _chain_fields() -> dict:
    form = request.form
    return {"name": form.get("name"), "service_id": form.get("service_id") or None, "severity": form.get("severity"),
            "repeat_times": form.get("repeat_times") or 0, "repeat_every_minutes": form.get("repeat_every_minutes")}


def _list_page(problem=None, draft=None):
    user = actor()
    items = chain_plans.all_chains()
    names = chain_plans.target_names([chain_plans.plan_of(c) for c in items])
    rows = [{"chain": c, "steps": [chain_plans.describe_step(chain_plans.step_dict(s), names) for s in c.steps],
             "may_edit": permissions.can_manage_escalation_chain(user, c.service)} for c in items]
    page = render_template("dashboard/escalation_chains.html", rows=rows, services=_services_for(user),
                           may_edit_default=permissions.is_admin(user), severities=tuple(reversed(SEVERITIES)),
                           problem=problem, draft=draft or {})
    return page, problem.status if problem is not None else 200


@bp.get("/escalations/chains")
def escalation_chains():
    return _list_page()


@bp.post("/escalations/chains")
def create_escalation_chain():
    try:
        chain = chains.create_chain(actor(), **_chain_fields(), steps=[])
    except chains.ChainError as exc:
        db.session.rollback()
        return _list_page(exc, request.form)
    flash(f"Chain “{chain.name}” created: add its steps.", "ok")
    return redirect(url_for("dashboard.escalation_chain", chain_id=chain.id), code=303)


@bp.get("/escalations/chains/<int:chain_id>")
def escalation_chain(chain_id: int):
    return render_template("dashboard/escalation_chain.html", **_editor_context(_chain_or_404(chain_id)))


def _change(chain: EscalationChain, change, draft: dict | None = None):
    try:
        change()
    except chains.ChainError as exc:
        db.session.rollback()
        db.session.refresh(chain)
        return _editor(chain, exc, draft)
    return _editor(chain)


@bp.post("/escalations/chains/<int:chain_id>")
def update_escalation_chain(chain_id: int):
    chain = _chain_or_404(chain_id)
    return _change(chain, lambda: chains.update_chain(chain, actor(), **_chain_fields()))


@bp.post("/escalations/chains/<int:chain_id>/steps")
def add_escalation_step(chain_id: int):
    chain = _chain_or_404(chain_id)
    step = {name: request.form.get(name) for name in STEP_FORM_FIELDS if request.form.get(name)}
    step["channels"] = request.form.getlist("channels")
    return _change(chain, lambda: chains.add_step(chain, actor(), step), draft=request.form)


@bp.post("/escalations/chains/<int:chain_id>/steps/<int:index>/move")
def move_escalation_step(chain_id: int, index: int):
    chain = _chain_or_404(chain_id)
    offset = -1 if request.form.get("direction") == "up" else 1
    return _change(chain, lambda: chains.move_step(chain, actor(), index, offset))


@bp.post("/escalations/chains/<int:chain_id>/steps/<int:index>/remove")
def remove_escalation_step(chain_id: int, index: int):
    chain = _chain_or_404(chain_id)
    return _change(chain, lambda: chains.remove_step(chain, actor(), index))


@bp.post("/escalations/chains/<int:chain_id>/delete")
def delete_escalation_chain(chain_id: int):
    chain = _chain_or_404(chain_id)
    name = chain.name
    try:
        chains.delete_chain(chain, actor())
    except chains.ChainError as exc:
        db.session.rollback()
        return _editor(chain, exc)
    flash(f"Chain “{name}” removed.", "ok")
    return redirect(url_for("dashboard.escalation_chains"), code=303)

