"""After-commit hooks: how the domain says what must happen next without importing the job queue.

The domain announces a committed fact (``after_commit("error_event", error_id=..., event=...)``);
whoever cares registered a handler on the app when it was built: app/jobs registers the hand-off
to the workers, the live feed its publisher. Handlers belong to one app, so two apps in one process
(tests, a worker beside a web app) never share them. An announcement never raises: the change it
reports is committed already, and a queue outage must not turn it into an error answer (an error
event's outbox row was committed with the change, and the worker's drain takes it up:
app/platform/outbox.py).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable

from flask import Flask, current_app

log = logging.getLogger("heartwatch.hooks")
EXTENSION = "heartwatch.hooks"

#: The facts the domain announces, with the keyword arguments each carries.
HOOKS = {
    "error_event": ("error_id", "event", "service_id", "severity", "status"),
    "notification_retry": ("notification_id", "eta"),
    # A delivery recorded by a change in the web (a swap request's e-mail), to send now.
    "notice_queued": ("notification_id",),
    # An answer to Slack (the message updated in place, or a note to whoever clicked) for its response_url.
    "chat_reply": ("url", "body"),
}


def register(app: Flask, name: str, handler: Callable[..., None]) -> None:
    """Call ``handler(**payload)`` whenever ``name`` is announced in this app."""
    if name not in HOOKS:
        raise ValueError(f"unknown hook {name!r}; known: {', '.join(HOOKS)}")
    app.extensions.setdefault(EXTENSION, defaultdict(list))[name].append(handler)


def after_commit(name: str, **payload) -> None:
    """Announce a committed fact to every handler registered on the current app."""
    handlers = current_app.extensions.get(EXTENSION, {}).get(name, ())
    for handler in handlers:
        try:
            handler(**payload)
        except Exception:
            log.exception("after-commit hook %s failed for %s", name, payload)
