"""The ingest benchmark's stores: a fresh database per run, and Heartwatch's own Redis keys cleared."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class Database:
    """A fresh SQLite file or a fresh PostgreSQL database, dropped afterwards unless kept."""

    def __init__(self, kind: str, workdir: Path, server_url: str | None, keep: bool):
        self.kind, self.keep = kind, keep
        if kind == "sqlite":
            self.name = None
            self.url = f"sqlite:///{workdir / 'heartwatch.db'}"
        else:
            parts = urlsplit(server_url)
            self.server_url = server_url
            self.name = f"hw_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self.url = urlunsplit(parts._replace(path="/" + self.name))
            self._admin(f'CREATE DATABASE "{self.name}"')

    def _admin(self, sql: str) -> None:
        import psycopg2

        parts = urlsplit(self.server_url)
        conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                                password=parts.password, dbname=(parts.path or "/postgres").lstrip("/") or "postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    def counts(self) -> dict:
        from sqlalchemy import create_engine, text

        from app.config import normalise_database_url

        engine = create_engine(normalise_database_url(self.url))
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT (SELECT COALESCE(SUM(occurrence_count), 0) FROM error_logs),"
                " (SELECT COUNT(*) FROM error_occurrences), (SELECT COUNT(*) FROM error_logs)")).one()
        engine.dispose()
        return {"sum_occurrence_count": int(row[0]), "occurrences": int(row[1]), "errors": int(row[2])}

    def missing_ids(self, ids: list[str]) -> int:
        from sqlalchemy import bindparam, create_engine, text

        from app.config import normalise_database_url

        engine = create_engine(normalise_database_url(self.url))
        found = 0
        with engine.connect() as conn:
            stmt = text("SELECT COUNT(*) FROM error_occurrences WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True))
            for i in range(0, len(ids), 1000):
                found += conn.execute(stmt, {"ids": ids[i:i + 1000]}).scalar_one()
        engine.dispose()
        return len(set(ids)) - found

    def drop(self) -> None:
        if self.kind == "postgres" and not self.keep:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def clear_redis(url: str | None) -> None:
    """Only Heartwatch's own keys: the rate-limit windows and the job queue of this run."""
    if not url:
        return
    import redis

    client = redis.Redis.from_url(url)
    for pattern in ("heartwatch:rate:*", "huey.*heartwatch*"):
        keys = list(client.scan_iter(pattern))
        if keys:
            client.delete(*keys)
    client.close()
