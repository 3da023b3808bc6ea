"""error_facets at ingest: what each error's events were seen with, for the search (app/reports/search.py).

Every stored event adds to its error's rows of (key, value): ``environment``, ``release``, ``server``,
``user.id``, ``user.email``, ``user.ip_address`` and ``t.<tag>`` for each of its tags, with a count and
the first and last time seen. A batch's facets are summed in a dict first and written by one statement
(PostgreSQL: arrays unnested; SQLite, in process: one executemany), in key order, so that two writers lock
rows in the same order. Rows are plain tuples and the SQL is the driver's: the facets run for every event,
and SQLAlchemy's per-row bind processing would cost more than the rest of this module (docs/PERFORMANCE.md).
Values longer than the column (200) are left out rather than cut: a cut value would match no search.

Migration 0014 fills the table from the stored occurrences by the same rules; tests/recording/test_facets.py
checks that the two agree.
"""
from __future__ import annotations

import datetime as dt

from app.platform.sql import driver_execute, pg_array_text, sqlite_time

MAX_VALUE = 200  # error_facets.value
MAX_TAG_KEY = 78  # error_facets.key is 80 characters, "t." included
USER_KEYS = (("id", "user.id"), ("email", "user.email"), ("ip_address", "user.ip_address"))

UPSERT_POSTGRESQL = (
    "INSERT INTO error_facets (error_id, key, value, events, first_seen, last_seen) "
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::int[], %s::timestamptz[], "
    "%s::timestamptz[]) "
    "ON CONFLICT (error_id, key, value) DO UPDATE SET events = error_facets.events + excluded.events, "
    "first_seen = LEAST(error_facets.first_seen, excluded.first_seen), "
    "last_seen = GREATEST(error_facets.last_seen, excluded.last_seen)"
)
UPSERT_SQLITE = (
    "INSERT INTO error_facets (error_id, key, value, events, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (error_id, key, value) DO UPDATE SET events = events + excluded.events, "
    "first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)"
)


def collect(into: dict, error_id: str, occurrence: dict, user, tags, timestamp: dt.datetime) -> None:
    """Add one stored event's facets to ``into``: (error id, key, value) -> [events, first, last]."""
    pairs = []
    value = occurrence["environment"]
    if value:
        pairs.append(("environment", value))
    value = occurrence["release"]
    if value:
        pairs.append(("release", value))
    value = occurrence["server_name"]
    if value and len(value) <= MAX_VALUE:
        pairs.append(("server", value))
    if user:
        for name, key in USER_KEYS:
            value = user.get(name)
            if value is None or value == "" or type(value) is bool or type(value) not in (str, int, float):
                continue
            value = value if type(value) is str else str(value)
            if "\x00" in value:  # as the stored occurrence has it (PostgreSQL refuses NUL)
                value = value.replace("\x00", "")
            if value and len(value) <= MAX_VALUE:
                pairs.append((key, value))
    if tags:
        # parse_tags cuts keys to 64 characters and values to 200; a normaliser's own tags may not be.
        for key, value in tags.items():
            if not value or type(value) is not str:
                continue
            if "\x00" in key or "\x00" in value:
                key, value = key.replace("\x00", ""), value.replace("\x00", "")
            if value and len(key) <= MAX_TAG_KEY and len(value) <= MAX_VALUE:
                pairs.append(("t." + key, value))
    for key, value in pairs:
        entry = into.get((error_id, key, value))
        if entry is None:
            into[(error_id, key, value)] = [1, timestamp, timestamp]
        else:
            entry[0] += 1
            if timestamp < entry[1]:
                entry[1] = timestamp
            elif timestamp > entry[2]:
                entry[2] = timestamp


def write(conn, facets: dict) -> None:
    """One upsert of a batch's summed facets, on the transaction's own DBAPI connection."""
    if not facets:
        return
    keys = sorted(facets)
    if conn.dialect.name == "postgresql":
        # Each column as one array literal (app/platform/sql.py, pg_array_text); a batch's events share
        # few times, each formatted once.
        entries = [facets[key] for key in keys]
        times: dict = {}
        firsts = [times.get(e[1]) or times.setdefault(e[1], e[1].isoformat()) for e in entries]
        lasts = [times.get(e[2]) or times.setdefault(e[2], e[2].isoformat()) for e in entries]
        statement, params = UPSERT_POSTGRESQL, (
            pg_array_text([key[0] for key in keys]), pg_array_text([key[1] for key in keys]),
            pg_array_text([key[2] for key in keys]), "{" + ",".join([str(e[0]) for e in entries]) + "}",
            "{" + ",".join(firsts) + "}", "{" + ",".join(lasts) + "}")
    else:
        statement, params, times = UPSERT_SQLITE, [], {}
        for key in keys:
            events, first, last = facets[key]
            # A batch's events share few times (one event: one): each is formatted once.
            first_text = times.get(first) or times.setdefault(first, sqlite_time(first))
            last_text = first_text if last is first else times.get(last) or times.setdefault(last, sqlite_time(last))
            params.append((*key, events, first_text, last_text))
    driver_execute(conn, statement, params)
