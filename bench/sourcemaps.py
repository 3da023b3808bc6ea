"""Source-map resolution benchmark: what resolving a browser event's minified frames costs the request
thread, with the parsed map cached (warm) and not (cold: read from the database and parsed), against
an event with nothing to resolve.

Two builds: the shop of tests/symbolication (the recorded bundle, a few hundred bytes) and a real
library's size, @sentry/browser from node_modules minified by esbuild (some 0.5 MB of script, a few
MB of map), uploaded through the same chunk and assemble steps sentry-cli uses.

    .venv/bin/python bench/sourcemaps.py [--runs 200] [--frames 20]

BENCH_DATABASE_URL (PostgreSQL) instead of a temporary SQLite file; its tables are dropped first.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from symbolic.sourcemap import SourceMapView  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts import developers as accounts  # noqa: E402
from app.config import TestConfig, normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.ingest.incoming import IncomingError  # noqa: E402
from app.ingest.stacktraces import make_exception, make_frame  # noqa: E402
from app.symbolication import resolve, uploads  # noqa: E402

SCRIPT_URL = "https://shop.example/static/js/main.js"


def library_build(folder: Path) -> tuple[bytes, bytes]:
    entry = ROOT / "node_modules" / "@sentry" / "browser" / "build" / "npm" / "esm" / "prod" / "index.js"
    subprocess.run([str(ROOT / "node_modules" / ".bin" / "esbuild"), str(entry), "--bundle", "--minify",
                    "--sourcemap", "--format=iife", "--global-name=SentryBundle", f"--outfile={folder}/main.js"],
                   check=True, capture_output=True, timeout=120)
    return (folder / "main.js").read_bytes(), (folder / "main.js.map").read_bytes()


def bundle_zip(script: bytes, sourcemap: bytes, debug_id: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps({"files": {
            "files/_/_/main.js": {"type": "minified_source", "url": "~/static/js/main.js",
                                  "headers": {"debug-id": debug_id, "sourcemap": "main.js.map"}},
            "files/_/_/main.js.map": {"type": "source_map", "url": "~/static/js/main.js.map",
                                      "headers": {"debug-id": debug_id}}}}))
        archive.writestr("files/_/_/main.js", script)
        archive.writestr("files/_/_/main.js.map", sourcemap)
    return out.getvalue()


def store(data: bytes, service, actor) -> None:
    chunks = []
    for start in range(0, len(data), uploads.CHUNK_SIZE):
        chunks.append(uploads.store_chunk(hashlib.sha1(data[start:start + uploads.CHUNK_SIZE]).hexdigest(),
                                          data[start:start + uploads.CHUNK_SIZE]))
    db.session.commit()
    answer = uploads.assemble({"checksum": hashlib.sha1(data).hexdigest(), "chunks": chunks,
                               "projects": [service.slug]}, actor)
    assert answer["state"] == "ok", answer


def archive_map(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("files/_/_/main.js.map")


def positions(sourcemap: bytes, count: int) -> list[tuple[int, int]]:
    """``count`` mapped (line, column) places of the minified script, spread over it (1-based)."""
    tokens = list(SourceMapView.from_json_bytes(sourcemap))
    step = max(1, len(tokens) // count)
    return [(t.dst_line + 1, t.dst_col + 1) for t in tokens[::step][:count]]


def event(service_id: int, places, debug_id: str | None) -> tuple[IncomingError, dict | None]:
    frames = [make_frame(filename=SCRIPT_URL, function="e", lineno=line, colno=col, in_app=True)
              for line, col in places]
    incoming = IncomingError(service_id=service_id, source="sentry", error_type="TypeError", message="x",
                             exceptions=[make_exception("TypeError", "x", None, frames)], release="shop@1.0")
    images = {"images": [{"type": "sourcemap", "code_file": SCRIPT_URL, "debug_id": debug_id}]} if debug_id else None
    return incoming, images


def timed(runs: int, make, before=None) -> list[float]:
    times = []
    for _ in range(runs):
        incoming, debug_meta = make()
        if before:
            before()
        start = time.perf_counter()
        resolve.resolve_event(incoming, debug_meta)
        times.append((time.perf_counter() - start) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    return (f"| {name} | {statistics.median(ordered):.3f} | {ordered[int(len(ordered) * 0.95) - 1]:.3f} |")


def measure(name: str, data: bytes, sourcemap: bytes, debug_id: str, service, actor, args) -> list[str]:
    """The rows of one build: cold, warm with other places (big maps only), warm with the same error."""
    store(data, service, actor)
    places = positions(sourcemap, args.frames)
    resolve.cache().clear()
    cold = timed(max(10, args.runs // 10), lambda: event(service.id, places, debug_id), before=resolve.cache().clear)
    warm = timed(args.runs, lambda: event(service.id, places, debug_id))
    pool = positions(sourcemap, args.frames * args.runs)
    rows = [row(f"{name}: cold cache", cold)]
    if len(pool) >= args.frames * 10:  # the shop's map has too few places for this row
        fresh = iter(range(0, len(pool), args.frames))
        other = timed(len(pool) // args.frames, lambda: event(service.id, pool[next(fresh):][:args.frames], debug_id))
        rows.append(row(f"{name}: warm cache, other places each event", other))
    rows.append(row(f"{name}: warm cache, the same error again", warm))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL")) or f"sqlite:///{folder}/bench.db"
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            db.drop_all()
            db.create_all()
            service = accounts.create_service("Shop Web", "javascript")
            actor = accounts.create_developer("Bench Admin", "bench@example.test", role="admin",
                                              password="bench-password-1")
            script, sourcemap = library_build(Path(folder))
            print(f"library build: script {len(script)} bytes, map {len(sourcemap)} bytes")
            lines = [f"| {args.frames} frames, {args.runs} runs | median ms | p95 ms |", "|---|---|---|"]
            library_id = "5b0f0c77-0c57-4b9a-9a57-5d2a3e1b6c01"
            lines += measure("@sentry/browser build", bundle_zip(script, sourcemap, library_id), sourcemap,
                             library_id, service, actor, args)
            recorded = (ROOT / "tests" / "symbolication" / "recorded" / "shop-bundle.zip").read_bytes()
            lines += measure("shop (recorded)", recorded, archive_map(recorded),
                             "8906a58e-29d6-580a-bf88-64d39dfb3cad", service, actor, args)
            places = positions(sourcemap, args.frames)

            def nothing():
                incoming, _ = event(service.id, places, None)
                incoming.release = None
                return incoming, None

            resolve.cache().clear()
            lines.append(row("no debug id, no release (nothing to resolve)", timed(args.runs, nothing)))
            print("\n".join(lines))


if __name__ == "__main__":
    main()
