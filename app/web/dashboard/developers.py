"""Developers and workload: the team, the workload chart, on-call switches, editing, own preferences."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import SEVERITIES, Service
from app.accounts import developers as accounts
from app.reports import team as team_view
from app.triage import permissions
from app.accounts import preferences
from app.accounts import team
from app.notify.channels import channels_off
from app.web.dashboard.base import bp
from app.web.dashboard.common import (
    actor, developer_or_404, form_ids, fragment, is_htmx, refuse, refuse_because,
)


def _row(developer) -> dict:
    return team_view.team([developer])[0]


@bp.get("/developers")
def developers():
    rows = team_view.team()
    user = actor()
    return render_template("dashboard/developers.html", rows=rows, chart=team_view.workload_chart(rows),
                           can_edit={r["developer"].id: permissions.can_edit_developer(user, r["developer"])
                                     for r in rows},
                           shifts=team_view.shift_notes())


@bp.post("/developers/<int:developer_id>/on-call")
def set_on_call(developer_id: int):
    """Switch a developer's on-call flag: leads, managers and admins for anyone, developers for themselves."""
    developer = developer_or_404(developer_id)
    user = actor()
    on_call = request.form.get("on_call") in ("1", "true", "on")
    try:
        accounts.set_on_call(developer, on_call, user)
    except accounts.AccountError as exc:
        refuse_because(exc)
    message = f"{developer.name} is {'on call' if on_call else 'off call'}."
    if is_htmx():
        flash(message, "ok")
        return fragment("partials/_developer_row.html", row=_row(developer),
                        can_edit=permissions.can_edit_developer(user, developer), shifts=team_view.shift_notes())
    flash(message, "ok")
    return redirect(url_for("dashboard.developers"), code=303)


@bp.route("/developers/<int:developer_id>/edit", methods=["GET", "POST"])
def edit_developer(developer_id: int):
    developer = developer_or_404(developer_id)
    user = actor()
    if not permissions.can_edit_developer(user, developer):
        refuse("Only admins and the leads of this developer's services edit them.")
    services = db.session.execute(select(Service).order_by(Service.name)).scalars().all()
    problem, status = None, 200
    if request.method == "POST":
        try:
            team.update_developer(
                developer, user, name=request.form.get("name"), phone=request.form.get("phone"),
                slack_member_id=request.form.get("slack_member_id"), max_load=request.form.get("max_load"),
                service_ids=form_ids("service_id"))
        except team.TeamError as exc:
            db.session.rollback()
            problem, status = exc, exc.status
        else:
            flash(f"{developer.name} saved.", "ok")
            return redirect(url_for("dashboard.developers"), code=303)
    return render_template("dashboard/developer_edit.html", developer=developer, services=services,
                           problem=problem, form=request.form if request.method == "POST" else None), status


@bp.route("/preferences", methods=["GET", "POST"])
def my_preferences():
    """The signed-in developer's own notification preferences."""
    user = actor()
    problem, status = None, 200
    if request.method == "POST":
        try:
            preferences.update_preferences(
                user, user,
                channels={s: request.form.getlist(f"channels_{s}") for s in SEVERITIES},
                quiet_hours_start=request.form.get("quiet_hours_start"),
                quiet_hours_end=request.form.get("quiet_hours_end"), timezone=request.form.get("timezone"),
                phone=request.form.get("phone"), slack_member_id=request.form.get("slack_member_id"),
                slack_webhook_url=request.form.get("slack_webhook_url"),
                remove_slack_webhook=request.form.get("remove_slack_webhook") in ("1", "on", "true"))
        except preferences.PreferenceError as exc:
            db.session.rollback()
            problem, status = exc, 400
        else:
            flash("Preferences saved.", "ok")
            return redirect(url_for("dashboard.my_preferences"), code=303)
    current = preferences.preferences_of(user)
    offered = preferences.offered_channels(user)
    if request.method == "POST":
        # Show what was typed, not what is stored, next to the message that says what to fix.
        current.channels = {s: request.form.getlist(f"channels_{s}") for s in SEVERITIES}
        for name in ("quiet_hours_start", "quiet_hours_end", "timezone", "phone", "slack_member_id"):
            setattr(current, name, request.form.get(name))
    return render_template("dashboard/preferences.html", prefs=current, problem=problem,
                           channels=offered, channels_off={c: s for c, s in channels_off().items() if c not in offered},
                           severities=list(reversed(SEVERITIES)),
                           time_zones=preferences.time_zones()), status
