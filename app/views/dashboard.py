"""The dashboard's pages."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from app.services import queries

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    filters = queries.ErrorFilters(per_page=50)
    errors, total = queries.list_errors(filters)
    return render_template("dashboard/index.html", errors=errors, total=total, stats=queries.error_stats(24))


@bp.get("/healthz")
def health():
    from sqlalchemy import text

    from app.extensions import db

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
