"""raven-python 6.10, the client before sentry-sdk, still in older Django apps: it posts to /store/
with the legacy interface names (``sentry.interfaces.Message``) and Python's numeric log levels.

It runs in a child Python with the copy that `make install-dev` puts in .venv/raven-6, so what is
checked is what the real client sends.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.sentry.stored import stored_errors, stored_occurrences

RAVEN_PATH = Path(__file__).resolve().parents[2] / ".venv" / "raven-6"

APP = textwrap.dedent("""
    import sys
    import raven
    from raven import Client
    from raven.transport.http import HTTPTransport

    def parse_quantity(text):
        return int(text)

    client = Client(sys.argv[1], transport=HTTPTransport, release="shop@2.3.0", environment="production",
                    install_sys_hook=False, install_logging_hook=False, raise_send_errors=True)
    print("sdk", raven.VERSION)
    try:
        parse_quantity("three")
    except ValueError:
        print("exception", client.captureException())
    print("message", client.captureMessage("cart %s has no items", params=("c-42",)))
    print("empty", client.capture("raven.events.Message", message="", data={"logger": "a"}))
    print("empty", client.capture("raven.events.Message", message="", data={"logger": "b"}))
""")


def test_raven_python_events_keep_their_exception_frames_and_message(dsn, service, tmp_path):
    if not (RAVEN_PATH / "raven").is_dir():
        pytest.skip(f"raven is not installed in {RAVEN_PATH} (make install-dev installs it)")
    script = tmp_path / "shop_app.py"
    script.write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(RAVEN_PATH), "PYTHONNOUSERSITE": "1"}
    run = subprocess.run([sys.executable, str(script), dsn], env=env, capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = [line.split(" ", 1) for line in run.stdout.splitlines()]
    ids = {}
    for name, value in lines:
        ids.setdefault(name, []).append(value)
    assert ids["sdk"] == ["6.10.0"]

    by_id = {occurrence.id: occurrence for occurrence in stored_occurrences(service.id)}
    assert len(by_id) == 4
    failed = by_id[str(uuid.UUID(ids["exception"][0]))]
    assert failed.exceptions[-1]["type"] == "ValueError"
    assert failed.exceptions[-1]["frames"][-1]["function"] == "parse_quantity"
    assert failed.severity == "high"  # level 40, Python's ERROR
    message = by_id[str(uuid.UUID(ids["message"][0]))]
    assert message.message == "cart 'c-42' has no items"  # raven sends its parameters as repr()
    errors = {e.id: e for e in stored_errors(service.id)}
    assert errors[failed.error_id].error_type == "ValueError"
    # Two events with nothing to group by stay apart, and apart from the message.
    empty = {by_id[str(uuid.UUID(i))].error_id for i in ids["empty"]}
    assert len(empty) == 2 and message.error_id not in empty
