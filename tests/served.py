"""Heartwatch's web served exactly as the Procfile starts it, for tests that need real gunicorn processes."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("Procfile has no web process")


class Served:
    """gunicorn started exactly as the Procfile says, in its own process group, on a port it binds
    itself (PORT=0; the port is read from its log, so no other server can take it first)."""

    def __init__(self, tmp_path: Path, database_url: str, *, workers: int, redis_url: str | None,
                 settings: dict | None = None):
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_URL")}
        env.update({
            "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}", "PORT": "0",
            "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers), "WEB_THREADS": "8",
            "DATABASE_URL": database_url, "HEARTWATCH_INSTANCE_PATH": str(tmp_path / "instance"),
            # The port is not known yet; the feed's Origin check goes by the Host header anyway.
            "SECRET_KEY": "procfile-test", "HEARTWATCH_BASE_URL": "http://127.0.0.1", "LOG_LEVEL": "WARNING",
        })
        if redis_url:
            env["REDIS_URL"] = redis_url
        env.update(settings or {})
        self.log_path = tmp_path / f"gunicorn-{workers}.log"
        log_path = self.log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(["bash", "-c", "exec " + procfile_web_command()], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log_path.read_text()
            if self.base is None:
                listening = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text())
                self.base = listening and listening.group(1)
            try:
                if self.base and requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # still importing the app
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError("gunicorn did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
