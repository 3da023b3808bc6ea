"""Releases at ingest: each service's versions numbered in the order Heartwatch first saw them.

The ``releases`` table gets a row the first time a service's events come with a version; its id is that
order, which is what "newer" means to Heartwatch ("resolve in next release": app/triage/changes.py),
whatever the versions' spelling. The writer numbers each batch's events here: ids are looked up in a
process cache, so the common batch (releases this process has seen) costs no statement at all; versions
it has not seen cost one ``SELECT`` for all of the batch's together, and those that are new to the
database one ``INSERT .. ON CONFLICT DO NOTHING .. RETURNING`` more. An error's row keeps its first and newest release, and the release of
its last regression, by id (app/recording/record.py).
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import Release

RELEASES = Release.__table__
MAX_VERSION = 128  # releases.version, as error_occurrences.release
CACHE_SECONDS = 600.0
CACHE_LIMIT = 20000
# (engine, service id, version) -> (release id, expiry on the monotonic clock)
_cache: dict[tuple[int, int, str], tuple[int, float]] = {}
_lock = threading.Lock()
_FIND = select(RELEASES.c.id, RELEASES.c.service_id, RELEASES.c.version).where(
    RELEASES.c.service_id.in_(bindparam("services", expanding=True)),
    RELEASES.c.version.in_(bindparam("versions", expanding=True)))


def forget_cached_releases() -> None:
    """Empty the cache (the tests' fresh databases reuse ids)."""
    with _lock:
        _cache.clear()


def _find(conn, pairs) -> dict[tuple[int, str], int]:
    rows = conn.execute(_FIND, {"services": sorted({s for s, _ in pairs}), "versions": sorted({v for _, v in pairs})})
    wanted = set(pairs)
    return {(s, v): release_id for release_id, s, v in rows if (s, v) in wanted}


def _ids(conn, wanted: dict[tuple[int, str], object]) -> dict[tuple[int, str], int]:
    """Release ids of (service id, version) pairs, inserting the unknown ones with their first moment. Only
    ids read from committed rows are cached: a release this transaction inserts is cached by a later batch,
    so a batch that rolls back leaves no id behind that the table lacks."""
    engine, now = id(conn.engine), time.monotonic()
    found, missing = {}, []
    for pair in wanted:
        cached = _cache.get((engine, *pair))
        if cached is not None and cached[1] > now:
            found[pair] = cached[0]
        else:
            missing.append(pair)
    if not missing:
        return found
    known = _find(conn, missing)
    with _lock:
        if len(_cache) > CACHE_LIMIT:
            _cache.clear()
        for pair, release_id in known.items():
            _cache[(engine, *pair)] = (release_id, now + CACHE_SECONDS)
    found.update(known)
    new = sorted(pair for pair in missing if pair not in known)
    if new:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        inserted = conn.execute(insert(RELEASES).on_conflict_do_nothing(index_elements=["service_id", "version"])
                                .returning(RELEASES.c.id, RELEASES.c.service_id, RELEASES.c.version),
                                [{"service_id": s, "version": v, "first_seen": wanted[(s, v)]} for s, v in new]).all()
        found.update({(s, v): release_id for release_id, s, v in inserted})
        raced = [pair for pair in new if pair not in found]  # another writer inserted it first
        if raced:
            found.update(_find(conn, raced))
    return found


def number(conn, groups: list[list], rows: list[dict]) -> None:
    """Set ``first_release_id`` and ``last_release_id`` of each error row the writer upserts (``rows``),
    from its group of prepared events (``groups``, in step): the oldest and the newest release among them."""
    wanted: dict[tuple[int, str], object] = {}
    for group in groups:
        for p in group:
            version = p.occurrence["release"]
            if version and len(version) <= MAX_VERSION:
                pair = (p.incoming.service_id, version)
                if pair not in wanted or p.timestamp < wanted[pair]:
                    wanted[pair] = p.timestamp
    ids = _ids(conn, wanted) if wanted else {}
    for group, row in zip(groups, rows, strict=True):
        numbers = [ids[key] for key in {(p.incoming.service_id, p.occurrence["release"]) for p in group}
                   if key in ids] if ids else []
        row["first_release_id"] = min(numbers) if numbers else None
        row["last_release_id"] = max(numbers) if numbers else None


def latest_release(service_id: int) -> Release | None:
    """The service's newest release (the last Heartwatch first saw), or None before any."""
    return db.session.execute(select(Release).where(Release.service_id == service_id)
                              .order_by(Release.id.desc()).limit(1)).scalar_one_or_none()
