"""Releases of a service, newest first (the order Heartwatch first saw them: app/recording/releases.py),
each with the errors first seen in it and those that regressed in it; and an error's own releases.

An error counts as new in the release of its first event that had one (``first_release_id``) and as a
regression of the release whose event reopened it last (``regressed_release_id``): an error that regressed
in several releases is listed under the latest of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import ErrorLog, Release
from app.reports.errors import paged

SAMPLE = 20  # errors listed per release and kind (new, regressed); the counts count them all


@dataclass
class ReleaseRow:
    release: Release
    new_count: int = 0
    new_errors: list[ErrorLog] = field(default_factory=list)
    regression_count: int = 0
    regressions: list[ErrorLog] = field(default_factory=list)


def _counts(column, ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column)).all())


def _sampled(column, ids: list[int], sample: int) -> dict[int, list[ErrorLog]]:
    """At most ``sample`` errors per release (the gravest, then the most recently seen), in one query."""
    rank = func.row_number().over(partition_by=column,
                                  order_by=(ErrorLog.severity_level.desc(), ErrorLog.last_seen.desc(),
                                            ErrorLog.id)).label("place")
    ranked = select(ErrorLog.id.label("id"), rank).where(column.in_(ids)).subquery()
    rows = db.session.execute(
        select(ErrorLog).join(ranked, ranked.c.id == ErrorLog.id).where(ranked.c.place <= sample)
        .order_by(ErrorLog.severity_level.desc(), ErrorLog.last_seen.desc(), ErrorLog.id)
        .options(selectinload(ErrorLog.service), selectinload(ErrorLog.assigned_to))).scalars()
    out: dict[int, list[ErrorLog]] = {}
    for error in rows:
        out.setdefault(getattr(error, column.key), []).append(error)
    return out


def service_releases(service_id: int, page: int = 1, per_page: int = 25,
                     sample: int = SAMPLE) -> tuple[list[ReleaseRow], int]:
    """One page of the service's releases, newest first, with their new errors and regressions."""
    releases, total = paged(select(Release).where(Release.service_id == service_id).order_by(Release.id.desc()),
                            page, per_page)
    ids = [r.id for r in releases]
    if not ids:
        return [], total
    new_counts, regressed_counts = _counts(ErrorLog.first_release_id, ids), _counts(ErrorLog.regressed_release_id, ids)
    new, regressed = (_sampled(ErrorLog.first_release_id, ids, sample),
                      _sampled(ErrorLog.regressed_release_id, ids, sample))
    return [ReleaseRow(r, new_counts.get(r.id, 0), new.get(r.id, []), regressed_counts.get(r.id, 0),
                       regressed.get(r.id, [])) for r in releases], total


@dataclass
class ErrorReleases:
    """An error's first and newest release, and the release it was resolved "in next release" of."""

    first: str | None
    last: str | None
    resolved_in: str | None


def error_releases(error: ErrorLog) -> ErrorReleases:
    ids = {i for i in (error.first_release_id, error.last_release_id, error.resolved_in_release_id) if i}
    versions = dict(db.session.execute(select(Release.id, Release.version).where(Release.id.in_(ids))).all()) \
        if ids else {}
    return ErrorReleases(versions.get(error.first_release_id), versions.get(error.last_release_id),
                         versions.get(error.resolved_in_release_id) if error.status == "resolved" else None)
