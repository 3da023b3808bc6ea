"""The MongoDB mirror job (only scheduled when MONGO_URL is set; see app/platform/mirror.py).

A run that cannot reach MongoDB fails and keeps nothing, so the next run (a minute later by
default) mirrors the same span again: an outage delays the mirror and loses nothing.
"""
from __future__ import annotations

from flask import Flask
from huey import Huey

from app.jobs.scheduled import scheduled_task
from app.platform.mirror import mirror_changes


def register(huey: Huey, app: Flask) -> dict:
    return {"mirror_to_mongodb": scheduled_task(huey, app, "mirror_to_mongodb", mirror_changes)}
