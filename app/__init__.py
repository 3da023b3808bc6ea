"""Heartwatch: self-hosted error logging, alerting and on-call."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.config import Config
from app.extensions import csrf, db, login_manager, migrate, sock

INSTANCE_PATH = Path(os.environ.get("HEARTWATCH_INSTANCE_PATH") or Path(__file__).resolve().parents[1] / "instance")


def create_app(config_class: type = Config, **overrides) -> Flask:
    """Build a Heartwatch app: settings, extensions, blueprints and CLI commands."""
    app = Flask(__name__, instance_path=str(INSTANCE_PATH))
    app.config.from_object(config_class)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_logging(app)
    _fill_instance_defaults(app)
    _check_settings(app)

    if app.config.get("PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parents[1] / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    sock.init_app(app)

    from app import models  # noqa: F401  (registers every table with the metadata)
    from app.jobs import build_queue
    from app.platform import feed, hooks, metrics
    from app.web import (actions, api, api_chains, api_error_details, api_schedules, auth, dashboard, error_pages,
                         headers, health, inbound, sessions, sourcemaps)
    from app.web import feed as live_feed
    from app.web.ingest import sentry, webhooks
    from app.web.ingest.common import count_ingest_answers

    # The live feed hears of an error event before the workers are handed it.
    hooks.register(app, "error_event", feed.publish_error_event)
    build_queue(app)

    headers.register(app)
    metrics.start(app)
    if metrics.enabled() and app.config.get("METRICS_TOKEN"):
        count_ingest_answers(app)
    # Machines post to these with keys, tokens or signatures, not browser sessions: CSRF tokens do not
    # apply, and no cookie session is opened or saved for them (app/web/sessions.py).
    machines = ((api.bp, "/api"), (api_schedules.bp, "/api"), (api_chains.bp, "/api"), (api_error_details.bp, "/api"),
                (sentry.bp, "/api"), (sourcemaps.bp, "/api"),
                (webhooks.bp, "/webhook"),
                (inbound.bp, "/webhook"))
    for blueprint, prefix in machines:
        app.register_blueprint(blueprint, url_prefix=prefix)
        csrf.exempt(blueprint)
    sessions.register(app, sorted({prefix for _, prefix in machines}))
    # The one-click links' token is their requests' authority: no CSRF token applies.
    app.register_blueprint(actions.bp)
    csrf.exempt(actions.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(live_feed.bp, url_prefix="/feed")
    error_pages.register(app)

    from app.cli import register_commands

    register_commands(app)
    return app


def _configure_logging(app: Flask) -> None:
    from app.platform import logs

    try:
        logs.configure(app)
    except logs.LogFormatInvalid as exc:
        raise SettingsInvalid(str(exc)) from None


class SettingsInvalid(RuntimeError):
    """A setting Heartwatch cannot start with; the message names it and what it may be."""


def _check_settings(app: Flask) -> None:
    """Fail at start, with the setting's name, rather than on the first event, page or job tick.

    The runtime settings' defaults come from the environment: each is checked by the rule the
    settings page applies (``app.platform.settings.parse_value``)."""
    from app.ingest.severity import load_rules
    from app.notify.channels.guard import parse_networks
    from app.platform.settings import TUNABLES, SettingError, parse_value

    load_rules(app.config.get("SEVERITY_RULES"))
    if not 0 <= (app.config.get("PROXY_HOPS") or 0) <= 10:
        raise SettingsInvalid(f"setting PROXY_HOPS is {app.config['PROXY_HOPS']!r}: must be between 0 and 10")
    try:
        parse_networks(app.config.get("OUTBOUND_ALLOWED_NETWORKS"))
    except ValueError as exc:
        raise SettingsInvalid(str(exc)) from None
    for tunable in TUNABLES:
        value = app.config.get(tunable.config_name)
        try:
            parse_value(tunable, value)
        except SettingError as exc:
            raise SettingsInvalid(f"setting {tunable.config_name} is {value!r}: {exc.message}") from None


def _fill_instance_defaults(app: Flask) -> None:
    """The embedded defaults: SQLite in the instance folder, a secret key generated once and kept."""
    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'heartwatch.db'}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        # A worker's write must not make a web write fail at once: wait for the lock instead.
        # Past the timeout an event goes to the ingest spool (app/recording/spool.py) rather than wait on.
        options.setdefault("connect_args", {"timeout": app.config.get("SQLITE_BUSY_TIMEOUT_SECONDS", 10),
                                            "check_same_thread": False})
    else:
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 20)
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config.get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets readers work while a writer commits; SQLite enforces foreign keys only when asked."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
