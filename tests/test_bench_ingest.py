"""The ingest benchmark, run small: Heartwatch under gunicorn exactly as the Procfile starts it (group
commit on, as in production), every acknowledged event stored, also when the server is stopped with
SIGTERM while events are coming in."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def errors_in_the_mix() -> int:
    """Every catalogue error through its own source and through the generic webhook: the errors of
    any pool of at least 6 x 51 events (bench/payloads.py puts each of them in its first ones)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import payloads

    return payloads.distinct_errors(payloads.json_pool(6 * len(payloads.CATALOGUE)))


def run_bench(tmp_path: Path, *args: str, mix: str = "json") -> list[dict]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TEST_DATABASE_URL", "DATABASE_URL", "REDIS_URL", "BENCH_DATABASE_URL", "BENCH_REDIS_URL")}
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "ingest.py"), "--db", "sqlite", "--mix", mix,
                           "--json-out", str(out), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


def test_every_acknowledged_event_is_stored_under_gunicorn(tmp_path):
    [result] = run_bench(tmp_path, "--concurrency", "8", "--events", "400", "--warmup", "0.5")
    assert result["acked"] == result["sent"] == 400
    assert result["statuses"] == {} and result["connection_errors"] == 0
    assert result["occurrences"] == result["sum_occurrence_count"] == result["acked_total"]
    assert result["errors"] == errors_in_the_mix() == 102


def test_every_acknowledged_sentry_envelope_is_stored_under_gunicorn(tmp_path):
    [result] = run_bench(tmp_path, "--concurrency", "8", "--events", "300", "--warmup", "0.5", mix="sentry")
    assert result["acked"] == result["sent"] == 300
    assert result["statuses"] == {} and result["connection_errors"] == 0
    assert result["occurrences"] == result["sum_occurrence_count"] == result["acked_total"]


def test_no_acknowledged_event_is_lost_when_the_server_is_stopped_mid_run(tmp_path):
    # The small form: SIGTERM once 100 events are acknowledged, at most 500 sent in all. The full
    # form (posting without end at concurrency 32, SIGTERM 3 s in) is `make bench`'s.
    [result] = run_bench(tmp_path, "--concurrency", "4", "--events", "500", "--warmup", "0", "--sigterm",
                         "--sigterm-at-event", "100")
    assert result["sent"] <= 500
    assert result["acked_ids"] >= 100
    assert result["connection_errors"] > 0  # events were still coming in when the server went away
    assert result["acked_missing"] == 0
    assert result["occurrences"] == result["sum_occurrence_count"] >= result["acked_total"]
    assert result["gunicorn_exit"] == 0
