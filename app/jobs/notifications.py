"""Jobs that act on recorded errors: the hand-off after commit, and single deliveries.

The domain announces ``error_event`` after an ingest, an assignment, an escalation or a resolution
commits, and ``notification_retry`` when a failed delivery is due again; ``register`` turns both into
tasks. Huey retries the hand-off when the database is briefly unreachable; delivery failures never
raise (each row keeps its own retry schedule), and a task lost with a killed worker, or never
enqueued, is recovered from the outbox by the drain (``drain_outbox``, app/platform/outbox.py).
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import Flask
from huey import Huey

from app.extensions import db
from app.jobs.context import task_context
from app.notify import delivery, slack_answers
from app.platform import hooks

log = logging.getLogger("heartwatch.jobs")


def register(huey: Huey, app: Flask) -> dict:
    @huey.task(retries=3, retry_delay=5, name="handle_error_event")
    def handle_error_event(error_id: str, event: str) -> int:
        """Route, plan and send everything an error event calls for; returns the number of deliveries."""
        with task_context(app):
            try:
                return len(delivery.handle_error_event(error_id, event))
            except Exception:
                db.session.rollback()  # in-line (tests, immediate mode) the caller's session goes on
                raise

    @huey.task(name="deliver_notification")
    def deliver_notification(notification_id: int) -> str | None:
        """Send one delivery whose retry time came (scheduled by the failed attempt before it)."""
        with task_context(app):
            try:
                return delivery.deliver(notification_id)
            except Exception:
                db.session.rollback()
                raise

    @huey.task(retries=2, retry_delay=5, name="post_chat_reply")
    def post_chat_reply(url: str, body: dict) -> bool:
        """Update a Slack message in place (or tell the clicker why not) through its response_url."""
        with task_context(app):
            return slack_answers.post_reply(url, body)

    def hand_off(error_id: str, event: str, **_facts) -> None:
        handle_error_event(error_id, event)

    def schedule_retry(notification_id: int, eta: dt.datetime) -> None:
        # Huey's scheduler works in naive UTC; a second's margin so the row is surely due when it runs.
        at = eta.astimezone(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(seconds=1)
        deliver_notification.schedule((notification_id,), eta=at)

    hooks.register(app, "error_event", hand_off)
    hooks.register(app, "notification_retry", schedule_retry)
    hooks.register(app, "notice_queued", lambda notification_id: deliver_notification(notification_id))
    hooks.register(app, "chat_reply", lambda url, body: post_chat_reply(url, body))
    return {"handle_error_event": handle_error_event, "deliver_notification": deliver_notification,
            "post_chat_reply": post_chat_reply}
