"""A PostgreSQL crash under load loses nothing: the test starts a PostgreSQL of its own, posts events
through a live Heartwatch (group commit on, as in production) and crashes the server with
``pg_ctl stop -m immediate`` in the middle, then starts it again.

While it is down, every event is answered from the spool (202), none with a 5xx; once it is back,
the spool is replayed and the stored occurrences are exactly the acknowledged ones, each once."""
from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import ErrorOccurrence
from app.platform.outage import forget_outages
from app.recording import spool
from app.recording.keys import forget_cached_keys
from tests.factories import make_service

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnPostgres:
    """A throwaway PostgreSQL cluster on a port of its own (as the postgres user when run as root:
    initdb refuses root)."""

    def __init__(self, folder: Path):
        self.bin = BINARIES[-1]
        self.folder, self.port = folder, _free_port()
        self.data = folder / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        folder.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, f"{self.bin}/{tool}", *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.folder / "log"), "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off")

    def crash(self) -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate")

    def stop(self) -> None:
        subprocess.run([*self.as_user, f"{self.bin}/pg_ctl", "stop", "-D", str(self.data), "-m", "fast"],
                       capture_output=True, timeout=120)


@pytest.fixture
def own_postgres():
    if not BINARIES or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("PostgreSQL's server binaries (Debian's postgresql package) are not installed")
    # Not under pytest's own temporary folder: as root that is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="heartwatch-postgres-"))
    folder.chmod(0o755)
    server = OwnPostgres(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _post(port: int, key: str, bodies: list[bytes], answers: list, stop: threading.Event) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for body in bodies:
        if stop.is_set():
            break
        try:
            connection.request("POST", "/api/errors/", body, {"Content-Type": "application/json", "X-Api-Key": key})
            response = connection.getresponse()
            answers.append((response.status, json.loads(response.read() or b"{}")))
        except (OSError, http.client.HTTPException) as exc:  # not answered: the client would retry
            answers.append((None, str(exc)))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        time.sleep(0.04)  # 8 senders: about 150 events a second in all
    connection.close()


def test_a_postgresql_crash_under_load_answers_no_5xx_and_stores_every_acknowledged_event(own_postgres, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.setattr(spool, "BACKOFF_SECONDS", 0.5)
    forget_cached_keys()
    forget_outages()
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=own_postgres.url, INGEST_BATCH_MAX=64,
                     INGEST_BATCH_WAIT_MS=2, INGEST_SPOOL_DIR=str(tmp_path / "spool"),
                     SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20,
                                                "connect_args": {"connect_timeout": 2}})
    with app.app_context():
        db.create_all()
        service = make_service()
        key = service.ingest_key
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    senders, answers, stop = 8, [[] for _ in range(8)], threading.Event()
    bodies = [[json.dumps({"error_type": f"CrashError{n % 5}", "message": f"event {s}-{n}",
                           "severity": "medium"}).encode() for n in range(100)] for s in range(senders)]
    threads = [threading.Thread(target=_post, args=(server.port, key, bodies[s], answers[s], stop))
               for s in range(senders)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        own_postgres.crash()
        time.sleep(3.0)
        own_postgres.start()
        for thread in threads:
            thread.join(timeout=120)
        every = [answer for per_sender in answers for answer in per_sender]
        statuses = [status for status, _ in every]
        assert statuses and all(status in (201, 202) for status in statuses), \
            {status: statuses.count(status) for status in set(statuses)}
        acknowledged = [body["occurrence_id"] for _, body in every]
        assert statuses.count(202) >= 10  # the crash was felt: those came from the spool
        with app.app_context():
            deadline = time.monotonic() + 60
            while spool.spool_state(app)["events"] and time.monotonic() < deadline:
                time.sleep(0.2)
            assert spool.spool_state(app)["ok"], spool.spool_state(app)
            stored = list(db.session.execute(select(ErrorOccurrence.id)).scalars())
            db.session.remove()
            db.engine.dispose()
        assert len(stored) == len(set(stored)) == len(acknowledged)
        assert set(stored) == set(acknowledged)
    finally:
        stop.set()
        server.shutdown()
        spool.close_spools()
