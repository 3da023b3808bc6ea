"""Mail templates come in .html/.txt pairs: both parts show every fact, and only HTML is escaped."""
from __future__ import annotations

from flask import render_template

from app.notify.channels.base import Notice


def sentinel_notice(template: str) -> Notice:
    """A notice whose every value is a distinct marker, so a part that drops one is caught."""
    error = {key: f"<{key}-value>" for key in ("id", "service", "service_name", "severity", "error_type", "message",
                                                "endpoint", "culprit", "status", "environment", "release",
                                                "first_seen", "last_seen", "assignee_name", "url")}
    error["occurrence_count"] = 4242
    details = {
        "error_event": {"summary": "<summary-value>", "frames": ["<frame-one>", "<frame-two>"]},
        "threshold_alert": {
            "measured_at": "<measured-value>", "previous_window": "<previous-value>",
            "breaches": [{"label": "<label-value>", "value": 1234, "threshold": 100, "description": "<why-value>"}],
            "figures": {"errors_last_hour": 1111, "errors_previous_hour": 2222, "critical_last_hour": 3333,
                        "unresolved_escalations": 4444},
            "services": [{"service": "<svc-value>", "count": 5555, "critical": 6666}],
            "errors": [{"title": "<err-title>", "service": "<err-svc>", "count": 7777, "status": "<err-status>",
                        "url": "http://hw.test/errors/err-url"}],
            "actions": ["<action-one>", "<action-two>"],
        },
        "daily_summary": {
            "day": "<day-value>", "timezone": "<tz-value>", "total": 8888, "mttr": "<mttr-value>", "resolved_count": 9999,
            "severities": ["critical", "high"],
            "by_service": [{"service": "<row-svc>", "total": 1212, "by_severity": {"critical": 3434, "high": 5656}}],
            "top_errors": [{"title": "<top-title>", "service": "<top-svc>", "severity": "<top-sev>", "count": 7878,
                            "status": "<top-status>", "url": "http://hw.test/errors/top-url"}],
            "unresolved_critical": [{"title": "<crit-title>", "service": "<crit-svc>", "first_seen": "<crit-since>",
                                     "assignee": "<crit-assignee>", "url": "http://hw.test/errors/crit-url"}],
        },
    }[template]
    return Notice(event="x", key="k", title="<title-value>", headline="<headline-value>", template=template,
                  url="http://hw.test/notice-url", severity="critical", error=error, details=details)


def _values(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)
    else:
        yield str(value)


def _render(app, notice):
    context = {"notice": notice, "error": notice.error, "details": notice.details, "url": notice.url,
               "recipient_name": "<recipient-value>"}
    with app.test_request_context():
        return (render_template(f"notify/{notice.template}.html", **context),
                render_template(f"notify/{notice.template}.txt", **context))


def test_both_parts_of_every_template_show_every_value(app):
    for template in ("error_event", "threshold_alert", "daily_summary"):
        notice = sentinel_notice(template)
        html, text = _render(app, notice)
        expected = [notice.headline, notice.url, *_values(notice.details), "<recipient-value>"]
        if template == "error_event":
            expected += [str(v) for k, v in notice.error.items() if k not in ("id", "url")]
        for value in expected:
            escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if value in ("critical", "high"):
                continue  # column names of the severity table, rendered as headings
            assert value.lower() in text.lower(), f"{template}.txt lacks {value}"
            assert escaped in html, f"{template}.html lacks {value}"
            assert value == escaped or value not in html, f"{template}.html shows {value} unescaped"
