"""Pattern analysis: the same error type and masked message across services becomes one pattern with a trend."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import ErrorLog, ErrorPattern
from app.models.types import utcnow
from app.reports.patterns import analyze_patterns, trend
from tests.factories import make_service
from tests.jobs.events import record_events


def test_similar_errors_across_services_become_one_pattern(app):
    now = utcnow()
    orders, billing, other = make_service("Orders"), make_service("Billing"), make_service("Other")
    record_events(orders, 6, severity="high", error_type="TimeoutError", message="upstream 10.0.0.7 timed out after 3000 ms",
                  endpoint="/orders", at=now - dt.timedelta(hours=2))
    record_events(billing, 2, severity="critical", error_type="TimeoutError",
                  message="upstream 10.0.0.9 timed out after 5000 ms", endpoint="/invoices", at=now - dt.timedelta(hours=30))
    record_events(billing, 1, severity="critical", error_type="TimeoutError",
                  message="upstream 10.0.0.9 timed out after 5000 ms", endpoint="/invoices", at=now - dt.timedelta(hours=1))
    record_events(other, 3, error_type="KeyError", message="'user'")  # alone: no pattern

    assert analyze_patterns(now) == {"patterns": 1, "errors": 2}
    pattern = db.session.execute(select(ErrorPattern)).scalar_one()
    assert pattern.error_type == "TimeoutError" and pattern.normalised_message == "upstream <ip> timed out after <n> ms"
    assert (pattern.occurrence_count, pattern.error_count) == (9, 2)
    assert pattern.affected_services == ["billing", "orders"]
    assert pattern.common_endpoints == ["/orders", "/invoices"]
    assert pattern.severity_distribution == {"high": 6, "critical": 3}
    assert (pattern.last_24h, pattern.previous_24h, pattern.trend) == (7, 2, "rising")
    linked = db.session.execute(select(ErrorLog.error_type, ErrorLog.pattern_id)).all()
    assert sorted((t, p == pattern.id) for t, p in linked) == [("KeyError", False), ("TimeoutError", True),
                                                             ("TimeoutError", True)]

    assert analyze_patterns(now) == {"patterns": 1, "errors": 2}  # a rerun updates, never duplicates
    assert len(db.session.execute(select(ErrorPattern)).all()) == 1


def test_trend_words():
    assert trend(5, 0) == ("new", None)
    assert trend(0, 0) == ("stable", None)
    assert trend(30, 10)[0] == "rising" and trend(5, 10)[0] == "falling" and trend(10, 9)[0] == "stable"
