"""Prometheus metrics and JSON logs with the Procfile's own web command: two gunicorn processes and a
worker process count into one folder, and a scrape of either web process sees the sum; every log
line is one JSON object, and the access line carries the id the answer carried."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

from app.extensions import db
from tests.factories import make_developer, make_service
from tests.served import ROOT, Served

pytestmark = pytest.mark.integration

TOKEN = "scrape-me-0123456789"


def _database_url() -> str:
    return str(db.engine.url.render_as_string(hide_password=False))


def _scrape(base: str) -> str:
    answer = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"},
                          timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    return answer.text


def _value(text: str, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly these labels (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return 0.0


@pytest.fixture
def served(app, tmp_path):
    service = make_service("Metered API", platform="python")
    limited = make_service("Throttled API", platform="python")
    limited.rate_limit_per_minute = 1
    make_developer("Mo Metrics", email="mo@example.test", role="lead", services=[service], on_call=True)
    db.session.commit()
    web = Served(tmp_path, _database_url(), workers=2, redis_url=os.environ.get("REDIS_URL"),
                 settings={"METRICS_TOKEN": TOKEN, "LOG_FORMAT": "json", "WEB_ACCESS_LOG": "-",
                           "LOG_LEVEL": "INFO", "RATE_LIMIT_PER_MINUTE": "6000"})
    yield web, service, limited
    web.stop()


def test_metrics_count_every_process_and_answer_only_with_the_token(served, tmp_path):
    web, service, limited = served
    assert requests.get(f"{web.base}/metrics", timeout=10).status_code == 401
    assert requests.get(f"{web.base}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    for n in range(6):  # a new connection each time: both processes take some
        answer = requests.post(f"{web.base}/api/errors/", json={"error_type": "MeteredError", "message": f"n{n}",
                                                                "severity": "critical"},
                               headers={"X-Api-Key": service.ingest_key, "Connection": "close"}, timeout=10)
        assert answer.status_code == 201, answer.text
    refused = requests.post(f"{web.base}/api/errors/", json={"message": "no type"}, timeout=10,
                            headers={"X-Api-Key": service.ingest_key, "Connection": "close"})
    assert refused.status_code == 400
    throttled = [requests.post(f"{web.base}/api/errors/", json={"error_type": "E", "message": "m"}, timeout=10,
                               headers={"X-Api-Key": limited.ingest_key, "Connection": "close"}).status_code
                 for _ in range(3)]
    assert 429 in throttled
    # The worker counts into the same folder: the outbox's drain run as the consumer runs it, one lease
    # (1 s here) after the events, hands the new error off and tries its e-mail, to an SMTP port no
    # server listens on: one attempt, retrying.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    time.sleep(1.5)
    env = {**os.environ, "DATABASE_URL": _database_url(), "HEARTWATCH_INSTANCE_PATH": str(tmp_path / "instance"),
           "METRICS_TOKEN": TOKEN, "SECRET_KEY": "procfile-test", "NOTIFY_LEASE_SECONDS": "1",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(closed_port)}
    env.pop("TEST_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", "from app import create_app\nfrom app.jobs import tasks_of\n"
                    "app = create_app()\ntasks_of(app)['drain_outbox'].call_local()"],
                   cwd=ROOT, env=env, check=True, timeout=120)

    text = _scrape(web.base)
    assert _value(text, "heartwatch_ingest_requests_total", service=service.slug, outcome="accepted") == 6
    assert _value(text, "heartwatch_ingest_requests_total", service=service.slug, outcome="refused") == 1
    assert _value(text, "heartwatch_ingest_requests_total", service=limited.slug, outcome="rate_limited") \
        == throttled.count(429)
    assert _value(text, "heartwatch_ingest_duration_seconds_count") == 6 + 1 + 3
    assert _value(text, "heartwatch_writer_batch_events_sum") == 6 + throttled.count(201)
    assert _value(text, "heartwatch_job_runs_total", job="drain_outbox", status="ok") == 1
    assert _value(text, "heartwatch_notification_attempts_total", channel="email", status="retrying") >= 1
    assert _value(text, "heartwatch_dependency_up", dependency="database") == 1
    assert _value(text, "heartwatch_ready") == 1
    assert "heartwatch_queue_depth" in text and "heartwatch_spool_bytes" in text
    assert _value(text, "heartwatch_spool_events") == 0
    # Both web processes counted (each writes its own file), and a scrape of either sees the sum.
    files = {p.name for p in (tmp_path / "instance" / "metrics").glob("counter_*.db")}
    assert len(files) >= 2, files


def test_json_logs_and_the_access_line_carry_the_request_id(served):
    web, service, _ = served
    answer = requests.post(f"{web.base}/api/errors/", json={"error_type": "LoggedError", "message": "x"},
                           headers={"X-Api-Key": service.ingest_key, "X-Request-ID": "proxy-id-42"}, timeout=10)
    assert answer.headers["X-Request-ID"] == "proxy-id-42"
    made = requests.get(f"{web.base}/healthz", headers={"X-Request-ID": "bad id with spaces"}, timeout=10)
    assert re.fullmatch(r"[0-9a-f]{16}", made.headers["X-Request-ID"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and made.headers["X-Request-ID"] not in web.log_path.read_text():
        time.sleep(0.1)
    lines = [line for line in web.log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r.get("message") == "access"]
    by_id = {r.get("request_id"): r for r in access}
    assert by_id["proxy-id-42"]["path"] == "/api/errors/" and by_id["proxy-id-42"]["status"] == 201
    assert by_id[made.headers["X-Request-ID"]]["path"] == "/healthz"
    assert any("Booting worker" in r["message"] for r in records)
