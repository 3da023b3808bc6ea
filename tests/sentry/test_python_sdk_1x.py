"""sentry-sdk 1.x, still in many Django and Flask apps: it posts plain events to /store/.

It cannot share a process with 2.x, so it runs in a child Python with the copy that
`make install-dev` puts in .venv/sentry-sdk-1.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.sentry.stored import stored_occurrences

SDK1_PATH = Path(__file__).resolve().parents[2] / ".venv" / "sentry-sdk-1"

APP = textwrap.dedent("""
    import logging, sys
    import sentry_sdk

    class ReportFailed(Exception):
        pass

    def render_report():
        try:
            1 / 0
        except ZeroDivisionError as exc:
            raise ReportFailed("report 7 has no rows") from exc

    sentry_sdk.init(sys.argv[1], release="reports@1.0", environment="staging", debug=True,
                    default_integrations=False)
    print("sdk", sentry_sdk.VERSION)
    sentry_sdk.set_tag("team", "data")
    try:
        render_report()
    except ReportFailed as exc:
        print("exception", sentry_sdk.capture_exception(exc))
    print("message", sentry_sdk.capture_message("report queue is long", level="warning"))
    sentry_sdk.flush(timeout=10)
""")


def test_sentry_sdk_1x_reports_through_store(dsn, service, tmp_path):
    if not (SDK1_PATH / "sentry_sdk").is_dir():
        pytest.skip(f"sentry-sdk 1.x is not installed in {SDK1_PATH} (make install-dev installs it)")
    script = tmp_path / "report_app.py"
    script.write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(SDK1_PATH), "PYTHONNOUSERSITE": "1"}
    # -S keeps the venv's sentry-sdk 2.x off the path: only the 1.x copy is importable.
    run = subprocess.run([sys.executable, "-S", str(script), dsn], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert lines["sdk"] == "1.45.1"
    # The 1.x transport's own log line for a plain event (envelopes log "Sending envelope").
    assert run.stderr.count("Sending event, type:null") == 2, run.stderr
    # No refusal logged (a status as a word: the event ids in the log are hex and may contain "403").
    assert not re.search(r"\b40[03]\b", run.stderr), run.stderr

    by_id = {occurrence.id: occurrence for occurrence in stored_occurrences(service.id)}
    assert len(by_id) == 2
    failed = by_id[str(uuid.UUID(lines["exception"]))]
    assert [e["type"] for e in failed.exceptions] == ["ZeroDivisionError", "ReportFailed"]
    assert failed.message == "report 7 has no rows"
    assert failed.exceptions[-1]["frames"][-1]["function"] == "render_report"
    assert failed.exceptions[-1]["frames"][-1]["in_app"] is True
    assert failed.exceptions[-1]["frames"][-1]["context_line"].strip().startswith("raise ReportFailed")
    assert (failed.severity, failed.release, failed.environment) == ("high", "reports@1.0", "staging")
    assert failed.tags["team"] == "data"
    assert failed.extra["sdk"]["version"] == "1.45.1"
    message = by_id[str(uuid.UUID(lines["message"]))]
    assert (message.message, message.severity) == ("report queue is long", "medium")
