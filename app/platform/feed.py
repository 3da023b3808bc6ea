"""The live feed: events about errors, fanned out to every open dashboard.

With ``REDIS_URL`` events go through Redis pub/sub, so every web process's websockets see
what any process or job recorded. On PostgreSQL without Redis they go through the database's
LISTEN/NOTIFY: a trigger announces new, regressed and graver errors as their rows commit
(app/models/triggers.py), and the application notifies the rest itself, so several web processes
share the feed through PostgreSQL alone. On SQLite without Redis an in-process broadcaster serves
the embedded default (one web process with threads).
"""
from __future__ import annotations

import logging
import queue
import threading

import orjson
from flask import current_app

from app.models.triggers import FEED_CHANNEL, TRIGGER_EVENTS
from app.platform import kv
from app.platform.outage import OutageLog

log = logging.getLogger("heartwatch.feed")
publish_outage = OutageLog(log, "publishing to the live feed's Redis")
listener_outage = OutageLog(log, "the live feed's listener")
CHANNEL_PREFIX = "heartwatch:feed"


def channel_for(url: str) -> str:
    """The pub/sub channel of this installation. Channels are shared by every database number of a
    Redis server, so the number (the queue's and keys' home) is part of the name."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path.strip("/")
    return f"{CHANNEL_PREFIX}:{path or '0'}"


class LocalBroadcaster:
    """Subscribers are bounded queues; a slow reader loses old events, never blocks a publisher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[queue.Queue] = set()

    def publish(self, event: dict) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            try:
                q.put_nowait(event)
            except queue.Full:
                pass

    def subscribe(self, maxsize: int = 100) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=maxsize)
        with self._lock:
            self._subscribers.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._subscribers.discard(q)


local = LocalBroadcaster()
_listener_lock = threading.Lock()
_listener_key: tuple | None = None  # (process, transport, where): one listener per process and source
# Set once the listener's SUBSCRIBE is confirmed: a socket opened before that would miss events.
_listener_ready = threading.Event()
LISTENER_READY_WAIT = 2.0


def transport() -> str:
    """How this app's feed crosses processes: ``redis``, ``postgres`` (LISTEN/NOTIFY) or ``local``."""
    if current_app.config.get("REDIS_URL"):
        return "redis"
    from app.extensions import db

    return "postgres" if db.engine.dialect.name == "postgresql" else "local"


def publish(event: dict) -> None:
    """Send an event to every live dashboard; never raises (the feed is best effort)."""
    url = current_app.config.get("REDIS_URL")
    if url and publish_outage.skip_for_now():
        return
    try:
        if url:
            kv.client(url).publish(channel_for(url), orjson.dumps(event))
        elif transport() == "postgres":
            if event.get("type") not in TRIGGER_EVENTS:  # those the trigger announced at their commit
                _notify(event)
        else:
            local.publish(event)
    except Exception:
        publish_outage.failed("open pages miss this event")
        return
    publish_outage.succeeded()


def publish_error_event(*, event: str, error_id: str, service_id: int, severity: str, status: str) -> None:
    """The after-commit hook of an error event: one row of the live feed."""
    publish({"type": event, "error_id": error_id, "service_id": service_id, "severity": severity,
             "status": status})


def _notify(event: dict) -> None:
    from sqlalchemy import text

    from app.extensions import db

    with db.engine.begin() as connection:
        connection.execute(text("SELECT pg_notify(:channel, :payload)"),
                           {"channel": FEED_CHANNEL, "payload": orjson.dumps(event).decode()})


def _listen_postgres(engine) -> None:
    """LISTEN on the feed's channel with a connection of its own, relaying each notification into the
    local broadcaster; reconnects every second while the database is away."""
    import select

    while True:
        connection = None
        try:
            connection = engine.raw_connection()
            connection.detach()  # held for the process's life: not the pool's
            raw = connection.dbapi_connection
            raw.autocommit = True
            with raw.cursor() as cursor:
                cursor.execute(f"LISTEN {FEED_CHANNEL}")
            _listener_ready.set()
            listener_outage.succeeded()
            while True:
                if select.select([raw], [], [], 25.0) == ([], [], []):
                    with raw.cursor() as cursor:  # a quiet minute: make sure the connection still lives
                        cursor.execute("SELECT 1")
                    continue
                raw.poll()
                while raw.notifies:
                    note = raw.notifies.pop(0)
                    try:
                        local.publish(orjson.loads(note.payload))
                    except orjson.JSONDecodeError:
                        continue
        except Exception:
            _listener_ready.clear()
            listener_outage.failed("reconnecting every second")
            if connection is not None:
                try:
                    connection.invalidate()
                except Exception:
                    pass
            threading.Event().wait(1.0)


def _listen(url: str) -> None:
    import redis

    while True:
        try:
            pubsub = redis.Redis.from_url(url).pubsub()
            pubsub.subscribe(channel_for(url))
            for message in pubsub.listen():
                if message["type"] == "subscribe":
                    _listener_ready.set()
                    listener_outage.succeeded()
                    continue
                if message["type"] != "message":
                    continue
                try:
                    local.publish(orjson.loads(message["data"]))
                except orjson.JSONDecodeError:
                    continue
        except Exception:
            _listener_ready.clear()
            listener_outage.failed("reconnecting every second")
            threading.Event().wait(1.0)


def subscribe() -> queue.Queue:
    """A queue of feed events for one websocket. With Redis, one listener thread per process
    relays the channel into the local broadcaster (started here: threads do not survive a fork)."""
    global _listener_key
    import os

    url = current_app.config.get("REDIS_URL")
    kind = transport()
    if kind != "local":
        from app.extensions import db

        key = (os.getpid(), kind, url or db.engine.url.render_as_string(hide_password=True))
        with _listener_lock:
            if _listener_key != key:
                _listener_key = key
                _listener_ready.clear()
                target, args = (_listen, (url,)) if kind == "redis" else (_listen_postgres, (db.engine,))
                threading.Thread(target=target, args=args, name="feed-listener", daemon=True).start()
        _listener_ready.wait(LISTENER_READY_WAIT)
    return local.subscribe()


def unsubscribe(q: queue.Queue) -> None:
    local.unsubscribe(q)
