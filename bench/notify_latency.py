"""Notification latency: from the ingest request to the e-mail arriving at a local SMTP server.

Heartwatch runs exactly as the Procfile starts it (gunicorn for the web, ``huey_consumer`` for the
worker) on a fresh database; one service and one on-call developer are created with the CLI. The
benchmark posts N critical errors (each a new error, so each is routed and notified), at a steady
rate, and records for each the time from just before its request to the moment the SMTP server on
loopback (aiosmtpd, in this process: one clock) has the message. It prints p50, p95 and max, checks
that every error produced exactly one e-mail, and writes the figures into the "Notification latency"
section of docs/PERFORMANCE.md (other sections are left as they are).

    .venv/bin/python bench/notify_latency.py                                  # SQLite + SqliteHuey
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/notify_latency.py --db postgres

For PostgreSQL a database of its own is created on that server and dropped afterwards; in Redis only
the job queue named "heartwatch" of the given database number is cleared.
"""
from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
SECTION = "## Notification latency"
STARTUP_TIMEOUT = 60.0
SUBJECT = re.compile(r"BenchError(\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailClock:
    """An SMTP server that notes when each bench error's e-mail arrived."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.arrivals: dict[int, list[float]] = {}
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        match = SUBJECT.search(message["Subject"] or "")
        if match:
            with self.lock:
                self.arrivals.setdefault(int(match.group(1)), []).append(now)
        return "250 OK"

    def stop(self):
        self.controller.stop()


def procfile(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return command.strip()
    raise SystemExit(f"Procfile has no {name}: line")


def flask(env: dict, *args: str) -> str:
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def admin_sql(server_url: str, sql: str) -> None:
    import psycopg2

    parts = urlsplit(server_url)
    conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                            password=parts.password, dbname=(parts.path or "/postgres").lstrip("/") or "postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def clear_queue(redis_url: str | None, workdir: Path) -> None:
    from huey.storage import RedisStorage

    if redis_url:
        RedisStorage("heartwatch", url=redis_url).flush_all()


def wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(kind: str, count: int, rate: float, server_url: str | None, redis_url: str | None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"hw_notify_bench_{kind}_"))
    mail = MailClock()
    db_name = None
    if kind == "sqlite":
        database_url = f"sqlite:///{workdir / 'heartwatch.db'}"
    else:
        db_name = f"hw_notify_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin_sql(server_url, f'CREATE DATABASE "{db_name}"')
        database_url = urlunsplit(urlsplit(server_url)._replace(path="/" + db_name))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HEARTWATCH_INSTANCE_PATH": str(workdir),
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port), "SMTP_TLS": "none", "MAIL_FROM": "bench@example.test",
           "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "100000",
           "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    for name in ("SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "MONGO_URL"):
        env.pop(name, None)
    if kind == "postgres":
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    processes: list[subprocess.Popen] = []
    try:
        clear_queue(env.get("REDIS_URL"), workdir)
        flask(env, "db", "upgrade")
        service = json.loads(flask(env, "create-service", "Bench", "--platform", "python", "--json"))
        slug = service.get("slug") or "bench"
        flask(env, "create-developer", "--name", "On Call", "--email", "oncall@example.test", "--services", slug,
              "--on-call", "--max-load", "100000", "--json")
        logs = open(workdir / "processes.log", "w")
        for name in ("web", "worker"):
            processes.append(subprocess.Popen(["bash", "-c", f"exec {procfile(name)}"], cwd=ROOT, env=env,
                                              stdout=logs, stderr=subprocess.STDOUT, start_new_session=True))
        wait_ready(port, processes[0])
        time.sleep(1.5)  # the consumer imports the app; give it the same head start a deployment has

        sent: dict[int, float] = {}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json", "X-Api-Key": service["ingest_key"]}
        start = time.monotonic()
        for n in range(count):
            pause = start + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            body = json.dumps({"error_type": f"BenchError{n}", "message": f"bench error number {n}",
                               "severity": "critical", "endpoint": "/bench"})
            sent[n] = time.time()
            conn.request("POST", "/api/errors/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                raise SystemExit(f"ingest answered {response.status}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(mail.arrivals) < count:
            time.sleep(0.1)
        time.sleep(1.0)  # anything sent twice would arrive now
        latencies = [mail.arrivals[n][0] - sent[n] for n in sent if n in mail.arrivals]
        doubles = sum(1 for times in mail.arrivals.values() if len(times) > 1)
        return {
            "database": "PostgreSQL + Redis (RedisHuey)" if kind == "postgres" else "SQLite + SqliteHuey",
            "errors": count, "rate_per_second": rate, "emails": len(latencies), "sent_twice": doubles,
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 1) if latencies else None,
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        }
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        mail.stop()
        if db_name:
            admin_sql(server_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def write_doc(results: list[dict]) -> None:
    """Replace (or add) the section in docs/PERFORMANCE.md; the rest of the file is left alone."""
    cpus = os.cpu_count()
    lines = [
        SECTION, "",
        "Time from the ingest request (`POST /api/errors/`, a new critical error) to the e-mail arriving at an",
        "SMTP server on loopback, with Heartwatch started as in the Procfile (gunicorn gthread and",
        "`huey_consumer --workers 4 --max-delay 1`), one on-call developer, e-mail the only channel configured.",
        f"Measured by `bench/notify_latency.py` on this machine ({cpus} CPUs), errors posted at a steady rate.", "",
        "| setup | errors | rate | e-mails | sent twice | p50 | p95 | max | when |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['database']} | {r['errors']} | {r['rate_per_second']:g}/s | {r['emails']} | {r['sent_twice']} "
                     f"| {r['p50_ms']} ms | {r['p95_ms']} ms | {r['max_ms']} ms | {r['when']} |")
    lines += ["", "The path: the web process commits the event, then enqueues the hand-off; the consumer routes",
              "the error (locks, loads, on-call), writes the delivery rows, and sends. With Redis the consumer",
              "blocks on the queue and picks a task up at once; SqliteHuey polls (at most every second with",
              "`--max-delay 1`, sooner while busy), which is where its longer tail comes from.", ""]
    text = DOC.read_text() if DOC.exists() else "# Performance\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    block = "\n".join(lines) + "\n"
    text = pattern.sub(block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--errors", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="errors posted per second")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/PERFORMANCE.md alone")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not (args.postgres_url and args.redis_url):
        raise SystemExit("PostgreSQL run: set BENCH_DATABASE_URL and BENCH_REDIS_URL (or --postgres-url, --redis-url)")
    results = []
    for kind in kinds:
        result = run(kind, args.errors, args.rate, args.postgres_url, args.redis_url)
        print(json.dumps(result))
        results.append(result)
        if result["emails"] != args.errors or result["sent_twice"]:
            raise SystemExit(f"{kind}: {result['emails']} e-mails for {args.errors} errors, {result['sent_twice']} twice")
    if not args.no_doc:
        previous = []
        if DOC.exists():
            # Keep the other setup's row when only one was measured now.
            for line in DOC.read_text().splitlines():
                if line.startswith("| ") and ("SqliteHuey" in line or "RedisHuey" in line):
                    previous.append(line)
        write_doc(_merge(results, previous))


def _merge(results: list[dict], previous_rows: list[str]) -> list[dict]:
    measured = {r["database"] for r in results}
    merged = list(results)
    for row in previous_rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == 9 and cells[0] not in measured:
            merged.append({"database": cells[0], "errors": cells[1], "rate_per_second": float(cells[2].rstrip("/s")),
                           "emails": cells[3], "sent_twice": cells[4], "p50_ms": cells[5].removesuffix(" ms"),
                           "p95_ms": cells[6].removesuffix(" ms"), "max_ms": cells[7].removesuffix(" ms"),
                           "when": cells[8]})
    return sorted(merged, key=lambda r: r["database"], reverse=True)


if __name__ == "__main__":
    main()
