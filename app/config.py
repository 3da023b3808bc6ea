"""Every Heartwatch setting, read from the environment, with the embedded defaults.

Unset means a safe default or the feature is off; README.md lists them all.
"""
from __future__ import annotations

import os


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise RuntimeError(f"setting {name} must be a whole number, got {value!r}") from exc


def normalise_database_url(url: str | None) -> str | None:
    """Accept the URL forms users paste: postgres:// and postgresql:// mean psycopg2."""
    if not url:
        return url
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


class Config:
    """Production and development settings, all from the environment."""

    # Filled in by create_app when unset: they depend on the instance folder.
    SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("DATABASE_URL"))
    SECRET_KEY = os.environ.get("SECRET_KEY")
    REDIS_URL = os.environ.get("REDIS_URL") or None
    MONGO_URL = os.environ.get("MONGO_URL") or None
    MONGO_DB = os.environ.get("MONGO_DB", "heartwatch")

    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    BASE_URL = os.environ.get("HEARTWATCH_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    ADMIN_EMAIL = os.environ.get("ADMIN_EMAIL") or None
    ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD") or None
    TIMEZONE = os.environ.get("HEARTWATCH_TIMEZONE", "UTC")

    # Ingest
    MAX_BODY_BYTES = _int("MAX_BODY_BYTES", 1024 * 1024)
    MAX_RAW_PAYLOAD_BYTES = _int("MAX_RAW_PAYLOAD_BYTES", 65536)
    RATE_LIMIT_PER_MINUTE = _int("RATE_LIMIT_PER_MINUTE", 6000)
    INGEST_KEY_CACHE_SECONDS = _int("INGEST_KEY_CACHE_SECONDS", 30)
    INGEST_KEY_GRACE_HOURS = _int("INGEST_KEY_GRACE_HOURS", 24)
    # Group commit: request threads hand events to one writer per process, which commits a batch
    # every few milliseconds (see docs/PERFORMANCE.md). 0 turns it off (one commit per event).
    INGEST_BATCH_MAX = _int("INGEST_BATCH_MAX", 64)
    INGEST_BATCH_WAIT_MS = _int("INGEST_BATCH_WAIT_MS", 2)
    # Severity rules as JSON (see app/ingest/severity.py for the shape); unset: the built-in rules.
    SEVERITY_RULES = os.environ.get("SEVERITY_RULES") or None

    RETENTION_DAYS = _int("RETENTION_DAYS", 90)

    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = _int("SMTP_PORT", 25)
    SMTP_USER = os.environ.get("SMTP_USER") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    SMTP_TLS = os.environ.get("SMTP_TLS", "none")
    MAIL_FROM = os.environ.get("MAIL_FROM", "heartwatch@localhost")

    HUEY_IMMEDIATE = _bool("HUEY_IMMEDIATE", False)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_TIME_LIMIT = None


class TestConfig(Config):
    """Settings for the test suite: a database per test, jobs run in-line."""

    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("TEST_DATABASE_URL")) or "sqlite://"
    REDIS_URL = None
    HUEY_IMMEDIATE = True
    WTF_CSRF_ENABLED = False
    INGEST_BATCH_MAX = 0
    RATE_LIMIT_PER_MINUTE = 100000
    ADMIN_EMAIL = None
    ADMIN_PASSWORD = None
