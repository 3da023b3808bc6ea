"""The few expressions that PostgreSQL and SQLite spell differently."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db


def dialect() -> str:
    return db.engine.dialect.name


def driver_execute(conn, statement: str, params) -> None:
    """Run a batch's statement on the transaction's own DBAPI cursor: PostgreSQL once with ``params``
    (arrays to unnest), SQLite once per row of ``params`` (executemany). The hot path's upserts go
    this way: Connection.execute's per-statement work cost as much as their rows (docs/PERFORMANCE.md).
    The driver's errors are wrapped as SQLAlchemy's would be, so that a lost database still spools the
    batch and a deadlock is still retried (app/recording/record.py)."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute(statement, params)
        else:
            cursor.executemany(statement, params)
    except dbapi.Error as exc:
        raise sa_exc.DBAPIError.instance(statement, params, exc, dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def sqlite_time(moment: dt.datetime) -> str:
    """A time as SQLAlchemy's DateTime stores it on SQLite (UTC, naive, with microseconds), for
    statements that bypass its bind processing, so comparisons with stored times hold."""
    if moment.tzinfo is not None:
        moment = (moment.astimezone(dt.timezone.utc) if moment.utcoffset() else moment).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")


def database_now() -> dt.datetime:
    """The database's clock (UTC), the one error_logs.updated_at is kept by (app/models/triggers.py)."""
    if dialect() == "postgresql":
        return db.session.execute(select(func.now())).scalar_one().astimezone(dt.timezone.utc)
    stamp = db.session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.timezone.utc)


def dialect_insert():
    """The INSERT construct of the database in use (both have ON CONFLICT DO NOTHING / DO UPDATE)."""
    return pg_insert if dialect() == "postgresql" else sqlite_insert


def seconds_between(later, earlier):
    if dialect() == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * literal_column("86400.0")


def contains_ci(column, text: str):
    """Case-insensitive substring match, with LIKE wildcards in the text taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def pg_array_text(values) -> str:
    """A PostgreSQL array literal of strings (``{"a","b\\"c"}``), to bind as one text parameter and cast
    (``%s::varchar[]``). psycopg2 sends a Python list as ``ARRAY['a', 'b']``, an expression per element
    that the server parses and the driver quotes one by one: for a batch's few hundred values that was a
    fifth of the statement's cost on the server and most of it in the driver (docs/PERFORMANCE.md)."""
    return "{" + ",".join(_array_element(value) for value in values) + "}"


def _array_element(value: str) -> str:
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value + '"'



def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or cannot answer now (down, restarting,
    a dropped connection, no pool connection in time, SQLite locked past its timeout), as opposed to
    refusing what was sent: the ingest spools the first kind (app/recording/spool.py)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError, TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
