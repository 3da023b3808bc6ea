"""The MongoDB mirror job (only scheduled when MONGO_URL is set; see app/platform/mirror.py).

A run that cannot reach MongoDB fails and keeps nothing, so the next run (a minute later by
default) mirrors the same span again: an outage delays the mirror and loses nothing.
"""
from __future__ import annotations

from app.jobs.scheduled import TASKS, _task


def _mirror() -> dict:
    from app.platform.mirror import mirror_changes

    return mirror_changes()


mirror_to_mongodb = _task("mirror_to_mongodb", _mirror)
TASKS["mirror_to_mongodb"] = mirror_to_mongodb
