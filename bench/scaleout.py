"""Scale-out: two web deployments and two workers on one PostgreSQL and one Redis.

What a deployment with more than one machine runs, on this one: two web deployments, each the
Procfile's `web:` command with `WEB_CONCURRENCY=2` (two gunicorn processes) on a port of its own, and
two workers, each the Procfile's `worker:` command; one PostgreSQL database (created for the run and
dropped after it) and one Redis database. One service and one on-call developer are created with the
CLI; the scheduled jobs that allow it are set to run every minute.

Then, at the same time:

- load goes through both web deployments: ``--events`` critical events of ``--errors`` error types, in
  turn to one deployment and the other, from ``--concurrency`` connections to each;
- two signed-in live feeds are open on each web deployment;
- an SMTP server on loopback (in this process) takes the notification e-mails;
- the `scheduled_jobs` table is read every second until ``--minutes`` have passed since the workers
  started.

It then checks, and prints:

1. every event is stored once: each acknowledged event is one stored occurrence, and the errors'
   counts add up to the same number;
2. every notification is sent once: one e-mail per error (each is new once, and routed to the
   on-call developer), none twice;
3. every live feed sees every error, with the worker's own event about it (the assignment that routing
   makes in the worker), whichever web deployment took the event;
4. each periodic job runs once per interval: the starts seen are a minute apart or more, and there
   are no more of them than minutes passed, while both workers tick every minute (the tick count is
   about twice the runs).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/scaleout.py

Exit status 0 when every check holds. Only loopback addresses are used; the run is bounded in events
and time (about ``--minutes`` plus a minute). `--json-out FILE` writes the figures.
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
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.notify_latency import flask, free_port, procfile  # noqa: E402
from bench.stores import Database, clear_redis  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PASSWORD = "scale-out bench password"
EMAIL = "oncall@example.test"
SUBJECT = re.compile(r"ScaleoutError(\d+)")
EVERY_MINUTE = ("interval_retry_notifications_minutes", "interval_outbox_minutes", "interval_escalation_minutes",
                "interval_thresholds_minutes", "interval_handoff_minutes")
START_TIMEOUT = 60.0
SETTLE_TIMEOUT = 120.0


def set_every_minute(env: dict) -> None:
    """The scheduled jobs that allow it run every minute (the settings the dashboard changes)."""
    code = ("from app import create_app\nfrom app.extensions import db\nfrom app.platform import settings\n"
            "app = create_app()\nwith app.app_context():\n"
            f"    for key in {EVERY_MINUTE!r}:\n        settings.update_setting(key, 1, None)\n"
            "    db.session.commit()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"setting the intervals failed:\n{done.stderr}")


class Mailbox:
    """An SMTP server on loopback that counts the e-mails of each bench error."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.by_error: dict[int, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        match = SUBJECT.search(message["Subject"] or "")
        if match:
            with self.lock:
                self.by_error[int(match.group(1))] += 1
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()


