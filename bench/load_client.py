"""The ingest benchmark's load client: runs in its own process (``bench/ingest.py load ...``).

asyncio over raw keep-alive sockets with pre-built requests: far less client CPU per request than
http.client, so the server, not the client, is what is measured (the client's CPU is reported, and
so is the CPU of the server's processes and PostgreSQL's backends over the measured phase).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent

PHASE_TIMEOUT = 300.0  # a hard cap on any load phase, whatever the event count
MIXES = ("json", "sentry")


class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.connect()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, body


def build_requests(mix: str, services: dict, host: str, port: int, count: int, seed: int) -> list[bytes]:
    """Pre-built HTTP requests: a pool of distinct JSON events reused in turn, or (Sentry) one distinct
    envelope per request, since envelopes carry event ids and a repeated id is stored once."""
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(ROOT))
    import payloads

    requests = []
    if mix == "json":
        for source, body in payloads.json_pool(min(count, 2000), seed):
            head = (f"POST {payloads.PATHS[source]} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Content-Type: application/json\r\nX-Api-Key: {services[source]['ingest_key']}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n")
            requests.append(head.encode() + body)
    else:
        for source, body, encoding in payloads.sentry_pool(count, seed):
            service = services[source]
            head = (f"POST /api/{service['id']}/envelope/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Content-Type: application/x-sentry-envelope\r\nContent-Encoding: {encoding}\r\n"
                    f"X-Sentry-Auth: Sentry sentry_key={service['ingest_key']}, sentry_version=7, "
                    f"sentry_client=sentry.python/2.75.0\r\nContent-Length: {len(body)}\r\n\r\n")
            requests.append(head.encode() + body)
    return requests


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _postgres_backends(dbname: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"postgres: ") and f" {dbname} ".encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def _machine_ticks() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values), idle


class CpuWatch:
    """CPU seconds used by the server's workers, PostgreSQL's backends, the client, and the machine."""

    def __init__(self, worker_pids: list[int], pg_db: str | None):
        self.worker_pids, self.pg_db = worker_pids, pg_db
        self.hz = os.sysconf("SC_CLK_TCK")

    def snapshot(self) -> dict:
        pg_pids = _postgres_backends(self.pg_db) if self.pg_db else []
        usage = resource.getrusage(resource.RUSAGE_SELF)
        total, idle = _machine_ticks()
        return {"workers": {p: _cpu_ticks(p) for p in self.worker_pids},
                "postgres": {p: _cpu_ticks(p) for p in pg_pids},
                "client": usage.ru_utime + usage.ru_stime, "total": total, "idle": idle}

    def delta(self, before: dict, after: dict, wall: float) -> dict:
        def used(kind):
            return sum(after[kind][p] - before[kind].get(p, 0) for p in after[kind]) / self.hz

        busy = (after["total"] - before["total"]) - (after["idle"] - before["idle"])
        ncpu = os.cpu_count() or 1
        workers, postgres = used("workers"), used("postgres")
        client = after["client"] - before["client"]
        split = sorted((round((after["workers"][p] - before["workers"].get(p, 0)) / self.hz, 2)
                        for p in after["workers"]), reverse=True)
        return {"server_workers_s": round(workers, 2), "server_workers_split_s": split,
                "postgres_s": round(postgres, 2),
                "client_s": round(client, 2),
                "machine_busy_pct": round(100.0 * busy / max(1, after["total"] - before["total"]), 1),
                # CPU time of everything else on the machine meanwhile (other work skews a run)
                "others_s": round(max(0.0, busy / self.hz - workers - postgres - client), 2),
                "cpus": ncpu, "wall_s": round(wall, 2)}


async def _run_phase(host: str, port: int, requests: list[bytes], start: int, count: int | None,
                     seconds: float | None, concurrency: int, acked_status: int, stats: dict,
                     record_latency: bool, stop_when_refused: bool, announce_at: int | None = None) -> int:
    """Post requests[start:] with ``concurrency`` connections until ``count`` are sent or ``seconds``
    have passed (and always within PHASE_TIMEOUT). Returns the index after the last request taken.
    With ``announce_at``, a STOP line on stderr tells the orchestrator when that many are acknowledged."""
    next_index = start
    end_index = start + count if count is not None else None
    deadline = time.monotonic() + min(seconds if seconds is not None else PHASE_TIMEOUT, PHASE_TIMEOUT)
    refused_since: list[float | None] = [None]

    async def one_connection():
        nonlocal next_index
        conn = Http(host, port)
        while time.monotonic() < deadline:
            if end_index is not None and next_index >= end_index:
                break
            index = next_index
            next_index += 1
            request = requests[index % len(requests)]
            started = time.perf_counter()
            try:
                status, body = await conn.exchange(request)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                await conn.close()
                stats["sent"] += 1
                stats["connection_errors"] += 1
                stats["errors_seen"].setdefault(type(exc).__name__, 0)
                stats["errors_seen"][type(exc).__name__] += 1
                if isinstance(exc, ConnectionRefusedError):
                    refused_since[0] = refused_since[0] or time.monotonic()
                    if stop_when_refused and time.monotonic() - refused_since[0] > 1.0:
                        break
                await asyncio.sleep(0.01)
                continue
            elapsed = time.perf_counter() - started
            stats["sent"] += 1
            if record_latency:
                stats["latencies"].append(elapsed)
            if status == acked_status:
                stats["acked"] += 1
                if stats["acked"] == announce_at:
                    print("STOP", flush=True, file=sys.stderr)
                if stats["ids"] is not None:
                    stats["ids"].append(body)
            else:
                key = str(status)
                stats["statuses"][key] = stats["statuses"].get(key, 0) + 1
                if len(stats["samples"]) < 5:
                    stats["samples"].append(body[:300].decode("utf-8", "replace"))
        await conn.close()

    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    return next_index


def _new_stats(keep_ids: bool) -> dict:
    return {"sent": 0, "acked": 0, "connection_errors": 0, "statuses": {}, "errors_seen": {}, "samples": [],
            "latencies": [], "ids": [] if keep_ids else None}


def load_main(args: argparse.Namespace) -> None:
    """The load client process: warm up, then measure; one JSON object on stdout."""
    services = json.loads(Path(args.services).read_text())
    acked_status = 200 if args.mix == "sentry" else 201
    warmup_cap = args.concurrency * 400
    requests = build_requests(args.mix, services, args.host, args.port, args.events + warmup_cap, args.seed)
    watch = CpuWatch([int(p) for p in args.worker_pids.split(",") if p], args.pg_db)
    keep_ids = bool(args.ids_out)

    async def main():
        warm = _new_stats(keep_ids)
        index = await _run_phase(args.host, args.port, requests, 0, warmup_cap, args.warmup, args.concurrency,
                                 acked_status, warm, False, False)
        if args.sigterm_after is not None:
            # Tell the orchestrator when to stop the server, then keep posting until it is gone.
            print("MEASURING", flush=True, file=sys.stderr)
        before, started = watch.snapshot(), time.perf_counter()
        measured = _new_stats(keep_ids)
        await _run_phase(args.host, args.port, requests, index, args.events, None, args.concurrency,
                         acked_status, measured, True, args.sigterm_after is not None, args.sigterm_at_event)
        wall = time.perf_counter() - started
        return warm, measured, watch.delta(before, watch.snapshot(), wall), wall

    warm, measured, cpu, wall = asyncio.run(main())
    latencies = sorted(measured["latencies"])

    def pct(p):
        return round(1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1) \
            if latencies else None

    if keep_ids:
        import orjson

        with open(args.ids_out, "w") as out:
            for body in warm["ids"] + measured["ids"]:
                answer = orjson.loads(body)
                # The JSON API answers the occurrence id; Sentry the event id, stored as a dashed UUID.
                occurrence = answer.get("occurrence_id") or str(uuid.UUID(answer["id"]))
                out.write(occurrence + "\n")
    result = {
        "warmup": {k: warm[k] for k in ("sent", "acked", "connection_errors", "statuses")},
        "sent": measured["sent"], "acked": measured["acked"], "connection_errors": measured["connection_errors"],
        "statuses": measured["statuses"], "errors_seen": {**warm["errors_seen"], **measured["errors_seen"]},
        "samples": warm["samples"] + measured["samples"],
        "events_per_s": round(measured["acked"] / wall, 1) if wall else 0.0,
        "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "cpu": cpu,
    }
    print(json.dumps(result))
