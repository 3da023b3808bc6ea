"""error_facets at ingest: what each error's events were seen with, for the search (app/reports/search.py).

Every stored event adds to its error's rows of (key, value): ``environment``, ``release``, ``server``,
``user.id``, ``user.email``, ``user.ip_address``, ``user`` (who the user is: ``id:<id>``, else
``email:<e-mail>``, else ``ip:<address>``), ``browser`` and ``os`` (a Sentry event's contexts: the name and
the version's first part, ``Chrome 120``) and ``t.<tag>`` for each of its tags, with a count and the first
and last time seen. An error's ``users_count`` is its number of ``user`` rows: the same statement that
writes a batch's facets adds the ``user`` rows it inserted to it (PostgreSQL: the upsert's inserted rows,
counted in the statement itself; SQLite: the ``user`` rows go in one multi-row upsert that returns each
row's events, and a row whose events are the batch's own is new), so the error list can sort by users
without counting anything. A batch's facets are summed in a dict first and written by one statement
(PostgreSQL: arrays unnested; SQLite, in process: one executemany), in key order, so that two writers lock
rows in the same order. Rows are plain tuples and the SQL is the driver's: the facets run for every event,
and SQLAlchemy's per-row bind processing would cost more than the rest of this module (docs/PERFORMANCE.md).
Values longer than the column (200) are left out rather than cut: a cut value would match no search.

Migration 0014 fills the table from the stored occurrences by the same rules; tests/recording/test_facets.py
checks that the two agree.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import DBAPIError

from app.platform.sql import pg_array_text

MAX_VALUE = 200  # error_facets.value
MAX_TAG_KEY = 78  # error_facets.key is 80 characters, "t." included
USER_KEYS = (("id", "user.id", "id:"), ("email", "user.email", "email:"), ("ip_address", "user.ip_address", "ip:"))
USER = "user"
CONTEXT_KEYS = ("browser", "os")
SQLITE_USER_ROWS = 5000  # a multi-row upsert's rows: six parameters each, under SQLite's 32,766

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
# The same upsert, whose inserted user rows are added to their errors' users_count in the statement.
UPSERT_POSTGRESQL_USERS = (
    "WITH written AS (" + UPSERT_POSTGRESQL + " RETURNING error_id, key, xmax = 0 AS inserted) "
    "UPDATE error_logs SET users_count = error_logs.users_count + new_users.n FROM (SELECT error_id, count(*) AS n "
    "FROM written WHERE key = 'user' AND inserted GROUP BY error_id) AS new_users "
    "WHERE error_logs.id = new_users.error_id"
)
UTC = dt.timezone.utc


def _context(contexts, name: str) -> str | None:
    context = contexts.get(name)
    if type(context) is not dict:
        return None
    label = context.get("name")
    if not label or type(label) is not str:
        return None
    version = context.get("version")
    if version and type(version) is str:
        label = f"{label} {version.split('.', 1)[0]}"
    return label.replace("\x00", "") if "\x00" in label else label


def collect(into: dict, error_id: str, occurrence: dict, user, tags, extra, timestamp: dt.datetime) -> None:
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
        identity = None
        for name, key, prefix in USER_KEYS:
            value = user.get(name)
            if value is None or value == "" or type(value) is bool or type(value) not in (str, int, float):
                continue
            value = value if type(value) is str else str(value)
            if "\x00" in value:  # as the stored occurrence has it (PostgreSQL refuses NUL)
                value = value.replace("\x00", "")
            if value and identity is None:  # the first of them that is there, whatever its length
                identity = prefix + value
            if value and len(value) <= MAX_VALUE:
                pairs.append((key, value))
        if identity is not None and len(identity) <= MAX_VALUE:
            pairs.append((USER, identity))
    contexts = extra.get("contexts") if extra else None
    if contexts and type(contexts) is dict:
        for name in CONTEXT_KEYS:
            value = _context(contexts, name)
            if value and len(value) <= MAX_VALUE:
                pairs.append((name, value))
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
    """One upsert of a batch's summed facets, on the transaction's own DBAPI connection; on SQLite a batch
    with users has a second (its ``user`` rows) and, when some are new, the users counts' update."""
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
        with_users = any(key[1] == USER for key in keys)
        _execute(conn, UPSERT_POSTGRESQL_USERS if with_users else UPSERT_POSTGRESQL, (
            pg_array_text([key[0] for key in keys]), pg_array_text([key[1] for key in keys]),
            pg_array_text([key[2] for key in keys]), "{" + ",".join([str(e[0]) for e in entries]) + "}",
            "{" + ",".join(firsts) + "}", "{" + ",".join(lasts) + "}"))
        return
    params, users, times = [], [], {}
    for key in keys:
        events, first, last = facets[key]
        # A batch's events share few times (one event: one): each is formatted once.
        first_text = times.get(first) or times.setdefault(first, _sqlite_time(first))
        last_text = first_text if last is first else times.get(last) or times.setdefault(last, _sqlite_time(last))
        (users if key[1] == USER else params).append((*key, events, first_text, last_text))
    if params:
        _execute(conn, UPSERT_SQLITE, params, many=True)
    new_users: dict[str, int] = {}
    for start in range(0, len(users), SQLITE_USER_ROWS):
        chunk = users[start:start + SQLITE_USER_ROWS]
        statement = UPSERT_SQLITE.replace("(?, ?, ?, ?, ?, ?)", ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk)), 1)
        rows = _execute(conn, statement + " RETURNING error_id, value, events",
                        [value for row in chunk for value in row], fetch=True)
        for error_id, value, events in rows:
            if events == facets[(error_id, USER, value)][0]:  # nothing before this batch: a new user
                new_users[error_id] = new_users.get(error_id, 0) + 1
    if new_users:
        _execute(conn, "UPDATE error_logs SET users_count = users_count + ? WHERE id = ?",
                 [(count, error_id) for error_id, count in sorted(new_users.items())], many=True)


