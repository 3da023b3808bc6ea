"""The few expressions that PostgreSQL and SQLite spell differently."""
from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db


def dialect() -> str:
    return db.engine.dialect.name


def dialect_insert():
    """The INSERT construct of the database in use (both have ON CONFLICT DO NOTHING / DO UPDATE)."""
    return pg_insert if dialect() == "postgresql" else sqlite_insert


def hour_bucket(column):
    """The timestamp truncated to the hour, as text 'YYYY-MM-DDTHH:00' on both databases."""
    if dialect() == "postgresql":
        return func.to_char(func.date_trunc("hour", func.timezone("UTC", column)), 'YYYY-MM-DD"T"HH24":00"')
    return func.strftime("%Y-%m-%dT%H:00", column)


def day_bucket(column):
    if dialect() == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


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
