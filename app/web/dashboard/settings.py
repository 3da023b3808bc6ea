"""Settings (admins): services and their keys, snippets, thresholds and intervals, webhooks, users."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.ingest.settings import LIST_FIELDS, lines, stored_settings
from app.models import PLATFORMS, ROLES, WEBHOOK_EVENTS, Developer, ScheduledJob, Service, WebhookSubscription
from app.accounts import developers as accounts
from app.triage import permissions
from app.accounts import team
from app.notify import subscriptions as webhooks_out
from app.platform import settings as runtime
from app.recording.dsn import dsn_for
from app.reports import discards
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, developer_or_404, form_ids, form_int, refuse

WEBHOOK_SOURCES = ("laravel", "java", "frontend", "mobile", "generic")


@bp.before_request
def _admins_only():
    # By path, so every page and form under /settings is covered, whatever its endpoint is called.
    if request.path.startswith("/settings") and not permissions.can_manage_settings(actor()):
        refuse("Settings are for admins.")


def _service_or_404(service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None:
        refuse(f"No service with id {service_id}.", 404)
    return service


@bp.get("/settings")
def settings():
    return redirect(url_for("dashboard.settings_services"))


@bp.route("/settings/services", methods=["GET", "POST"])
def settings_services():
    problem, status = None, 200
    if request.method == "POST":
        lead_id = form_int("lead_id", required=False)
        lead = db.session.get(Developer, lead_id) if lead_id else None
        platform = request.form.get("platform", "other")
        if platform not in PLATFORMS:
            problem, status = accounts.AccountError(f"platform must be one of {', '.join(PLATFORMS)}", "platform"), 400
        else:
            try:
                service = accounts.create_service(request.form.get("name", ""), platform,
                                                  slug=(request.form.get("slug") or "").strip() or None,
                                                  lead=lead, actor=actor())
            except accounts.AccountError as exc:
                db.session.rollback()
                problem, status = exc, 400
            else:
                flash(f"Service {service.name} created. Its DSN and snippets are below.", "ok")
                return redirect(url_for("dashboard.settings_service", service_id=service.id), code=303)
    services = db.session.execute(select(Service).order_by(Service.name)).scalars().all()
    leads = db.session.execute(select(Developer).where(Developer.active.is_(True), Developer.role != "developer")
                               .order_by(Developer.name)).scalars().all()
    return render_template("dashboard/settings_services.html", services=services, leads=leads, platforms=PLATFORMS,
                           problem=problem, form=request.form if problem else None), status


@bp.get("/settings/services/<int:service_id>")
def settings_service(service_id: int):
    return _service_page(_service_or_404(service_id))


def _service_page(service: Service, problem: accounts.AccountError | None = None, form=None):
    base = current_app.config["BASE_URL"]
    settings = stored_settings(service.ingest_settings)
    if form is None:
        form = {"scrub_data": settings.scrub_data,
                **{name: "\n".join(getattr(settings, name)) for name in LIST_FIELDS}}
    return render_template("dashboard/settings_service.html", service=service, dsn=dsn_for(service), base=base,
                           webhook_sources=WEBHOOK_SOURCES, discarded=discards.client_discarded(service.id),
                           ingest_form=form, problem=problem), 400 if problem else 200


@bp.post("/settings/services/<int:service_id>/ingest-settings")
def update_ingest_settings(service_id: int):
    """The settings form: one entry per line; the same rules as the API's (app/ingest/settings.py)."""
    service = _service_or_404(service_id)
    changes = {"scrub_data": request.form.get("scrub_data") == "on",
               **{name: lines(request.form.get(name)) for name in LIST_FIELDS}}
    try:
        accounts.update_ingest_settings(service, changes, actor())
    except accounts.AccountError as exc:
        db.session.rollback()
        form = {"scrub_data": changes["scrub_data"], **{name: request.form.get(name, "") for name in LIST_FIELDS}}
        return _service_page(service, exc, form)
    flash(f"Ingest settings of {service.name} saved; new events follow them.", "ok")
    return redirect(url_for("dashboard.settings_service", service_id=service.id), code=303)


@bp.post("/settings/services/<int:service_id>/rotate-key")
def rotate_service_key(service_id: int):
    service = _service_or_404(service_id)
    hours = current_app.config["INGEST_KEY_GRACE_HOURS"]
    accounts.rotate_ingest_key(service, hours, actor())
    flash(f"New ingest key for {service.name}; the previous one keeps working for {hours} hours.", "ok")
    return redirect(url_for("dashboard.settings_service", service_id=service.id), code=303)


@bp.route("/settings/users", methods=["GET", "POST"])
def settings_users():
    if request.method == "POST":
        try:
            created = team.create_user(
                actor(), name=request.form.get("name", ""), email=request.form.get("email", ""),
                role=request.form.get("role", "developer"), password=request.form.get("password", ""),
                service_ids=form_ids("service_id"))
        except team.TeamError as exc:
            db.session.rollback()
            return _users_page(exc, form=request.form)
        flash(f"{created.name} can now sign in as {created.email}.", "ok")
        return redirect(url_for("dashboard.settings_users"), code=303)
    return _users_page()


