"""The live feed: events about errors, fanned out to every open dashboard.

With ``REDIS_URL`` events go through Redis pub/sub, so every web process's websockets see
what any process or job recorded; without it an in-process broadcaster serves the embedded
default (one web process with threads, see the Procfile).
"""
from __future__ import annotations

import logging
import queue
import threading

import orjson
from flask import current_app

from app.platform import kv
from app.platform.outage import OutageLog

log = logging.getLogger("heartwatch.feed")
publish_outage = OutageLog(log, "publishing to the live feed's Redis")
listener_outage = OutageLog(log, "the live feed's Redis listener")
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
_listener_pid: int | None = None
# Set once the listener's SUBSCRIBE is confirmed: a socket opened before that would miss events.
_listener_ready = threading.Event()
LISTENER_READY_WAIT = 2.0


def publish(event: dict) -> None:
    """Send an event to every live dashboard; never raises (the feed is best effort)."""
    url = current_app.config.get("REDIS_URL")
    if url and publish_outage.skip_for_now():
        return
    try:
        if url:
            kv.client(url).publish(channel_for(url), orjson.dumps(event))
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
    global _listener_pid
    import os

    url = current_app.config.get("REDIS_URL")
    if url:
        with _listener_lock:
            if _listener_pid != os.getpid():
                _listener_pid = os.getpid()
                _listener_ready.clear()
                threading.Thread(target=_listen, args=(url,), name="feed-listener", daemon=True).start()
        _listener_ready.wait(LISTENER_READY_WAIT)
    return local.subscribe()


def unsubscribe(q: queue.Queue) -> None:
    local.unsubscribe(q)
