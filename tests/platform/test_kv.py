"""The key-value helper: the same operations on Redis (with REDIS_URL) and in process memory."""
from __future__ import annotations

import threading
import time

import pytest

from app.platform import kv


def test_a_counter_keeps_the_expiry_of_its_first_count(app):
    store = kv.store()
    store.delete("heartwatch:test:count")
    assert store.incr("heartwatch:test:count", 1, 30) == 1
    assert store.incr("heartwatch:test:count", 4, 600) == 5
    assert 0 < store.ttl("heartwatch:test:count") <= 30
    store.delete("heartwatch:test:count")
    assert store.get("heartwatch:test:count") is None and store.ttl("heartwatch:test:count") is None


def test_values_expire_and_prefixes_are_forgotten_together(app):
    store = kv.store()
    store.set("heartwatch:test:a", b"1", 60)
    store.set("heartwatch:test:b", b"2", 60)
    store.set("heartwatch:other", b"3", 60)
    store.delete_prefix("heartwatch:test:")
    assert store.get("heartwatch:test:a") is None and store.get("heartwatch:test:b") is None
    assert store.get("heartwatch:other") == b"3"
    store.delete("heartwatch:other")


def test_values_expire(app):
    store = kv.store()
    store.set("heartwatch:test:short", b"x", 0.05)
    store.incr("heartwatch:test:window", 1, 0.05)
    time.sleep(0.1)
    assert store.get("heartwatch:test:short") is None
    assert store.incr("heartwatch:test:window", 1, 60) == 1  # a new window
    store.delete("heartwatch:test:window")


def test_threads_building_the_client_at_once_share_one(app):
    if not app.config.get("REDIS_URL"):
        pytest.skip("REDIS_URL not set")
    kv._clients.pop(app.config["REDIS_URL"], None)
    built, start = [], threading.Barrier(8)

    def build():
        start.wait()
        built.append(kv.client(app.config["REDIS_URL"]))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in built}) == 1
