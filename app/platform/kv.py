"""Short-lived shared values: counters with an expiry and cached figures.

In Redis when ``REDIS_URL`` is set, so every web process and job sees the same values; in the app's
process memory otherwise (the embedded default runs one web process). Callers name their keys
(``heartwatch:rate:*``, ``heartwatch:login:*``, ``heartwatch:dashboard:*``) and decide what to do when
Redis cannot be reached: the operations here raise, they never guess.
"""
from __future__ import annotations

import threading
import time

from flask import current_app

MEMORY_SWEEP_SIZE = 10000

_clients: dict[str, object] = {}
_stores: dict[str, "RedisStore"] = {}
_client_lock = threading.Lock()


def client(url: str):
    """The one Redis client of this process for ``url`` (it pools its connections)."""
    found = _clients.get(url)
    if found is None:
        import redis

        # Under a lock: two threads building clients at once, one of them dropped, closed each
        # other's connections when it was collected.
        with _client_lock:
            found = _clients.get(url)
            if found is None:
                found = _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return found


# INCRBY and the expiry in one round trip; the expiry is set only when the key has none, so a
# window keeps the end it got with its first count.
_INCR_WITH_EXPIRY = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return count
"""


class RedisStore:
    """The operations on Redis."""

    remote = True

    def __init__(self, url: str):
        self.url = url
        self.client = client(url)
        self._incr = self.client.register_script(_INCR_WITH_EXPIRY)

    def get(self, key: str) -> bytes | None:
        return self.client.get(key)

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self.client.set(key, value, px=max(1, int(ttl * 1000)))

    def incr(self, key: str, amount: int = 1, ttl: float = 60) -> int:
        return int(self._incr(keys=[key], args=[amount, max(1, int(ttl * 1000))]))

    def ttl(self, key: str) -> float | None:
        left = self.client.pttl(key)
        return left / 1000 if left is not None and left >= 0 else None

    def delete(self, *keys: str) -> None:
        if keys:
            self.client.delete(*keys)

    def delete_prefix(self, prefix: str) -> None:
        keys = list(self.client.scan_iter(prefix + "*"))
        if keys:
            self.client.delete(*keys)


class MemoryStore:
    """The same operations on a dict, for one process; expired entries are dropped when read and
    swept when the dict grows large."""

    remote = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, object]] = {}

    def _live(self, key: str, now: float):
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._items[key]
            return None
        return item

    def _put(self, key: str, expires: float, value) -> None:
        self._items[key] = (expires, value)
        if len(self._items) > MEMORY_SWEEP_SIZE:
            now = time.monotonic()
            for stale in [k for k, (ends, _) in self._items.items() if ends <= now]:
                del self._items[stale]

    def get(self, key: str):
        with self._lock:
            item = self._live(key, time.monotonic())
        return item[1] if item is not None else None

    def set(self, key: str, value, ttl: float) -> None:
        with self._lock:
            self._put(key, time.monotonic() + ttl, value)

    def incr(self, key: str, amount: int = 1, ttl: float = 60) -> int:
        now = time.monotonic()
        with self._lock:
            item = self._live(key, now)
            expires, count = item if item is not None else (now + ttl, 0)
            self._put(key, expires, count + amount)
        return count + amount

    def ttl(self, key: str) -> float | None:
        now = time.monotonic()
        with self._lock:
            item = self._live(key, now)
        return item[0] - now if item is not None else None

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k.startswith(prefix)]:
                del self._items[key]


def store() -> RedisStore | MemoryStore:
    """The current app's store: Redis for its ``REDIS_URL``, else its own process memory."""
    app = current_app._get_current_object()  # one context look-up: the rate limiter calls this per event
    url = app.config.get("REDIS_URL")
    if url:
        found = _stores.get(url)
        if found is None:
            built = RedisStore(url)  # ``client`` builds the one client; a spare store would share it
            with _client_lock:
                found = _stores.setdefault(url, built)
        return found
    found = app.extensions.get("heartwatch.kv")
    return found if found is not None else app.extensions.setdefault("heartwatch.kv", MemoryStore())
