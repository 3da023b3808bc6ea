"""The dashboard: server-rendered pages and the HTMX fragments they swap, one module per area.

Every view requires a signed-in user; forms check the role on the server (a refused action answers
403 and changes nothing); templates escape everything clients sent. Importing the area modules
registers their routes on ``bp`` (app/web/dashboard/base.py).
"""
from app.web.dashboard import (  # noqa: F401
    account, chains, developers, error_bulk, error_forms, errors, escalations, notifications, oncall, overview, patterns, services,
    settings, tokens,
)
from app.web.dashboard.base import bp

__all__ = ["bp"]
