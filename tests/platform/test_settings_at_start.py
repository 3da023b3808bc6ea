"""Settings from the environment are checked when the web and the worker start: a value the
settings page would refuse stops start-up with its name and what it may be, instead of a web
that answers 500 on the settings page and a worker that fails on every tick."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import SettingsInvalid, create_app
from app.config import TestConfig

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(("name", "value", "says"), [
    ("INTERVAL_PATTERNS_MINUTES", 1, "must be between 5 and 10080"),
    ("RETENTION_DAYS", 0, "must be between 1 and 3650"),
    ("THRESHOLD_ERRORS_PER_HOUR", 0, "must be between 1 and 1000000"),
    ("DAILY_SUMMARY_TIME", "25:00", "a time as HH:MM"),
    ("NOTIFY_RETRY_DELAYS_MINUTES", "0,4", "each between 1 minute and 7 days"),
    ("SMS_SEVERITIES", "critical,loud", "unknown severity 'loud'"),
    ("PROXY_HOPS", 11, "must be between 0 and 10"),
])
def test_create_app_refuses_a_setting_the_settings_page_would_refuse(tmp_path, name, value, says):
    with pytest.raises(SettingsInvalid) as refused:
        create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.db'}", **{name: value})
    assert name in str(refused.value)
    assert says in str(refused.value)


def _start(command: list[str], tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "REDIS_URL", "DATABASE_URL")}
    env.update(HEARTWATCH_INSTANCE_PATH=str(tmp_path), PATH=f"{BIN}:{env.get('PATH', '')}", **settings)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [
    ["flask", "--app", "wsgi", "routes"],
    ["huey_consumer", "worker.huey", "--workers", "1"],
], ids=["web", "worker"])
def test_web_and_worker_do_not_start_with_an_out_of_range_setting(tmp_path, command):
    started = _start(command, tmp_path, INTERVAL_PATTERNS_MINUTES="1")
    assert started.returncode != 0
    assert "setting INTERVAL_PATTERNS_MINUTES is 1: must be between 5 and 10080" in started.stderr


def test_the_web_starts_with_settings_in_range(tmp_path):
    started = _start(["flask", "--app", "wsgi", "routes"], tmp_path, INTERVAL_PATTERNS_MINUTES="5")
    assert started.returncode == 0, started.stderr
    assert "/settings/alerts" in started.stdout
