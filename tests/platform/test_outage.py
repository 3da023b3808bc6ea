"""A Redis outage under ingest: events go on being accepted, and the log says so once, then at a bounded
rate, and once more when Redis is back (a traceback per event filled 5 MB of log in ten seconds).

Runs against a redis-server of its own on a free port, stopped and started again by the test."""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time

import pytest

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.platform.outage import RETRY_SECONDS, forget_outages
from app.recording import rate_limit
from tests.factories import make_service

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, port: int):
        self.port, self.process = port, None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def redis_server():
    server = RedisServer(free_port())
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_a_redis_outage_is_logged_once_then_counted_and_its_end_once(tmp_path, redis_server, caplog):
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'outage.db'}", REDIS_URL=url,
                     RATE_LIMIT_PER_MINUTE=200)
    rate_limit.reset_local_state()
    forget_outages()
    with app.app_context():
        db.create_all()
        key = make_service("Checkout").ingest_key
        db.session.commit()
    client = app.test_client()

    def post(n: int, start: int) -> list[int]:
        return [client.post("/api/errors/", json={"message": f"boom {start + i}", "error_type": f"E{start + i}"},
                            headers={"X-Api-Key": key}).status_code for i in range(n)]

    assert set(post(3, 0)) == {201}
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="heartwatch"):
        # More than the rate limiter's lease of the window (25 at this limit), so it has to ask Redis.
        assert set(post(40, 100)) == {201}  # nothing valid is refused while Redis is down
    outage = [r for r in caplog.records if "failed;" in r.getMessage()]
    by_what = {r.getMessage().split(" failed;")[0] for r in outage}
    assert by_what == {"the rate limiter's Redis", "publishing to the live feed's Redis"}
    assert len(outage) == 2 and all(r.exc_info for r in outage)  # one traceback per dependency, not 80
    assert not [r for r in caplog.records if "still failing" in r.getMessage()]  # within the minute

    caplog.clear()
    redis_server.start()
    time.sleep(RETRY_SECONDS)  # the callers try Redis again a second after its last failure
    with caplog.at_level(logging.WARNING, logger="heartwatch"):
        assert set(post(2, 200)) == {201}
    back = [r.getMessage() for r in caplog.records if "works again" in r.getMessage()]
    assert len(back) == 2 and all("failures" in m for m in back)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