def _execute(conn, statement: str, params, *, many: bool = False, fetch: bool = False):
    # The driver's cursor, not Connection.execute: its per-statement work cost as much as the rows
    # (docs/PERFORMANCE.md). Its errors are wrapped as SQLAlchemy's would be, so that a lost database
    # still spools the batch and a deadlock is still retried (app/recording/record.py).
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(statement, params)
        else:
            cursor.execute(statement, params)
        return cursor.fetchall() if fetch else None
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, params, exc, conn.dialect.loaded_dbapi.Error,
                                  dialect=conn.dialect) from exc
    finally:
        cursor.close()


def rebuild(conn, error_ids: list[str]) -> None:
    """The errors' facets and users counts again from their stored events, by the rules of ``collect``
    (an unmerge: app/triage/merge.py); what was counted of events since removed is not kept."""
    from sqlalchemy import delete, select, update

    from app.models import ErrorFacet, ErrorLog, ErrorOccurrence

    conn.execute(delete(ErrorFacet).where(ErrorFacet.error_id.in_(error_ids)))
    conn.execute(update(ErrorLog).where(ErrorLog.id.in_(error_ids)).values(users_count=0))
    o = ErrorOccurrence
    into: dict = {}
    for row in conn.execute(select(o.error_id, o.environment, o.release, o.server_name, o.user, o.tags, o.extra,
                                   o.timestamp).where(o.error_id.in_(error_ids))).all():
        collect(into, row.error_id, {"environment": row.environment, "release": row.release,
                                     "server_name": row.server_name},
                row.user if type(row.user) is dict else None, row.tags if type(row.tags) is dict else None,
                row.extra if type(row.extra) is dict else None, row.timestamp)
    write(conn, into)


def _sqlite_time(moment: dt.datetime) -> str:
    # As SQLAlchemy's DateTime stores it on SQLite (UTC, naive, with microseconds), so comparisons hold.
    if moment.tzinfo is not None:
        moment = (moment.astimezone(UTC) if moment.utcoffset() else moment).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")
