"""Which errors go to people: the one rule routing, notifications, escalation and the recovery sweep ask.

An error of kind ``error`` is an application's failure: it is routed to whoever is on call, notified
and escalated. A ``security`` report (a browser's CSP violation, app/ingest/sources/security.py) is
a finding to review at leisure, never a page: it is recorded and listed on its own (the dashboard's
Security page, ``GET /api/errors/?kind=security``) and nothing else happens; the overview's counters
and live feed, which are about errors to triage, leave it out too, and so do the threshold alerts.
"""
from __future__ import annotations

from app.models import ErrorLog

ROUTED_KINDS = ("error",)


def is_routable(error: ErrorLog) -> bool:
    """Whether the error is routed to on-call, notified and escalated."""
    return (error.kind or "error") in ROUTED_KINDS


def routable_clause():
    """``is_routable`` as a WHERE clause on error_logs."""
    return ErrorLog.kind.in_(ROUTED_KINDS)

