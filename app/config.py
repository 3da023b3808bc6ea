"""Every Heartwatch setting, read from the environment, with the embedded defaults.

Unset means a safe default or the feature is off; README.md lists them all.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile


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
    # While the database cannot be reached, events are kept in a spool on local disk and stored once it
    # is back (docs/operations.md): at most this many bytes per process (0 turns the spool off), in
    # INGEST_SPOOL_DIR (default: the instance folder's spool/).
    INGEST_SPOOL_MAX_BYTES = _int("INGEST_SPOOL_MAX_BYTES", 256 * 1024 * 1024)
    INGEST_SPOOL_DIR = os.environ.get("INGEST_SPOOL_DIR") or None
    # SQLite: how long a write waits for the file's lock before its event goes to the spool.
    SQLITE_BUSY_TIMEOUT_SECONDS = _int("SQLITE_BUSY_TIMEOUT_SECONDS", 10)
    # Prometheus metrics at /metrics (docs/operations.md): off unless METRICS_TOKEN is set, then a scrape
    # sends "Authorization: Bearer <token>". Every process of the instance counts into METRICS_DIR
    # (default: the instance folder's metrics/).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    METRICS_DIR = os.environ.get("METRICS_DIR") or None
    # Severity rules as JSON (see app/ingest/severity.py for the shape); unset: the built-in rules.
    SEVERITY_RULES = os.environ.get("SEVERITY_RULES") or None

    RETENTION_DAYS = _int("RETENTION_DAYS", 90)

    # Source maps (docs/capture.md): the organization slug sentry-cli names (SENTRY_ORG), and the
    # memory each web process may keep parsed maps in.
    UPLOAD_ORG = os.environ.get("HEARTWATCH_ORG", "heartwatch").strip() or "heartwatch"
    SOURCEMAP_CACHE_MB = _int("SOURCEMAP_CACHE_MB", 256)

    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = _int("SMTP_PORT", 25)
    SMTP_USER = os.environ.get("SMTP_USER") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    SMTP_TLS = os.environ.get("SMTP_TLS", "none")
    MAIL_FROM = os.environ.get("MAIL_FROM", "heartwatch@localhost")

    # Notification channels (docs/notifications.md). Each is off while its settings are unset.
    SLACK_WEBHOOK_URL = os.environ.get("SLACK_WEBHOOK_URL") or None
    SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN") or None
    SLACK_CHANNEL = os.environ.get("SLACK_CHANNEL") or None
    SLACK_API_BASE = os.environ.get("SLACK_API_BASE", "https://slack.com/api").rstrip("/")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID") or None
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN") or None
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER") or None
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
    NOTIFY_TIMEOUT_SECONDS = _int("NOTIFY_TIMEOUT_SECONDS", 10)
    # Answers from Slack (buttons, the slash command) and Twilio (SMS replies): docs/oncall.md.
    # Unset signing secret: the Slack endpoints answer 503. Twilio's requests are checked with TWILIO_AUTH_TOKEN.
    SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET") or None
    # How long the one-click links of a notification e-mail work (each works once).
    ACTION_LINK_HOURS = _int("ACTION_LINK_HOURS", 72)
    # A delivery being sent is leased this long; a worker killed mid-send is retried after it.
    NOTIFY_LEASE_SECONDS = _int("NOTIFY_LEASE_SECONDS", 120)
    # Networks (comma-separated CIDRs) that webhook subscriptions and personal Slack webhooks may
    # reach besides public addresses; unset, loopback, private, link-local and reserved addresses
    # are refused (app/notify/channels/guard.py). The settings above are the operator's: never checked.
    OUTBOUND_ALLOWED_NETWORKS = os.environ.get("OUTBOUND_ALLOWED_NETWORKS", "")

    # Defaults of the runtime settings (app/platform/settings.py); the dashboard can change them.
    NOTIFY_RETRY_DELAYS_MINUTES = os.environ.get("NOTIFY_RETRY_DELAYS_MINUTES", "1,4,16")
    SMS_SEVERITIES = os.environ.get("SMS_SEVERITIES", "critical")
    THRESHOLD_ERRORS_PER_HOUR = _int("THRESHOLD_ERRORS_PER_HOUR", 100)
    THRESHOLD_CRITICAL_PER_HOUR = _int("THRESHOLD_CRITICAL_PER_HOUR", 50)
    THRESHOLD_RATE_RISE_PERCENT = _int("THRESHOLD_RATE_RISE_PERCENT", 50)
    THRESHOLD_RATE_MIN_ERRORS = _int("THRESHOLD_RATE_MIN_ERRORS", 20)
    THRESHOLD_ESCALATION_BACKLOG = _int("THRESHOLD_ESCALATION_BACKLOG", 10)
    ALERT_COOLDOWN_MINUTES = _int("ALERT_COOLDOWN_MINUTES", 60)
    ESCALATE_CRITICAL_AFTER_MINUTES = _int("ESCALATE_CRITICAL_AFTER_MINUTES", 60)
    ESCALATE_HIGH_AFTER_MINUTES = _int("ESCALATE_HIGH_AFTER_MINUTES", 240)
    ACK_TIMEOUT_MINUTES = _int("ACK_TIMEOUT_MINUTES", 30)
    INTERVAL_RETRY_NOTIFICATIONS_MINUTES = _int("INTERVAL_RETRY_NOTIFICATIONS_MINUTES", 60)
    INTERVAL_OUTBOX_MINUTES = _int("INTERVAL_OUTBOX_MINUTES", 1)
    INTERVAL_PATTERNS_MINUTES = _int("INTERVAL_PATTERNS_MINUTES", 1440)
    INTERVAL_ESCALATION_MINUTES = _int("INTERVAL_ESCALATION_MINUTES", 15)
    INTERVAL_RETENTION_MINUTES = _int("INTERVAL_RETENTION_MINUTES", 1440)
    INTERVAL_THRESHOLDS_MINUTES = _int("INTERVAL_THRESHOLDS_MINUTES", 15)
    INTERVAL_MIRROR_MINUTES = _int("INTERVAL_MIRROR_MINUTES", 1)
    INTERVAL_HANDOFF_MINUTES = _int("INTERVAL_HANDOFF_MINUTES", 5)
    DAILY_SUMMARY_TIME = os.environ.get("DAILY_SUMMARY_TIME", "08:00")
    RETENTION_RESOLVED_DAYS = _int("RETENTION_RESOLVED_DAYS", RETENTION_DAYS)
    RETENTION_NOTIFICATION_DAYS = _int("RETENTION_NOTIFICATION_DAYS", RETENTION_DAYS)
    # The hourly rollups outlive the events they count (app/recording/retention.py).
    RETENTION_ROLLUP_DAYS = _int("RETENTION_ROLLUP_DAYS", min(3650, 2 * RETENTION_DAYS))
    # Events stored per error past which the budget job thins them (app/recording/budget.py).
    EVENTS_PER_ERROR = _int("EVENTS_PER_ERROR", 10000)
    INTERVAL_EVENT_BUDGET_MINUTES = _int("INTERVAL_EVENT_BUDGET_MINUTES", 60)
    PATTERN_WINDOW_DAYS = _int("PATTERN_WINDOW_DAYS", 30)

    HUEY_IMMEDIATE = _bool("HUEY_IMMEDIATE", False)
    # A running scheduled job's lease, renewed by its heartbeat four times per lease: a worker that
    # dies mid-job holds the job for at most this long.
    JOB_LEASE_SECONDS = _int("JOB_LEASE_SECONDS", 120)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure cookies when Heartwatch is served over HTTPS (a proxy hides the scheme from the app).
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", BASE_URL.startswith("https://"))
    WTF_CSRF_TIME_LIMIT = None
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")

    # Dashboard
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=_int("REMEMBER_COOKIE_DAYS", 14))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Failed sign-ins per e-mail and client address before a pause of LOGIN_LOCKOUT_SECONDS.
    LOGIN_MAX_ATTEMPTS = _int("LOGIN_MAX_ATTEMPTS", 5)
    LOGIN_LOCKOUT_SECONDS = _int("LOGIN_LOCKOUT_SECONDS", 900)
    # Behind a reverse proxy (docs/deploy.md): how many proxies in front set X-Forwarded-For, -Proto
    # and -Host. 0 (direct) trusts none of them; a client could otherwise claim any address.
    PROXY_HOPS = _int("PROXY_HOPS", 0)
    # Overview counters and chart series are this many seconds old at most.
    DASHBOARD_CACHE_SECONDS = _int("DASHBOARD_CACHE_SECONDS", 5)
    # Yesterday's count in the 30-day chart still changes by late events: recounted this often
    # (older days are kept up to a day).
    DASHBOARD_HISTORY_CACHE_SECONDS = _int("DASHBOARD_HISTORY_CACHE_SECONDS", 600)
    # Origins allowed to open the live feed besides the dashboard's own (comma-separated).
    FEED_ALLOWED_ORIGINS = [o.strip().rstrip("/") for o in os.environ.get("FEED_ALLOWED_ORIGINS", "").split(",")
                            if o.strip()]
    # Pings find dead feed connections (a closed laptop) so their threads are freed.
    SOCK_SERVER_OPTIONS = {"ping_interval": 25}


class TestConfig(Config):
    """Settings for the test suite: a database per test, jobs run in-line."""

    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("TEST_DATABASE_URL")) or "sqlite://"
    REDIS_URL = None
    HUEY_IMMEDIATE = True
    WTF_CSRF_ENABLED = False
    INGEST_BATCH_MAX = 0
    # Apps made outside the fixtures spool here, not in the checkout's instance folder.
    INGEST_SPOOL_DIR = os.path.join(tempfile.gettempdir(), f"heartwatch-test-spool-{os.getpid()}")
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    RATE_LIMIT_PER_MINUTE = 100000
    # The local receivers of the tests (tests/receivers.py) listen on loopback: allowed on purpose,
    # as an operator would allow an internal network. tests/notify/test_outbound_guard.py runs without it.
    OUTBOUND_ALLOWED_NETWORKS = "127.0.0.0/8,::1/128"
    ADMIN_EMAIL = None
    ADMIN_PASSWORD = None
