"""A bounded, thread-safe LRU of parsed source maps for this process (and of the answers "nothing
stored", which expire soon so that an upload made after an event's first occurrence is used)."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

MISSING = object()


class MapCache:
    """At most ``max_bytes`` of cached content (an entry counts the bytes it was parsed from) and
    ``max_entries`` entries; the least recently used go first."""

    def __init__(self, max_bytes: int, max_entries: int = 4096):
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        """The cached value (None included), or MISSING."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (entry[2] is not None and entry[2] < time.monotonic()):
                if entry is not None:
                    self._drop(key)
                self.misses += 1
                return MISSING
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key, value, size: int = 0, ttl: float | None = None) -> None:
        if size > self.max_bytes:
            return  # larger than the whole cache: parsed again when next needed
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (value, size, time.monotonic() + ttl if ttl is not None else None)
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                self._drop(next(iter(self._entries)))

    def discard(self, key) -> None:
        with self._lock:
            if key in self._entries:
                self._drop(key)

    def discard_where(self, test) -> None:
        with self._lock:
            for key in [key for key in self._entries if test(key)]:
                self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    @property
    def size(self) -> int:
        return self._bytes

    def _drop(self, key) -> None:
        _, size, _ = self._entries.pop(key)
        self._bytes -= size
