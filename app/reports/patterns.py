"""Error patterns: similar errors across services, grouped by error type and normalised message.

The daily analysis reads the errors seen within PATTERN_WINDOW_DAYS, groups them by type and
masked message (``app.ingest.fingerprint.mask_message``: numbers, ids, e-mails and quoted values
masked; the message shown calls addresses ``<ip>``), and for every group of two or more errors writes
one ``error_patterns`` row (upserted by its signature, so reruns and two workers converge): occurrences, affected services, the commonest
endpoints, the severity distribution, first and last occurrence and the trend of the last 24 hours
against the 24 hours before. Each error in a pattern points at it (``error_logs.pattern_id``). The
windows and the severity distribution are counted from the hourly rollups (app/reports/hourly.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.ingest.fingerprint import mask_message
from app.models import MERGED_KIND, ErrorHourlyCount, ErrorLog, ErrorPattern, Service
from app.models.types import utcnow
from app.platform.sql import dialect_insert
from app.reports import hourly

MIN_ERRORS = 2
COMMON_ENDPOINTS = 5
CHUNK = 500


def signature(error_type: str, normalised_message: str) -> str:
    return hashlib.sha256(f"{error_type}\x1f{normalised_message}".encode("utf-8", "replace")).hexdigest()[:64]


def trend(last_24h: int, previous_24h: int) -> tuple[str, float | None]:
    """new (nothing the day before), rising (more than 20% up), falling (more than 20% down), stable."""
    if previous_24h == 0:
        return ("new", None) if last_24h else ("stable", None)
    ratio = last_24h / previous_24h
    if ratio > 1.2:
        return "rising", ratio
    if ratio < 0.8:
        return "falling", ratio
    return "stable", ratio


def analyze_patterns(now: dt.datetime | None = None) -> dict:
    """Build and update the patterns; returns how many groups and errors were found."""
    now = now or utcnow()
    since = now - dt.timedelta(days=int(current_app.config.get("PATTERN_WINDOW_DAYS") or 30))
    slugs = dict(db.session.execute(select(Service.id, Service.slug)).all())
    groups: dict[tuple[str, str], list] = defaultdict(list)
    rows = db.session.execute(
        select(ErrorLog.id, ErrorLog.service_id, ErrorLog.error_type, ErrorLog.message, ErrorLog.endpoint,
               ErrorLog.occurrence_count, ErrorLog.first_seen, ErrorLog.last_seen)
        .where(ErrorLog.last_seen >= since, ErrorLog.kind != MERGED_KIND)  # counted as their target's
        .execution_options(yield_per=2000))
    for row in rows:
        groups[(row.error_type, mask_message(row.message))].append(row)
    groups = {key: members for key, members in groups.items() if len(members) >= MIN_ERRORS}
    error_ids = [m.id for members in groups.values() for m in members]
    windows = _windows(error_ids, now)
    severities = _severities(error_ids, since, now)
    written = 0
    for (error_type, normalised), members in groups.items():
        last = sum(windows.get(m.id, (0, 0))[0] for m in members)
        previous = sum(windows.get(m.id, (0, 0))[1] for m in members)
        direction, ratio = trend(last, previous)
        endpoints = Counter()
        distribution: Counter = Counter()
        for m in members:
            if m.endpoint:
                endpoints[m.endpoint] += m.occurrence_count
            distribution.update(severities.get(m.id, {}))
        values = {
            # The signature keeps the fingerprints' masking, so patterns found before keep their row.
            "error_type": error_type[:255], "normalised_message": mask_message(members[0].message, addresses=True),
            "occurrence_count": sum(m.occurrence_count for m in members), "error_count": len(members),
            "affected_services": sorted({slugs.get(m.service_id, str(m.service_id)) for m in members}),
            "common_endpoints": [e for e, _ in endpoints.most_common(COMMON_ENDPOINTS)],
            "severity_distribution": dict(distribution),
            "first_occurrence": min(m.first_seen for m in members),
            "last_occurrence": max(m.last_seen for m in members),
            "detected_at": now, "trend": direction, "trend_ratio": ratio, "last_24h": last, "previous_24h": previous,
        }
        pattern_id = _upsert(signature(error_type, normalised), values)
        ids = [m.id for m in members]
        for start in range(0, len(ids), CHUNK):
            db.session.execute(update(ErrorLog).where(ErrorLog.id.in_(ids[start:start + CHUNK]))
                               .values(pattern_id=pattern_id).execution_options(synchronize_session=False))
        db.session.commit()
        written += 1
    return {"patterns": written, "errors": len(error_ids)}


def _windows(error_ids: list[str], now: dt.datetime) -> dict[str, tuple[int, int]]:
    """Events per error in the last 24 hours and in the 24 hours before."""
    day, rows = dt.timedelta(hours=24), ErrorHourlyCount
    last, previous = hourly.window_sum(rows, now - day, now, now), hourly.window_sum(rows, now - 2 * day, now - day, now)
    result: dict[str, tuple[int, int]] = {}
    for start in range(0, len(error_ids), CHUNK):
        for error_id, recent, before in db.session.execute(
                select(rows.error_id, last, previous)
                .where(rows.error_id.in_(error_ids[start:start + CHUNK]), hourly.window_where(rows, now - 2 * day, now))
                .group_by(rows.error_id)):
            result[error_id] = (hourly.count(recent), hourly.count(before))
    return result


def _severities(error_ids: list[str], since: dt.datetime, now: dt.datetime) -> dict[str, dict[str, int]]:
    rows = ErrorHourlyCount
    events = hourly.window_sum(rows, since, None, now)
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for start in range(0, len(error_ids), CHUNK):
        for error_id, severity, count in db.session.execute(
                select(rows.error_id, rows.severity, events)
                .where(rows.error_id.in_(error_ids[start:start + CHUNK]), hourly.window_where(rows, since))
                .group_by(rows.error_id, rows.severity)):
            if hourly.count(count):
                result[error_id][severity] = hourly.count(count)
    return result


def _upsert(sig: str, values: dict) -> int:
    stmt = dialect_insert()(ErrorPattern).values(signature=sig, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["signature"], set_=values)
    db.session.execute(stmt)
    return db.session.execute(select(ErrorPattern.id).where(ErrorPattern.signature == sig)).scalar_one()
