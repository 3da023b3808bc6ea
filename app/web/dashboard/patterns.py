"""Patterns: similar errors across services, with their reach and trend."""
from __future__ import annotations

from flask import render_template

from app.reports import overview as dashboard
from app.reports import errors as queries
from app.web.dashboard.base import bp
from app.web.dashboard.common import page_arg

PER_PAGE = 25


@bp.get("/patterns")
def patterns():
    page = page_arg()
    items, total = queries.paged(queries.patterns_query(), page, PER_PAGE)
    sparklines = dashboard.pattern_sparklines([p.id for p in items])
    return render_template("dashboard/patterns.html", patterns=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), sparklines=sparklines,
                           points=dashboard.sparkline_points)
