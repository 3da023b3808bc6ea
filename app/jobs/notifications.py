"""Jobs that act on recorded errors: the hand-off after commit, and single deliveries.

``handle_error_event`` is what ``app.jobs.enqueue_error_event`` enqueues after an ingest, an
assignment, an escalation or a resolution commits. Huey retries it when the database is briefly
unreachable; delivery failures never raise (each row keeps its own retry schedule), and a task lost
with a killed worker is recovered by the sweep (``retry_failed_notifications``).
"""
from __future__ import annotations

import logging

from app.jobs import huey, task_app_context

log = logging.getLogger("heartwatch.jobs")


@huey.task(retries=3, retry_delay=5)
def handle_error_event(error_id: str, event: str) -> int:
    """Route, plan and send everything an error event calls for; returns the number of deliveries."""
    from app.extensions import db
    from app.notify import notifications

    with task_app_context():
        try:
            return len(notifications.handle_error_event(error_id, event))
        except Exception:
            db.session.rollback()  # in-line (tests, immediate mode) the caller's session goes on
            raise


@huey.task()
def deliver_notification(notification_id: int) -> str | None:
    """Send one delivery whose retry time came (scheduled by the failed attempt before it)."""
    from app.extensions import db
    from app.notify import notifications

    with task_app_context():
        try:
            return notifications.deliver(notification_id)
        except Exception:
            db.session.rollback()
            raise
