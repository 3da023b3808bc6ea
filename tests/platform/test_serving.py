"""How the Procfile's web command serves: gunicorn.conf.py's processes, threads and logging, as
gunicorn itself reads them (``--print-config``), and a bad value stopping the start with its name."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.served import ROOT, procfile_web_command

pytestmark = pytest.mark.integration


def gunicorn_config(**settings: str) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "WEB_CONCURRENCY", "WEB_THREADS", "LOG_FORMAT", "WEB_ACCESS_LOG")}
    env.update(settings, PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    done = subprocess.run([*shlex.split(procfile_web_command()), "--print-config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    values = {}
    for line in done.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return done.returncode, values | {"output": done.stdout + done.stderr}


def test_the_procfile_web_line_reads_gunicorn_conf():
    assert shlex.split(procfile_web_command()) == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    status, config = gunicorn_config()
    assert status == 0, config["output"]
    assert config["worker_class"] == "gthread" and config["control_socket_disable"] == "True"
    assert config["accesslog"] == "None" and config["threads"] == "32"


def test_one_process_on_the_embedded_default_and_one_per_core_with_redis():
    assert gunicorn_config()[1]["workers"] == "1"
    assert gunicorn_config(REDIS_URL="redis://127.0.0.1:6379/0")[1]["workers"] == str(os.cpu_count())
    assert gunicorn_config(REDIS_URL="redis://127.0.0.1:6379/0", WEB_CONCURRENCY="3")[1]["workers"] == "3"


def test_json_logs_use_heartwatch_s_gunicorn_logger():
    config = gunicorn_config(LOG_FORMAT="json", WEB_ACCESS_LOG="-")[1]
    assert config["logger_class"] == "app.platform.logs.GunicornLogger" and config["accesslog"] == "-"


@pytest.mark.parametrize("name, value", [("WEB_CONCURRENCY", "0"), ("WEB_THREADS", "many"), ("LOG_FORMAT", "xml")])
def test_a_bad_serving_setting_stops_the_start_naming_it(name, value):
    status, config = gunicorn_config(**{name: value})
    assert status != 0 and f"setting {name} is '{value}'" in config["output"]
