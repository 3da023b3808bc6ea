"""My tokens: the signed-in developer's personal API tokens, created (shown once) and revoked here."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.accounts import tokens
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, refuse_because


def _page(new_token: str | None = None):
    user = actor()
    body = render_template("dashboard/tokens.html", tokens=tokens.tokens_of(user), new_token=new_token)
    return body, 200, {"Cache-Control": "no-store"}


@bp.route("/tokens", methods=["GET", "POST"])
def my_tokens():
    """The list, and the form that creates a token. A new token is shown in this answer only (no
    redirect, no flash: it must not be kept in the session cookie)."""
    if request.method == "POST":
        try:
            created = tokens.create_api_token(actor(), request.form.get("name") or "dashboard")
        except tokens.TokenError as exc:
            refuse_because(exc)
        return _page(created)
    return _page()


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    user = actor()
    try:
        token = tokens.revoke_token(tokens.token_for(token_id, user), user)
    except tokens.TokenError as exc:
        refuse_because(exc)
    flash(f"Token {token.name} revoked: it no longer opens the API.", "ok")
    return redirect(url_for("dashboard.my_tokens"), code=303)