def _users_page(problem: team.TeamError | None = None, form=None):
    users = db.session.execute(select(Developer).order_by(Developer.active.desc(), Developer.name)).scalars().all()
    services = db.session.execute(select(Service).order_by(Service.name)).scalars().all()
    return render_template("dashboard/settings_users.html", users=users, roles=ROLES, services=services,
                           problem=problem, form=form), problem.status if problem else 200


@bp.post("/settings/users/<int:developer_id>")
def settings_user_update(developer_id: int):
    """Change a user's role, switch the account on or off, or sign the user out everywhere."""
    developer = developer_or_404(developer_id)
    try:
        if "role" in request.form:
            team.set_role(developer, request.form["role"], actor())
        if "active" in request.form:
            team.set_active(developer, request.form["active"] == "1", actor())
        if "end_sessions" in request.form:
            team.end_sessions_of(developer, actor())
            flash(f"{developer.name} is signed out everywhere.", "ok")
            return redirect(url_for("dashboard.settings_users"), code=303)
    except team.TeamError as exc:
        db.session.rollback()
        return _users_page(exc)
    flash(f"{developer.name} updated.", "ok")
    return redirect(url_for("dashboard.settings_users"), code=303)


# --- thresholds, escalation times, job intervals, retention ------------------------------------

GROUP_TITLES = {"thresholds": "Alert thresholds", "escalation": "Escalation", "intervals": "Scheduled jobs",
                "retention": "Retention", "delivery": "Delivery"}


def _alerts_page(problem=None, status: int = 200):
    groups: dict[str, list[dict]] = {}
    for item in runtime.describe():
        groups.setdefault(item["group"], []).append(item)
    jobs = db.session.execute(select(ScheduledJob).order_by(ScheduledJob.name)).scalars().all()
    return render_template("dashboard/settings_alerts.html", groups=groups, titles=GROUP_TITLES, jobs=jobs,
                           problem=problem), status


@bp.route("/settings/alerts", methods=["GET", "POST"])
def settings_alerts():
    """Alert thresholds, escalation times, job intervals and retention: one setting per form."""
    if request.method == "GET":
        return _alerts_page()
    key = request.form.get("key", "")
    try:
        if request.form.get("reset") == "1":
            runtime.reset_setting(key, actor())
            flash(f"{key.replace('_', ' ')} is back to its default.", "ok")
        else:
            runtime.update_setting(key, request.form.get("value", ""), actor())
            flash(f"{key.replace('_', ' ')} saved.", "ok")
    except runtime.SettingError as exc:
        db.session.rollback()
        return _alerts_page(exc, 400)
    return redirect(url_for("dashboard.settings_alerts") + f"#setting-{key}", code=303)


# --- outbound webhooks -------------------------------------------------------------------------------

def _webhooks_page(problem=None, status: int = 200, secret: tuple | None = None, form=None):
    services = db.session.execute(select(Service).order_by(Service.name)).scalars().all()
    return render_template("dashboard/settings_webhooks.html", subscriptions=webhooks_out.subscriptions(),
                           events=WEBHOOK_EVENTS, services=services, problem=problem, secret=secret,
                           form=form, safe_url=webhooks_out.safe_url), status


def _subscription_or_404(subscription_id: int):
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        refuse(f"No webhook subscription with id {subscription_id}.", 404)
    return subscription


@bp.route("/settings/webhooks", methods=["GET", "POST"])
def settings_webhooks():
    """Custom webhook subscriptions. A new secret is shown once, on this answer (never in a cookie)."""
    if request.method == "GET":
        return _webhooks_page()
    service_id = form_int("service_id", required=False)
    service = _service_or_404(service_id) if service_id else None
    try:
        subscription, secret = webhooks_out.create_subscription(
            request.form.get("name", ""), request.form.get("url", ""), request.form.getlist("events"), actor(),
            secret=request.form.get("secret") or None, service=service)
    except webhooks_out.WebhookError as exc:
        db.session.rollback()
        return _webhooks_page(exc, exc.status, form=request.form)
    flash(f"Webhook {subscription.name} created.", "ok")
    return _webhooks_page(secret=(subscription.id, secret))


@bp.post("/settings/webhooks/<int:subscription_id>")
def settings_webhook_update(subscription_id: int):
    """Switch a subscription on or off, rotate its secret, delete it, or send it a test event."""
    subscription = _subscription_or_404(subscription_id)
    action = request.form.get("action", "")
    try:
        if action in ("enable", "disable"):
            webhooks_out.update_subscription(subscription, actor(), active=action == "enable")
            flash(f"Webhook {subscription.name} {action}d.", "ok")
        elif action == "rotate":
            secret = webhooks_out.rotate_secret(subscription, actor())
            flash(f"New secret for {subscription.name}.", "ok")
            return _webhooks_page(secret=(subscription.id, secret))
        elif action == "delete":
            name = subscription.name
            webhooks_out.delete_subscription(subscription, actor())
            flash(f"Webhook {name} deleted.", "ok")
        elif action == "test":
            outcome = webhooks_out.send_test(subscription, actor())
            flash(f"Test event sent to {subscription.name}: {outcome}.", "ok")
        else:
            refuse("Unknown action.", 400)
    except webhooks_out.WebhookError as exc:
        db.session.rollback()
        return _webhooks_page(exc, exc.status)
    return redirect(url_for("dashboard.settings_webhooks"), code=303)
