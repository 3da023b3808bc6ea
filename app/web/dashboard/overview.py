"""The overview: live feed, counters, trend charts, top services and top errors."""
from __future__ import annotations

from flask import render_template, request

from app.reports import overview as dashboard
from app.web.dashboard.base import bp
from app.web.dashboard.common import error_or_404, fragment


@bp.get("/")
def index():
    snapshot = dashboard.overview()
    return render_template("dashboard/overview.html", snapshot=snapshot, recent=dashboard.recent_errors(15))


@bp.get("/overview/daily")
def daily():
    """Events per day over 30 days by severity: JSON for the chart (fetched when its tab is shown), or
    a table for reading without JavaScript."""
    series = dashboard.daily()
    wanted = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if wanted == "application/json":
        return series
    return render_template("dashboard/overview_daily.html", series=series)


@bp.get("/overview/counters")
def counters():
    """The counters, and out of band the time they were computed at: the overview refreshes both
    every few seconds."""
    snapshot = dashboard.overview()
    response = fragment("partials/_counters.html", counters=snapshot["counters"])
    response.set_data(response.get_data() + render_template(
        "partials/_figures_as_of.html", computed_at=snapshot["computed_at"], oob=True).encode())
    return response


@bp.get("/overview/feed/<error_id>")
def feed_row(error_id: str):
    """One row of the live feed (the websocket sends the same markup)."""
    return fragment("partials/_feed_item.html", error=error_or_404(error_id), event="error.created")

