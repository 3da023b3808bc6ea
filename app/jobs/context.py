"""The app context a task runs in."""
from __future__ import annotations

import contextlib

from flask import Flask, current_app, has_app_context


@contextlib.contextmanager
def task_context(app: Flask):
    """In-line (immediate mode, tests) the caller's context and session go on; in a worker each
    call gets a fresh context: one shared context breaks with several worker threads."""
    if has_app_context() and current_app._get_current_object() is app:
        yield app
        return
    with app.app_context():
        yield app