class Feed(threading.Thread):
    """A signed-in browser's live feed on one web deployment: the error ids of the rows it received,
    and which of them were the worker's assignment."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        import requests
        from simple_websocket import Client

        class BrowserLikeClient(Client):  # Host with the port, as a browser sends it (the Origin check)
            def handshake(self):
                self.host = f"{self.host}:{self.port}"
                super().handshake()
                self._handle_events()

        session = requests.Session()
        page = session.get(f"{base}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        answer = session.post(f"{base}/login", allow_redirects=False, timeout=10, data={
            "email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1) if token else ""})
        if answer.status_code != 303:
            raise SystemExit(f"sign-in to {base} answered {answer.status_code}")
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        self.ws = BrowserLikeClient.connect(base.replace("http://", "ws://") + "/feed/ws",
                                            headers={"Cookie": cookie, "Origin": base})
        hello = self.ws.receive(timeout=10)
        if not hello or 'data-state="live"' not in hello:
            raise SystemExit(f"the feed of {base} did not say it is live")
        self.base = base
        self.seen: set[str] = set()
        self.assigned: set[str] = set()
        self.stopping = threading.Event()

    def run(self) -> None:
        row = re.compile(r'data-error-id="([0-9a-f-]{36})".*?(?=data-error-id=|$)', re.S)
        while not self.stopping.is_set():
            try:
                message = self.ws.receive(timeout=0.5)
            except Exception:  # closed at the end
                return
            for match in row.finditer(message or ""):
                self.seen.add(match.group(1))
                if "event-assigned" in match.group(0):
                    self.assigned.add(match.group(1))

    def close(self) -> None:
        self.stopping.set()
        try:
            self.ws.close()
        except Exception:
            pass


def post_events(port: int, key: str, numbers: list[int], acked: list, refused: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    for n, error in numbers:
        body = json.dumps({"error_type": f"ScaleoutError{error}", "message": f"scale-out error number {error}",
                           "severity": "critical", "endpoint": f"/scaleout/{error}",
                           "extra": {"event": n}})
        try:
            conn.request("POST", "/api/errors/", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            refused.append(f"{type(exc).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        if response.status == 201:
            acked.append(json.loads(answer)["error_id"])
        else:
            refused.append(f"{response.status} {answer[:200]!r}")
    conn.close()


def job_starts(database_url: str) -> dict[str, tuple]:
    from sqlalchemy import create_engine, text

    from app.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, last_started_at, run_count FROM scheduled_jobs")).all()
    engine.dispose()
    return {name: (started, count) for name, started, count in rows}


def run(args: argparse.Namespace) -> dict:
    server_url = os.environ.get("BENCH_DATABASE_URL")
    redis_url = os.environ.get("BENCH_REDIS_URL")
    if not server_url or not redis_url:
        raise SystemExit("BENCH_DATABASE_URL (a PostgreSQL server) and BENCH_REDIS_URL are needed")
    for url in (server_url, redis_url):
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"{url}: only loopback addresses are used")
    workdir = Path(tempfile.mkdtemp(prefix="hw_scaleout_"))
    database = Database("postgres", workdir, server_url, keep=False)
    mail = Mailbox()
    env = {**os.environ, "DATABASE_URL": database.url, "REDIS_URL": redis_url, "HOST": "127.0.0.1",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port), "SMTP_TLS": "none",
           "MAIL_FROM": "bench@example.test", "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "1000000",
           "SECRET_KEY": "scale-out bench", "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
           "WEB_CONCURRENCY": "2", "HEARTWATCH_INSTANCE_PATH": str(workdir / "instance")}
    for name in ("SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "MONGO_URL", "TEST_DATABASE_URL"):
        env.pop(name, None)
    processes: list[subprocess.Popen] = []
    feeds: list[Feed] = []
    logs = open(workdir / "processes.log", "w")
    try:
        clear_redis(redis_url)
        flask(env, "db", "upgrade")
        service = json.loads(flask(env, "create-service", "Scale-out API", "--platform", "python", "--json"))
        flask(env, "create-developer", "--name", "On Call", "--email", EMAIL, "--role", "lead",
              "--services", service.get("slug") or "scale-out-api", "--on-call", "--max-load", "1000000",
              "--password", PASSWORD, "--json")
        set_every_minute(env)

        ports = [free_port(), free_port()]
        for port in ports:
            web_env = {**env, "PORT": str(port), "HEARTWATCH_BASE_URL": f"http://127.0.0.1:{port}"}
            processes.append(subprocess.Popen(["bash", "-c", f"exec {procfile('web')}"], cwd=ROOT, env=web_env,
                                              stdout=logs, stderr=subprocess.STDOUT, start_new_session=True))
        for _ in range(2):
            processes.append(subprocess.Popen(["bash", "-c", f"exec {procfile('worker')}"], cwd=ROOT, env=env,
                                              stdout=logs, stderr=subprocess.STDOUT, start_new_session=True))
        workers_started = time.monotonic()
        for port, process in zip(ports, processes[:2], strict=True):
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"a web deployment exited during start-up; see {workdir / 'processes.log'}")
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("a web deployment did not answer in time")
                time.sleep(0.2)
        for port in ports:
            for _ in range(2):
                feeds.append(Feed(f"http://127.0.0.1:{port}"))
        for feed in feeds:
            feed.start()

        # Sampling the jobs' starts, until --minutes have passed since the workers started.
        starts: dict[str, list] = defaultdict(list)
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                for name, (started, _count) in job_starts(database.url).items():
                    if started is not None and (not starts[name] or starts[name][-1] != started):
                        starts[name].append(started)
                sampling.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        events = [(n, n % args.errors) for n in range(args.events)]
        acked: list[str] = []
        refused: list[str] = []
        threads = []
        began = time.monotonic()
        for c in range(args.concurrency * 2):
            port = ports[c % 2]  # events in turn through one deployment and the other
            share = events[c::args.concurrency * 2]
            threads.append(threading.Thread(target=post_events, args=(port, service["ingest_key"], share, acked, refused)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        load_seconds = time.monotonic() - began

        error_ids = set(acked)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline and not (
                len(mail.by_error) >= args.errors
                and all(feed.assigned >= error_ids and feed.seen >= error_ids for feed in feeds)):
            time.sleep(0.2)
        remaining = args.minutes * 60 - (time.monotonic() - workers_started)
        if remaining > 0:
            time.sleep(remaining)
        sampling.set()
        sampler.join()
        final = job_starts(database.url)
        time.sleep(1.0)  # an e-mail sent twice would be here by now
        counts = database.counts()
        minutes = (time.monotonic() - workers_started) / 60

        jobs = {}
        for name in (n.replace("interval_", "").replace("_minutes", "") for n in EVERY_MINUTE):
            job = {"retry_notifications": "retry_failed_notifications", "outbox": "drain_outbox",
                   "escalation": "escalate_unresolved_errors", "thresholds": "check_error_thresholds",
                   "handoff": "send_oncall_handoffs"}[name]
            seen = starts.get(job, [])
            gaps = [(b - a).total_seconds() for a, b in zip(seen, seen[1:], strict=False)]
            run_count = final.get(job, (None, 0))[1]
            jobs[job] = {"runs": run_count, "starts_seen": len(seen), "min_gap_s": round(min(gaps), 1) if gaps else None,
                         "ok": run_count == len(seen) and run_count <= int(minutes) + 1
                         and all(gap >= 30 for gap in gaps)}
        result = {
            "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "web_deployments": 2, "processes_each": 2, "workers": 2,
            "events_sent": args.events, "events_acknowledged": len(acked), "refused": refused[:5],
            "refused_count": len(refused), "load_seconds": round(load_seconds, 1),
            "events_per_s": round(len(acked) / load_seconds, 1) if load_seconds else None,
            "stored": counts, "errors": len(error_ids),
            "emails": sum(mail.by_error.values()), "errors_emailed": len(mail.by_error),
            "emailed_twice": sorted(n for n, count in mail.by_error.items() if count > 1),
            "feeds": [{"deployment": feed.base, "errors_seen": len(feed.seen & error_ids),
                       "worker_assignments_seen": len(feed.assigned & error_ids)} for feed in feeds],
            "minutes": round(minutes, 2), "jobs": jobs,
            # Each consumer counts its every-minute tick here: about twice the minutes with both working.
            "worker_ticks": final.get("run_scheduled_work", (None, 0))[1],
        }
        result["checks"] = {
            "every event stored once": (len(acked) == args.events and counts["occurrences"] == len(acked)
                                        and counts["sum_occurrence_count"] == len(acked)
                                        and counts["errors"] == args.errors),
            "every notification sent once": (len(mail.by_error) == args.errors
                                             and sum(mail.by_error.values()) == args.errors),
            "every feed sees every event, the worker's too": all(
                f["errors_seen"] == len(error_ids) and f["worker_assignments_seen"] == len(error_ids)
                for f in result["feeds"]),
            "each periodic job once per interval": all(job["ok"] and job["runs"] >= 1 for job in jobs.values())
            and result["worker_ticks"] >= 2 * max(job["runs"] for job in jobs.values()) - 1,
        }
        return result
    finally:
        for feed in feeds:
            feed.close()
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        logs.close()
        mail.stop()
        database.drop()
        clear_redis(redis_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="events posted, through both deployments")
    parser.add_argument("--errors", type=int, default=100, help="distinct errors the events belong to")
    parser.add_argument("--concurrency", type=int, default=8, help="connections to each web deployment")
    parser.add_argument("--minutes", type=float, default=3.0, help="minutes the workers run (the jobs' check)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.errors <= args.events or args.events > 200000 or args.minutes > 30:
        parser.error("1 <= --errors <= --events <= 200000 and --minutes <= 30")
    result = run(args)
    print(json.dumps(result, indent=2, default=str))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2, default=str))
    failed = [name for name, ok in result["checks"].items() if not ok]
    print("checks:", "all hold" if not failed else "FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
