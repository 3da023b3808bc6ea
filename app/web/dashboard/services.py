"""A service's pages: its releases (with their new errors and regressions), and what its SDKs dropped before
sending (client reports)."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import Service
from app.reports import discards, releases
from app.web.dashboard.base import bp
from app.web.dashboard.common import page_arg, refuse

DAYS = 30
RELEASES_PER_PAGE = 10


def _service_or_404(service_id: int) -> Service:
    service = db.session.get(Service, service_id) if service_id < 2**31 else None
    if service is None:
        refuse(f"No service with id {service_id}.", 404)
    return service


@bp.get("/releases")
def releases_index():
    """The releases of the first service (the page switches between services)."""
    first = db.session.execute(select(Service).order_by(Service.name).limit(1)).scalar_one_or_none()
    if first is None:
        return render_template("dashboard/releases.html", service=None, services=[], rows=[], total=0, page=1,
                               pages=1)
    return redirect(url_for("dashboard.service_releases", service_id=first.id))


@bp.get("/services/<int:service_id>/releases")
def service_releases(service_id: int):
    service = _service_or_404(service_id)
    page = page_arg()
    rows, total = releases.service_releases(service.id, page, RELEASES_PER_PAGE)
    services = db.session.execute(select(Service).order_by(Service.name)).scalars().all()
    return render_template("dashboard/releases.html", service=service, services=services, rows=rows, total=total,
                           page=page, pages=max(1, -(-total // RELEASES_PER_PAGE)))


@bp.get("/services/<int:service_id>/discarded")
def service_discarded(service_id: int):
    service = _service_or_404(service_id)
    return render_template("dashboard/service_discarded.html", service=service,
                           discarded=discards.client_discarded(service.id, DAYS))
