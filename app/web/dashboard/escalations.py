"""Escalations: open and past, with level, reason, from and to."""
from __future__ import annotations

from flask import render_template

from app.reports import activity
from app.web.dashboard.base import bp
from app.web.dashboard.common import page_arg

PER_PAGE = 50


@bp.get("/escalations")
def escalations():
    page = page_arg()
    open_items, past, total = activity.escalations_page(page, PER_PAGE)
    return render_template("dashboard/escalations.html", open_items=open_items, past=past, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)))
