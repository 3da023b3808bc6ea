"""Sign-in and sign-out for the dashboard, and resetting a forgotten password by e-mail.

Passwords are checked by ``app/accounts/sign_in.py`` (scrypt hashes, a limit on failed attempts);
the session and remember-me cookies are HttpOnly and SameSite=Lax, Secure when Heartwatch is served
over HTTPS (see app/config.py). Both carry the developer's session version
(``app/accounts/sessions.py``): signing out raises it, so the signed-out session ends in every
browser and for every copy of its cookies. Signing in starts a new session, with a new CSRF token.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db, login_manager
from app.accounts import password_reset, sessions, sign_in
from app.accounts.developers import AccountError
from app.web.dashboard.common import end_session, safe_back, start_session

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str):
    # A disabled account, or a cookie made before its sessions were ended, signs no one in.
    return sessions.developer_for_session(user_id)


@bp.context_processor
def _reset_link() -> dict:
    return {"password_reset_available": password_reset.available()}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "POST":
        email = request.form.get("email", "")
        try:
            developer = sign_in.authenticate(email, request.form.get("password", ""), request.remote_addr)
        except sign_in.SignInRefused as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            flash(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.", "error")
            return render_template("auth/login.html", email=email), 429, {"Retry-After": str(exc.retry_after)}
        if developer is not None:
            start_session(developer, remember=bool(request.form.get("remember")))
            return redirect(safe_back(request.args.get("next"), url_for("dashboard.index")), code=303)
        flash("Wrong e-mail or password.", "error")
        return render_template("auth/login.html", email=email), 401
    return render_template("auth/login.html")


@bp.post("/logout")
@login_required
def logout():
    end_session("signed out")
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


# --- a forgotten password --------------------------------------------------------------------------

def _require_reset_available() -> None:
    if not password_reset.available():
        abort(404)


@bp.route("/password-reset", methods=["GET", "POST"])
def request_password_reset():
    _require_reset_available()
    if request.method == "POST":
        base = current_app.config["BASE_URL"]
        password_reset.request_reset(
            request.form.get("email", "")[:254],
            lambda token: base + url_for("auth.reset_password", token=token))
        # The same answer whether or not the address belongs to anyone.
        flash("If that address belongs to a Heartwatch account, a link to reset its password is on its way.",
              "info")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/password_reset_request.html")


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    _require_reset_available()
    if request.method == "POST":
        try:
            password_reset.reset_password(token, request.form.get("password", ""), request.form.get("confirm", ""))
        except AccountError as exc:
            db.session.rollback()
            expired = exc.field == "token"
            flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
            status = 410 if expired else 400
            return render_template("auth/password_reset.html", token=token, expired=expired), status
        flash("Your password was changed. Sign in with the new one.", "ok")
        return redirect(url_for("auth.login"), code=303)
    if password_reset.developer_for_token(token) is None:
        flash("This reset link has expired or was used already.", "error")
        return render_template("auth/password_reset.html", token=token, expired=True), 410
    return render_template("auth/password_reset.html", token=token, expired=False)
