"""What the error page shows of its tag breakdowns, affected users and merges, and the error list's bulk
merge (app/web/dashboard/errors.py calls both; the forms are app/web/dashboard/error_forms.py). The rules
are app/reports/tags.py and app/triage/merge.py, which the JSON API calls too."""
from __future__ import annotations

from app.extensions import db
from app.models import ErrorLog
from app.reports import tags
from app.triage import merge
from app.web.dashboard.common import actor


def details_context(error: ErrorLog) -> dict:
    """What the error page shows of these: the breakdowns, the users, where it was merged from or into."""
    return {
        "breakdown": tags.breakdown(error), "affected_users": tags.affected_users(error),
        "merged_from": merge.merged_from(error),
        "merged_into": db.session.get(ErrorLog, error.merged_into_id) if error.merged_into_id else None,
        "tag_label": tags.label,
    }


def merge_selected(chosen: list[ErrorLog]) -> tuple[ErrorLog, list[ErrorLog]]:
    """The list's bulk merge: into the selected error with the most events (the oldest of equals)."""
    target = min(chosen, key=lambda e: (-(e.occurrence_count or 0), e.first_seen, e.id))
    return target, merge.merge_errors(target, [e for e in chosen if e.id != target.id], actor())
