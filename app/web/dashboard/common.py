"""What every dashboard view shares: sign-in, HTMX awareness, refusals, redirects back."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from flask import Response, abort, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.extensions import db
from app.models import Developer, ErrorLog
from app.platform.refusal import Refused
from app.accounts import sessions

# HTMX answers a form with its updated fragment; these statuses carry a fragment too (the form with
# its message), so the page shows why nothing changed (see the htmx-config meta in base.html).
FRAGMENT_ERROR_STATUSES = (400, 403, 409, 422, 429)


def is_htmx() -> bool:
    """A partial request from HTMX (a history restore wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def htmx_target() -> str | None:
    return request.headers.get("HX-Target") if is_htmx() else None


def actor() -> Developer:
    return current_user._get_current_object()


def start_session(developer, remember: bool) -> None:
    """A fresh session for the developer: nothing of the one before it (its CSRF token) survives."""
    session.clear()
    g.pop("csrf_token", None)
    login_user(developer, remember=remember)


def end_session(reason: str) -> None:
    """Sign out here and end every session and remember-me cookie of the signed-in developer."""
    developer = current_user._get_current_object()
    sessions.end_sessions(developer, developer, reason)
    db.session.commit()
    logout_user()
    session.clear()


def refuse(message: str, status: int = 403):
    """Answer with a refusal (403 and nothing changed, unless told otherwise)."""
    abort(status, description=message)


def refuse_because(refusal: Refused):
    """Answer with a domain refusal as the page shows it (a sentence), after undoing what it began."""
    db.session.rollback()
    refuse(refusal.message[:1].upper() + refusal.message[1:] + ".", refusal.status)


def safe_back(target: str | None, default: str) -> str:
    # Same-site paths only: a crafted "next" must not send people elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not urlsplit(target).netloc:
        return target
    return default


def redirect_back(default: str, message: str | None = None, category: str = "ok") -> Response:
    """After a plain form post: flash what happened and go back where the form was."""
    from flask import flash

    if message:
        flash(message, category)
    return redirect(safe_back(request.form.get("next"), default), code=303)


def fragment(template: str, status: int = 200, **context) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


def page_or_fragment(page_template: str, partial_template: str, target: str, **context) -> Response:
    """The whole page, or only the partial when HTMX asked for the element ``target``."""
    chosen = partial_template if htmx_target() == target else page_template
    return fragment(chosen, **context)


_ID = re.compile(r"[0-9A-Fa-f-]{1,36}")
MAX_ID = 2**31 - 1


def looks_like_id(value: str | None) -> bool:
    """Error and occurrence ids are UUIDs (or a client's 32 hex digits): anything else matches nothing,
    and is not sent to the database (PostgreSQL refuses a NUL byte in a parameter)."""
    return bool(value) and _ID.fullmatch(value) is not None


def error_or_404(error_id: str) -> ErrorLog:
    error = db.session.get(ErrorLog, error_id) if looks_like_id(error_id) else None
    if error is None:
        abort(404, description=f"No error with id {error_id[:40]}.")
    return error


def developer_or_404(developer_id: int) -> Developer:
    developer = db.session.get(Developer, developer_id)
    if developer is None:
        abort(404, description=f"No developer with id {developer_id}.")
    return developer


def form_int(name: str, *, required: bool = True) -> int | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        if required:
            abort(400, description=f"'{name}' is required.")
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
        abort(400, description=f"'{name}' must be a whole number.")
    return int(value)


def form_ids(name: str) -> list[int]:
    """The whole numbers of a multi-valued field (checkboxes); anything else is a 400."""
    values = [v.strip() for v in request.form.getlist(name) if v.strip()]
    if any(not (v.isascii() and v.isdigit()) or int(v) > MAX_ID for v in values):
        abort(400, description=f"'{name}' must be whole numbers.")
    return [int(v) for v in values]


def parse_local_datetime(value: str | None, field: str) -> dt.datetime | None:
    """A ``<input type=datetime-local>`` value (taken as UTC), or None when empty."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        abort(400, description=f"'{field}' must be a date and time like 2025-01-31T09:00.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def login_url() -> str:
    return url_for("auth.login", next=request.full_path if request.method == "GET" else None)


def page_arg(name: str = "page") -> int:
    """A page number from the query string; anything odd means the first page."""
    value = request.args.get(name) or ""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 and int(value) > 0 else 1
