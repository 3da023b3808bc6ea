"""A service as its SDKs report on themselves: what they dropped before sending (client reports)."""
from __future__ import annotations

from flask import render_template

from app.extensions import db
from app.models import Service
from app.reports import discards
from app.web.dashboard.base import bp
from app.web.dashboard.common import refuse

DAYS = 30


@bp.get("/services/<int:service_id>/discarded")
def service_discarded(service_id: int):
    service = db.session.get(Service, service_id) if service_id < 2**31 else None
    if service is None:
        refuse(f"No service with id {service_id}.", 404)
    return render_template("dashboard/service_discarded.html", service=service,
                           discarded=discards.client_discarded(service.id, DAYS))
