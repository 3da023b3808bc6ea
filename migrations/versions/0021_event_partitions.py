"""occurrences on PostgreSQL: partitioned by day of received_at, with a DEFAULT partition; SQLite unchanged

The existing table is converted with every row kept: the views, indexes, triggers, owner and grants on
it are read first; it is renamed aside; the partitioned table is made like it, with a partition for
each day its events were received on and for today and the week ahead (app/models/partitions.py) and
the DEFAULT one; the rows are moved; the old table is dropped; then the primary key (id, received_at),
the foreign key, the indexes, the triggers, the views, the owner and the grants are made again. No
table may refer to an occurrence (a partitioned table's primary key holds the partition key): there is
none, and the upgrade stops, naming it, should an operator have made one. The downgrade turns the
table back into a plain one, with every row.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 18:30:00

"""
import datetime as dt

from alembic import op
from sqlalchemy import text

from app.models import partitions

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TABLE = partitions.TABLE
ASIDE = f"{TABLE}_unpartitioned"
PRIMARY_KEY = "pk_error_occurrences"
FOREIGN_KEY = ("fk_error_occurrences_error_id_error_logs",
               "FOREIGN KEY (error_id) REFERENCES error_logs (id) ON DELETE CASCADE")


def _rows(sql: str, **params) -> list:
    return op.get_bind().execute(text(sql), params).all()


def _dependants() -> dict:
    """What must be made again on the new table, read while the old one still has its name."""
    table = {"t": TABLE}
    referring = _rows("SELECT conname, conrelid::regclass::text FROM pg_constraint "
                      "WHERE contype = 'f' AND confrelid = to_regclass(:t)", **table)
    if referring:
        raise RuntimeError(f"{TABLE} cannot be partitioned while other tables refer to its rows: "
                           + ", ".join(f"{name} on {on}" for name, on in referring))
    return {
        # Views reading the table (the reporting view of daily counts), outermost last.
        "views": _rows("SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid), v.relkind, v.oid "
                       "FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
                       "WHERE d.refobjid = to_regclass(:t) AND v.oid <> d.refobjid ORDER BY v.oid", **table),
        "indexes": [row[0] for row in _rows(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = to_regclass(:t) "
            "AND NOT i.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY i.indexrelid", **table)],
        "triggers": [row[0] for row in _rows(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = to_regclass(:t) AND NOT tgisinternal "
            "ORDER BY oid", **table)],
        "owner": _rows("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass(:t)", **table)[0][0],
        "grants": _rows("SELECT privilege_type, grantee FROM information_schema.role_table_grants "
                        "WHERE table_name = :t AND table_schema = current_schema() AND grantee <> grantor", **table),
    }


def _role(name: str) -> str:
    return name if name == "PUBLIC" else '"' + name.replace('"', '""') + '"'


def _set_aside(dependants: dict) -> None:
    for name, _, kind, _ in reversed(dependants["views"]):
        op.execute(f"DROP {'MATERIALIZED VIEW' if kind == 'm' else 'VIEW'} {name}")
    op.execute(f"ALTER TABLE {TABLE} RENAME TO {ASIDE}")


def _finish(dependants: dict, key: str) -> None:
    """The old table goes (its index names with it), then the new one gets its keys, indexes, triggers,
    views, owner and grants."""
    op.execute(f"DROP TABLE {ASIDE}")
    op.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {PRIMARY_KEY} PRIMARY KEY ({key})")
    op.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {FOREIGN_KEY[0]} {FOREIGN_KEY[1]}")
    # A partitioned table's index reads "ON ONLY"; a plain table's is the same without.
    for statement in (*(i.replace(" ON ONLY ", " ON ") for i in dependants["indexes"]), *dependants["triggers"]):
        op.execute(statement)
    for name, definition, kind, _ in dependants["views"]:
        op.execute(f"CREATE {'MATERIALIZED VIEW' if kind == 'm' else 'VIEW'} {name} AS {definition}")
    op.execute(f"ALTER TABLE {TABLE} OWNER TO {_role(dependants['owner'])}")
    for privilege, grantee in dependants["grants"]:
        op.execute(f"GRANT {privilege} ON {TABLE} TO {_role(grantee)}")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or partitions.is_partitioned(bind):
        return
    dependants = _dependants()
    # Every day that has events (one pass of the received_at index), today and the week ahead.
    days = {row[0] for row in _rows(f"SELECT DISTINCT ({partitions.KEY} AT TIME ZONE 'UTC')::date FROM {TABLE}")}
    days.update(partitions.days_ahead(dt.datetime.now(dt.timezone.utc).date()))
    _set_aside(dependants)
    op.execute(f"CREATE TABLE {TABLE} (LIKE {ASIDE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
               f"INCLUDING COMMENTS) PARTITION BY RANGE ({partitions.KEY})")
    op.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF {TABLE} DEFAULT")
    for day in sorted(days):
        partitions.create_day(bind, day, lock_timeout=False)
    # The keys and indexes after the rows: one build per partition instead of an update per row.
    op.execute(f"INSERT INTO {TABLE} SELECT * FROM {ASIDE}")
    _finish(dependants, f"id, {partitions.KEY}")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not partitions.is_partitioned(bind):
        return
    dependants = _dependants()
    _set_aside(dependants)
    op.execute(f"CREATE TABLE {TABLE} (LIKE {ASIDE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
               "INCLUDING COMMENTS)")
    op.execute(f"INSERT INTO {TABLE} SELECT * FROM {ASIDE}")
    _finish(dependants, "id")
