"""The dashboard blueprint, its sign-in guard and template helpers (security headers:
app/web/headers.py).

Every view here requires a signed-in user; forms check the role on the server (a refused action
answers 403 and changes nothing); templates escape everything clients sent.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, get_flashed_messages, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from app.ingest.stacktraces import java_frame_label, platform_family
from app.models.types import utcnow
from app.triage import permissions
from app.web.dashboard.common import is_htmx, login_url
from app.web import error_pages
from app.web.errors import error_response

bp = Blueprint("dashboard", __name__)
PUBLIC_ENDPOINTS = {"dashboard.health"}
# What a developer who must first replace a generated password can still reach.
BEFORE_NEW_PASSWORD = PUBLIC_ENDPOINTS | {"dashboard.change_password", "dashboard.sign_out_everywhere"}


@bp.before_request
def require_sign_in():
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if is_htmx():
        return error_response(401, "sign in first", headers={"HX-Redirect": login_url()})
    if error_pages.wants_json():
        return error_response(401, "sign in first")
    return redirect(login_url())


@bp.before_request
def require_own_password():
    """A generated first password is changed before anything else (the API's tokens are not held up)."""
    if request.endpoint in BEFORE_NEW_PASSWORD or not current_user.is_authenticated \
            or not current_user.must_change_password:
        return None
    target = url_for("dashboard.change_password")
    if is_htmx():
        return error_response(403, "choose a new password first", headers={"HX-Redirect": target})
    if error_pages.wants_json():
        return error_response(403, "choose a new password first")
    return redirect(target)


@bp.before_request
def refuse_nul_bytes():
    # No form or filter needs a NUL byte, and PostgreSQL refuses one in any parameter: a clear 400
    # here instead of a failed query later.
    for values in (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            abort(400, description="Text must not contain NUL characters.")
    return None


@bp.after_request
def after(response):
    # HTMX swaps only its target: messages flashed by the action travel out of band to the flash bar.
    if is_htmx() and response.mimetype == "text/html" and not response.direct_passthrough \
            and "HX-Redirect" not in response.headers:
        messages = get_flashed_messages(with_categories=True)
        if messages:
            response.set_data(response.get_data() + render_template("partials/_flash.html", messages=messages,
                                                                    oob=True).encode())
    return response


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return error_pages.answer(exc)


# --- template helpers ----------------------------------------------------------------------------

@bp.app_context_processor
def _permissions() -> dict:
    # Templates show only the forms the services will accept, by asking the same rules.
    return {"permissions": permissions}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@bp.app_template_filter("ago")
def ago(value: dt.datetime | str | None) -> str:
    """'3 min ago', '2 h ago', '5 d ago'."""
    if value is None:
        return "never"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    seconds = (utcnow() - _aware(value)).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = "just now" if not future else "in under a minute"
        return text
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = int(seconds // size)
            return f"in {amount} {unit}" if future else f"{amount} {unit} ago"
    return "just now"


def _moment(value) -> dt.datetime | None:
    """A datetime from what clients send for a time: a datetime, ISO 8601 text, or Unix seconds (as
    Sentry's breadcrumbs have them); None when it is none of these."""
    if isinstance(value, dt.datetime):
        return _aware(value)
    if isinstance(value, str):
        try:
            return _aware(dt.datetime.fromisoformat(value.strip()))
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None


@bp.app_template_filter("when")
def when(value) -> str:
    """The time as the dashboard shows every time (UTC); text that is no time is shown as it came."""
    if value is None or value == "":
        return "—"
    moment = _moment(value)
    if moment is None:
        return str(value)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("iso")
def iso(value) -> str:
    moment = _moment(value) if value not in (None, "") else None
    return moment.isoformat() if moment else ""


@bp.app_template_filter("short_id")
def short_id(value) -> str:
    """The first eight characters of a UUID, as an error or event is named where space is short."""
    return str(value or "")[:8]


@bp.app_template_filter("firstline")
def firstline(value: str | None, limit: int = 300) -> str:
    text = (value or "").strip().splitlines()[0] if (value or "").strip() else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@bp.app_template_filter("pretty_json")
def pretty_json(value) -> str:
    import json

    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@bp.app_template_global("is_scalar")
def is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


bp.add_app_template_global(platform_family, "platform_family")
bp.add_app_template_global(java_frame_label, "java_frame_label")
