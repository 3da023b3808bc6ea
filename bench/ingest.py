"""The ingest benchmark: Heartwatch under gunicorn, exactly as the Procfile starts it, on a fresh
database, fed realistic events by a load client in a separate process.

For each database (SQLite; PostgreSQL + Redis when a server URL is given) and each concurrency it
creates a fresh database (``flask db upgrade``), creates one service per source (``flask
create-service --json``), starts the Procfile's web command, warms up, posts N events, stops the
server with SIGTERM and then checks the database: the sum of ``occurrence_count`` and the number of
``error_occurrences`` must both equal the number of events acknowledged (201; 200 for Sentry
envelopes). It prints events/s, latency percentiles and CPU use, and any answer that was not an
acknowledgement.

    .venv/bin/python bench/ingest.py                                # SQLite, concurrency 8 and 32
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/ingest.py --db postgres
    .venv/bin/python bench/ingest.py --sigterm                      # stop the server mid-run, check no ack is lost
    .venv/bin/python bench/ingest.py --sigterm --sigterm-at-event 100 --events 400   # the same, small (the tests)

See bench/README.md. Only loopback addresses are used; every run is bounded in events and time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from load_client import MIXES, PHASE_TIMEOUT, load_main
from stores import Database, clear_redis

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
STARTUP_TIMEOUT = 60.0


# =============================================================================== the orchestrator

def _check_loopback(url: str, what: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"{what} must be on a loopback address (127.0.0.1, localhost, ::1), not {host!r}")


def _procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise SystemExit("Procfile has no web: line")


def _flask(env: dict, *args: str) -> str:
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _worker_pids(master: int) -> list[int]:
    try:
        text = Path(f"/proc/{master}/task/{master}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _wait_ready(log_path: Path, proc: subprocess.Popen, workers: int) -> int:
    """Wait until gunicorn answers with all its workers; returns the port it bound (it was given 0,
    so no other program can take the port between choosing it and binding it)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    port = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up (see its log above)")
        if port is None:
            listening = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text(errors="replace"))
            port = listening and int(listening.group(1))
            if port is None:
                time.sleep(0.2)
                continue
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200") and len(_worker_pids(proc.pid)) >= workers:
                    return port
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def run_scenario(kind: str, concurrency: int, mix: str, args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH))
    import payloads

    workdir = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    db = Database(kind, workdir, args.postgres_url, args.keep)
    redis_url = args.redis_url if kind == "postgres" else None
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL")}
    env.update({
        "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        "HEARTWATCH_INSTANCE_PATH": str(workdir),
        "SECRET_KEY": "bench",
        "WEB_CONCURRENCY": str(args.workers),
        "WEB_THREADS": str(args.threads),
        "HOST": "127.0.0.1",
        "PORT": "0",
        # The limiter still runs on every event; its limit is raised so it measures, not refuses.
        "RATE_LIMIT_PER_MINUTE": str(10_000_000),
    })
    if kind == "postgres":
        env["DATABASE_URL"] = db.url
    if redis_url:
        env["REDIS_URL"] = redis_url
    for name, value in args.set or []:
        env[name] = value
    clear_redis(redis_url)
    proc = None
    log_path = workdir / "gunicorn.log"
    keep_workdir = True  # the server's log stays for a look unless the run was clean
    try:
        _flask(env, "db", "upgrade")
        if args.without_triggers and kind == "postgres":  # the triggers' cost, measured by their absence
            import psycopg2

            with psycopg2.connect(db.url) as connection, connection.cursor() as cursor:
                cursor.execute("ALTER TABLE error_logs DISABLE TRIGGER USER")
        services = {}
        for source, (name, platform) in payloads.SERVICES.items():
            services[source] = json.loads(_flask(env, "create-service", name, "--platform", platform, "--json"))
        services_file = workdir / "services.json"
        services_file.write_text(json.dumps(services))

        command = _procfile_web_command()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(["/bin/sh", "-c", "exec " + command], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        port = _wait_ready(log_path, proc, args.workers)
        ids_out = workdir / "acked_ids.txt" if args.sigterm else None
        client_cmd = [sys.executable, str(Path(__file__).resolve()), "load", "--port", str(port),
                      "--services", str(services_file), "--concurrency", str(concurrency),
                      "--events", str(args.events), "--warmup", str(args.warmup), "--mix", mix,
                      "--worker-pids", ",".join(map(str, _worker_pids(proc.pid))), "--seed", str(args.seed)]
        if db.name:
            client_cmd += ["--pg-db", db.name]
        if ids_out:
            client_cmd += ["--ids-out", str(ids_out), "--sigterm-after", str(args.sigterm_after)]
            if args.sigterm_at_event:
                client_cmd += ["--sigterm-at-event", str(args.sigterm_at_event)]
        client = subprocess.Popen(client_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sigterm_at = None
        if args.sigterm:
            # Wait for the measured phase, let it run a while, then stop the server as a deploy would.
            line = client.stderr.readline()
            if "MEASURING" not in line:
                raise SystemExit(f"load client failed: {line}{client.stderr.read()}")
            if args.sigterm_at_event:
                line = client.stderr.readline()
                if "STOP" not in line:
                    raise SystemExit(f"load client failed: {line}{client.stderr.read()}")
            else:
                time.sleep(args.sigterm_after)
            sigterm_at = time.monotonic()
            proc.send_signal(signal.SIGTERM)
        out, err = client.communicate(timeout=PHASE_TIMEOUT * 2 + 60)
        if client.returncode != 0:
            raise SystemExit(f"load client failed:\n{err}")
        result = json.loads(out.strip().splitlines()[-1])
        if sigterm_at is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        stopped_after = round(time.monotonic() - sigterm_at, 2) if sigterm_at else None
        counts = db.counts()
        acked_total = result["acked"] + result["warmup"]["acked"]
        result.update({"db": kind, "concurrency": concurrency, "mix": mix, "workers": args.workers,
                       "threads": args.threads, "acked_total": acked_total, **counts,
                       "gunicorn_exit": proc.returncode})
        if args.sigterm:
            ids = [i for i in ids_out.read_text().split() if i]
            result["acked_ids"] = len(ids)
            result["sigterm_after"] = args.sigterm_after
            result["sigterm_at_event"] = args.sigterm_at_event
            result["acked_missing"] = db.missing_ids(ids)
            result["server_gone_after_s"] = stopped_after
        result["consistent"] = counts["sum_occurrence_count"] == counts["occurrences"] and (
            counts["occurrences"] >= acked_total if args.sigterm else counts["occurrences"] == acked_total)
        if args.sigterm:
            result["consistent"] = result["consistent"] and result["acked_missing"] == 0
        tail = log_path.read_text(errors="replace").splitlines()
        result["server_errors"] = [line for line in tail if "Traceback" in line or " ERROR " in line][:5]
        keep_workdir = args.keep or not result["consistent"] or bool(result["server_errors"])
        if keep_workdir:
            result["workdir"] = str(workdir)
        return result
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        clear_redis(redis_url)
        db.drop()
        if keep_workdir:
            print(f"           (server log and instance folder kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _print_result(r: dict) -> None:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items())) or "none"
    cpu = r["cpu"]
    print(f"  {r['db']:<8} {r['mix']:<6} c={r['concurrency']:<3} {r['events_per_s']:>8.1f} events/s  "
          f"p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms")
    print(f"           acknowledged {r['acked_total']} (measured {r['acked']} of {r['sent']} sent), "
          f"stored: occurrences {r['occurrences']}, sum(occurrence_count) {r['sum_occurrence_count']}, "
          f"errors {r['errors']}  -> {'OK' if r['consistent'] else 'MISMATCH'}")
    warm = r["warmup"]
    warm_statuses = ", ".join(f"{k}: {v}" for k, v in sorted(warm["statuses"].items()))
    print(f"           other answers: {statuses}; connection errors {r['connection_errors']} "
          f"{r['errors_seen'] or ''}" + (f"; during warm-up: {warm_statuses}" if warm_statuses else ""))
    per_event = 1000 * cpu["server_workers_s"] / max(1, r["acked"])
    if "acked_missing" in r:  # the workers are gone before the CPU figures are read: none to show
        when = (f"at measured event {r['sigterm_at_event']}" if r.get("sigterm_at_event")
                else f"{r['sigterm_after']:g} s into the run")
        print(f"           SIGTERM {when}; the server was gone "
              f"{r['server_gone_after_s']} s later: acknowledged ids {r['acked_ids']}, missing from the "
              f"database {r['acked_missing']}; gunicorn exit status {r['gunicorn_exit']}")
    else:
        print(f"           CPU s: server workers {cpu['server_workers_s']} ({per_event:.2f} ms per event; by process "
              f"{' + '.join(map(str, cpu.get('server_workers_split_s', [])))}), "
              f"postgres {cpu['postgres_s']}, client {cpu['client_s']}, everything else {cpu['others_s']}, "
              f"over {cpu['wall_s']} s; machine busy {cpu['machine_busy_pct']}% of {cpu['cpus']} cores")
    for sample in r["samples"][:3]:
        print(f"           sample answer: {sample}")
    for line in r["server_errors"]:
        print(f"           server log: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")

    load = sub.add_parser("load", help="(internal) the load client process")
    load.add_argument("--host", default="127.0.0.1")
    load.add_argument("--port", type=int, required=True)
    load.add_argument("--services", required=True)
    load.add_argument("--concurrency", type=int, required=True)
    load.add_argument("--events", type=int, required=True)
    load.add_argument("--warmup", type=float, default=3.0)
    load.add_argument("--mix", choices=MIXES, default="json")
    load.add_argument("--worker-pids", default="")
    load.add_argument("--pg-db", default=None)
    load.add_argument("--ids-out", default=None)
    load.add_argument("--sigterm-after", type=float, default=None)
    load.add_argument("--sigterm-at-event", type=int, default=None)
    load.add_argument("--seed", type=int, default=1)

    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default=None,
                        help="default: SQLite, and PostgreSQL too when a server URL is set")
    parser.add_argument("--concurrency", default="8,32", help="comma-separated (default 8,32)")
    parser.add_argument("--events", type=int, default=20000, help="measured events per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per scenario")
    parser.add_argument("--mix", default=None,
                        help="json (the JSON API and the five webhooks) and/or sentry (envelopes, gzip and br), "
                             "comma-separated; default json, plus sentry when app/web/ingest/sentry.py exists")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (default 2: one per core)")
    parser.add_argument("--threads", type=int, default=32, help="WEB_THREADS (default 32, the Procfile's)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a PostgreSQL server (any database on it); the bench creates and drops its own "
                             "database there (default: BENCH_DATABASE_URL)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"),
                        help="Redis for the PostgreSQL run (default: BENCH_REDIS_URL)")
    parser.add_argument("--set", nargs=2, action="append", metavar=("NAME", "VALUE"),
                        help="an extra setting for the server, e.g. --set INGEST_BATCH_MAX 0")
    parser.add_argument("--sigterm", action="store_true",
                        help="stop the server with SIGTERM mid-run and check every acknowledged event is stored")
    parser.add_argument("--sigterm-after", type=float, default=3.0, help="seconds into the measured phase")
    parser.add_argument("--sigterm-at-event", type=int, default=None,
                        help="instead: once this many events of the measured phase are acknowledged; then "
                             "--events bounds the run (the small form the tests run)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL databases and the temporary folders with the server logs")
    parser.add_argument("--without-triggers", action="store_true",
                        help="PostgreSQL: disable the triggers on error_logs (updated_at, the feed's pg_notify)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json-out", default=None, help="also write every result to this file")
    args = parser.parse_args(argv)

    if args.command == "load":
        load_main(args)
        return 0

    kinds = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"],
             None: ["sqlite", "postgres"] if args.postgres_url else ["sqlite"]}[args.db]
    if "postgres" in kinds:
        if not args.postgres_url:
            raise SystemExit("PostgreSQL run: set BENCH_DATABASE_URL or --postgres-url")
        _check_loopback(args.postgres_url, "the PostgreSQL server")
        if not args.redis_url:
            raise SystemExit("PostgreSQL run: set BENCH_REDIS_URL or --redis-url (production runs with Redis)")
        _check_loopback(args.redis_url, "Redis")
    sentry_ready = (ROOT / "app" / "web" / "ingest" / "sentry.py").exists()
    mixes = args.mix.split(",") if args.mix else (["json", "sentry"] if sentry_ready else ["json"])
    for mix in mixes:
        if mix not in MIXES:
            raise SystemExit(f"unknown mix {mix!r}; choose from {', '.join(MIXES)}")
        if mix == "sentry" and not sentry_ready:
            raise SystemExit("the sentry mix needs the Sentry endpoints (app/web/ingest/sentry.py)")
    if args.sigterm_at_event and not (args.sigterm and 0 < args.sigterm_at_event < args.events):
        raise SystemExit("--sigterm-at-event N goes with --sigterm and needs --events above N")
    if args.sigterm and not args.sigterm_at_event:
        args.events = max(args.events, 200_000)  # the stop, not the count, ends the run
    concurrencies = [int(c) for c in args.concurrency.split(",")]

    print(f"Heartwatch ingest bench: gunicorn `{_procfile_web_command()}`")
    print(f"  WEB_CONCURRENCY={args.workers} WEB_THREADS={args.threads}; {args.events} events per scenario after "
          f"{args.warmup:g} s warm-up; settings {dict(args.set or []) or 'default'}")
    results, ok = [], True
    for kind in kinds:
        for mix in mixes:
            for concurrency in (concurrencies[-1:] if args.sigterm else concurrencies):
                result = run_scenario(kind, concurrency, mix, args)
                _print_result(result)
                results.append(result)
                ok = ok and result["consistent"]
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
