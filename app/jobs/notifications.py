"""Jobs that act on recorded errors."""
from __future__ import annotations

import logging

from app.jobs import huey, task_app_context

log = logging.getLogger("heartwatch.jobs")


@huey.task(retries=3, retry_delay=5)
def handle_error_event(error_id: str, event: str) -> str | None:
    """Run after an error was created, regressed or rose in severity (routing and notification
    hang off this hand-off point)."""
    from app.extensions import db
    from app.models import ErrorLog

    with task_app_context():
        error = db.session.get(ErrorLog, error_id)
        if error is None:
            return None
        log.info("%s: error %s (%s, %s)", event, error.id, error.severity, error.error_type)
        return error.id
