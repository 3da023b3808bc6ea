"""Sign-in and sign-out for the dashboard.

Passwords are checked by ``app/accounts/sign_in.py`` (scrypt hashes, a limit on failed attempts);
the session and remember-me cookies are HttpOnly and SameSite=Lax, Secure when Heartwatch is served
over HTTPS (see app/config.py).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.extensions import db, login_manager
from app.models import Developer
from app.accounts import sign_in
from app.web.dashboard.base import security_headers
from app.web.dashboard.common import safe_back

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str):
    if not user_id.isdigit():
        return None
    developer = db.session.get(Developer, int(user_id))
    # A disabled account's session and remember-me cookie stop working at once.
    return developer if developer is not None and developer.active else None


@bp.after_request
def _headers(response):
    return security_headers(response)


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
            login_user(developer, remember=bool(request.form.get("remember")))
            return redirect(safe_back(request.args.get("next"), url_for("dashboard.index")), code=303)
        flash("Wrong e-mail or password.", "error")
        return render_template("auth/login.html", email=email), 401
    return render_template("auth/login.html")


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
