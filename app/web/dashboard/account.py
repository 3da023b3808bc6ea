"""The signed-in developer's own account: changing the password, signing out everywhere."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user

from app.extensions import db
from app.accounts import passwords
from app.accounts.developers import AccountError
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, end_session


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    me = actor()
    if request.method == "POST":
        try:
            passwords.change_own_password(me, request.form.get("current_password", ""),
                                          request.form.get("password", ""), request.form.get("confirm", ""))
        except AccountError as exc:
            db.session.rollback()
            flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
            return render_template("dashboard/account_password.html"), 400
        # Every session ended with the old password; this browser goes on in a new one.
        remembered = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")) is not None
        login_user(me, remember=remembered)
        flash("Password changed. Every other browser signed in as you has been signed out.", "ok")
        return redirect(url_for("dashboard.index"), code=303)
    return render_template("dashboard/account_password.html")


@bp.post("/account/sign-out-everywhere")
def sign_out_everywhere():
    end_session("signed out everywhere")
    flash("Signed out in every browser.", "info")
    return redirect(url_for("auth.login"), code=303)
