"""The ingest spool: events accepted while the database cannot take them, replayed once it can.

When recording an event fails because the database is unreachable (PostgreSQL down or restarting,
SQLite locked past its timeout), the request does not answer 500: the event, already prepared
(scrubbed, fingerprinted, with its occurrence id), is appended to this process's spool and fsynced,
and only then acknowledged (202, ``"spooled": true``). The SDKs drop what they cannot send, so a 500
during a ten-second restart was lost for good; a spooled event is stored as soon as the database is
back.

- One spool per process, in its own folder under ``INGEST_SPOOL_DIR`` (default ``instance/spool``):
  ``<host>-<pid>-<start>/``, holding numbered segment files (app/recording/spool_file.py) and, per
  segment, the offset replayed so far. The process holds a lock on its folder while it lives.
- While a process's spool holds events, its new events go to the spool too, behind them, so replay
  keeps the order events arrived in. A replay thread stores them in batches through
  ``record_prepared``, the ingest's own transaction: each event once, by its occurrence id (an event
  stored and then spooled, after a commit whose answer was lost, is recognised as a resend).
- A folder whose lock nobody holds belongs to a process that is gone (killed, restarted): the replay
  thread of any process sharing the spool folder takes it over.
- An event the database refuses for what it holds (not for being unreachable) is set aside in
  ``rejected/`` with the reason, and the rest are stored.
- The spool is bounded by ``INGEST_SPOOL_MAX_BYTES`` per process (0 turns it off); past it, ingest
  answers 503 with ``Retry-After``, which the SDKs honour.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import threading
import time
from pathlib import Path

from flask import Flask

from app.platform.outage import OutageLog
from app.platform.refusal import Unavailable
from app.platform.sql import database_unavailable
from app.recording import spool_file
from app.recording.prepare import PreparedEvent

log = logging.getLogger("heartwatch.ingest")
RETRY_AFTER_SECONDS = 10
REPLAY_BATCH = 64
# How often the replay thread looks for work, and how long it waits after the database failed again.
POLL_SECONDS = 1.0
BACKOFF_SECONDS = 5.0
SEGMENT_SUFFIX = ".spool"
OFFSET_SUFFIX = ".offset"
_replay_outage = OutageLog(log, "the spool's replay to the database")


class SpoolFull(Unavailable):
    def __init__(self, limit: int):
        super().__init__(f"the database is unreachable and this server's spool is full ({limit} bytes); "
                         f"retry in {RETRY_AFTER_SECONDS} s", retry_after=RETRY_AFTER_SECONDS)


# --- replaying a folder ---------------------------------------------------------------------------

def _segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("*" + SEGMENT_SUFFIX))


def _take_lock(lock_path: Path) -> int | None:
    """A descriptor holding the folder's lock, or None when a live process holds it."""
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _reject(root: Path, body: bytes, exc: Exception) -> None:
    folder = root / "rejected"
    folder.mkdir(exist_ok=True)
    name = f"{time.time_ns()}-{os.getpid()}"
    (folder / f"{name}.json").write_bytes(body)
    (folder / f"{name}.reason.txt").write_text(f"{type(exc).__name__}: {exc}\n")
    log.error("a spooled event was refused by the database and set aside in %s: %s", folder / name, exc)


def _store(root: Path, batch: list[bytes]) -> None:
    """Store a batch of records in one ingest transaction; on a refusal, one by one, setting aside
    what the database refuses. Raises when the database is unreachable (the batch stays on disk)."""
    from app.recording.record import record_prepared

    events = [spool_file.from_record(body) for body in batch]
    try:
        record_prepared(events)
        return
    except Exception as exc:
        if database_unavailable(exc):
            raise
    for body, event in zip(batch, events, strict=True):
        try:
            record_prepared([event])
        except Exception as exc:
            if database_unavailable(exc):
                raise
            _reject(root, body, exc)


def replay_segment(root: Path, segment: Path, replayed=None) -> int:
    """Store a closed segment's records from where its replay stopped, in order, in batches; the
    offset is kept after each batch's commit, so a crash repeats at most one batch (stored once, by
    its occurrence ids). Removes the segment at its end. ``replayed(records, bytes)`` after each batch."""
    offset_path = str(segment) + OFFSET_SUFFIX
    position = spool_file.read_offset(offset_path)
    start, batch, count = position, [], 0
    for end, body in spool_file.read_records(str(segment), position):
        batch.append(body)
        position = end
        if len(batch) == REPLAY_BATCH:
            _store(root, batch)
            spool_file.write_offset(offset_path, position)
            count += len(batch)
            if replayed:
                replayed(len(batch), position - start)
            start, batch = position, []
    if batch:
        _store(root, batch)
        count += len(batch)
        if replayed:
            replayed(len(batch), position - start)
    segment.unlink()
    Path(offset_path).unlink(missing_ok=True)
    return count


def _other_folders(root: Path, own: Path | None = None) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and p != own and p.name != "rejected")
    except FileNotFoundError:
        return []


def replay_left_behind(root: Path, own: Path | None = None) -> int:
    """Store the spools of processes that are gone (their folder's lock is free), then remove them:
    run by every process's replay and by the worker's minute tick. The number of events stored."""
    stored = 0
    for folder in _other_folders(root, own):
        descriptor = _take_lock(folder / "lock")
        if descriptor is None:
            continue  # its process lives and replays it itself
        try:
            for segment in _segments(folder):
                stored += replay_segment(root, segment)
            shutil.rmtree(folder, ignore_errors=True)
            log.warning("stored %d events spooled by a process that is gone (%s)", stored, folder.name)
        finally:
            os.close(descriptor)
    return stored


def left_behind_bytes(root: Path, own: Path | None = None) -> int:
    """The bytes spooled by processes that are gone, not yet stored."""
    total = 0
    for folder in _other_folders(root, own):
        descriptor = _take_lock(folder / "lock")
        if descriptor is None:
            continue
        try:
            total += sum(segment.stat().st_size for segment in _segments(folder))
        finally:
            os.close(descriptor)
    return total


# --- one process's spool --------------------------------------------------------------------------

class Spool:
    """This process's spool: made at the first event the database could not take."""

    def __init__(self, app: Flask, root: Path, max_bytes: int):
        self.app, self.root, self.max_bytes = app, root, max_bytes
        self.pid = os.getpid()
        self.folder = root / f"{socket.gethostname()}-{self.pid}-{time.time_ns()}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_descriptor = _take_lock(self.folder / "lock")  # held while this process lives
        self._lock = threading.Lock()  # appends, rotation and the counters
        self._sync_lock = threading.Lock()
        self._sequence = 0
        self._file = None
        self._written = 0  # bytes appended to the current segment
        self._synced = 0  # bytes of the current segment known to be on disk
        self.bytes = 0  # this process's spooled bytes not yet stored
        self.events = 0
        self.active = False  # events wait here: new ones queue behind them
        self.refusing = False  # an event did not fit: full until the replay stores some
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._open_segment()
        threading.Thread(target=self._replay_forever, name="ingest-spool-replay", daemon=True).start()

    # -- appending --------------------------------------------------------------------------------

    def _open_segment(self) -> None:
        self._sequence += 1
        self._file = open(self.folder / f"{self._sequence:08d}{SEGMENT_SUFFIX}", "ab", buffering=0)
        self._written = self._synced = 0
        spool_file.fsync_directory(str(self.folder))

    def accept(self, prepared: PreparedEvent) -> None:
        """Append the event and return once it is on disk; ``SpoolFull`` past the bound."""
        record = spool_file.frame(spool_file.to_record(prepared))
        with self._lock:
            if self.bytes + len(record) > self.max_bytes:
                self.refusing = True
                raise SpoolFull(self.max_bytes)
            file = self._file
            file.write(record)
            self._written += len(record)
            position = self._written
            self.bytes += len(record)
            self.events += 1
            self.active = True
        self._sync(file, position)
        self._wake.set()

    def _sync(self, file, position: int) -> None:
        """fsync up to ``position``: one fsync covers every append made before it started, so
        concurrent requests share it as the writer's batches share a commit."""
        with self._sync_lock:
            if file is not self._file or self._synced >= position:
                return  # rotated since (the rotation synced it before closing it), or synced already
            target = self._written
            os.fsync(file.fileno())
            self._synced = max(self._synced, target)

    def _rotate(self) -> bool:
        """Close the current segment if it holds events (new ones go to a fresh one); whether any
        event is left anywhere in this spool."""
        with self._lock, self._sync_lock:
            if self._written:
                os.fsync(self._file.fileno())
                self._file.close()
                self._open_segment()
            if self.events == 0:
                self.active = False
            return self.active

    def _replayed(self, records: int, size: int) -> None:
        with self._lock:
            self.events -= records
            self.bytes -= size
            self.refusing = False

    # -- replaying --------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop replaying and let the folder go: what it still holds is left for the next process."""
        self._closed.set()
        self._wake.set()
        with self._lock:
            self._file.close()
            os.close(self._lock_descriptor)

    def _replay_forever(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if not self.active or self._closed.is_set():
                continue
            try:
                with self.app.app_context():
                    self.replay()
                _replay_outage.succeeded()
                self.last_error = None
            except Exception as exc:
                if database_unavailable(exc):
                    _replay_outage.failed("spooled events wait on disk")
                else:
                    log.exception("the spool's replay failed")
                self.last_error = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                time.sleep(BACKOFF_SECONDS)

    def replay(self) -> int:
        """Store what this spool holds, in order, then what gone processes left; the number stored.
        Raises (the database is down again) with the rest left on disk for the next try."""
        stored = 0
        while True:
            left = self._rotate()
            current = Path(self._file.name).name
            closed = [s for s in _segments(self.folder) if s.name != current]
            if not closed:
                if left:  # counted events no segment holds: nothing more can be read back
                    with self._lock:
                        self.events = self.bytes = 0
                        self.active = False
                break
            for segment in closed:
                stored += replay_segment(self.root, segment, self._replayed)
        return stored + replay_left_behind(self.root, self.folder)

    def state(self) -> dict:
        rejected = self.root / "rejected"
        return {"events": self.events, "bytes": self.bytes, "max_bytes": self.max_bytes,
                "full": self.refusing,
                "left_behind_bytes": left_behind_bytes(self.root, self.folder),
                "rejected": len(list(rejected.glob("*.json"))) if rejected.exists() else 0,
                "last_error": self.last_error}


# --- the process's spool --------------------------------------------------------------------------

_spools: dict[int, Spool] = {}
_spools_lock = threading.Lock()


def spool_root(app: Flask) -> Path:
    return Path(app.config.get("INGEST_SPOOL_DIR") or Path(app.instance_path) / "spool")


def enabled(app: Flask) -> bool:
    return app.config.get("INGEST_SPOOL_MAX_BYTES", 0) > 0


def current_spool(app: Flask) -> Spool | None:
    """This process's spool of ``app`` if it has one (the hot path's question: does it hold events?)."""
    spool = _spools.get(id(app))
    return spool if spool is not None and spool.pid == os.getpid() else None


def spool_for(app: Flask) -> Spool:
    """This process's spool of ``app``, made at its first use (the spool must be ``enabled``)."""
    spool = current_spool(app)
    if spool is None:
        with _spools_lock:
            spool = current_spool(app)
            if spool is None:
                spool = _spools[id(app)] = Spool(app, spool_root(app), app.config["INGEST_SPOOL_MAX_BYTES"])
    return spool


def close_spools() -> None:
    """Close every spool of this process (between tests)."""
    with _spools_lock:
        for spool in _spools.values():
            if spool.pid == os.getpid():
                spool.close()
        _spools.clear()


def spool_state(app: Flask) -> dict:
    """What the health check reports: this process's spooled events, what gone processes left, the
    bound, the events set aside."""
    if not enabled(app):
        return {"ok": True, "enabled": False}
    spool = current_spool(app)
    if spool is not None:
        state = spool.state()
    else:
        root = spool_root(app)
        rejected = root / "rejected"
        state = {"events": 0, "bytes": 0, "max_bytes": app.config["INGEST_SPOOL_MAX_BYTES"], "full": False,
                 "left_behind_bytes": left_behind_bytes(root),
                 "rejected": len(list(rejected.glob("*.json"))) if rejected.exists() else 0, "last_error": None}
    waiting = state["events"] or state["left_behind_bytes"]
    state = {"ok": not waiting and not state["full"], "enabled": True, **state}
    if state["full"]:
        state["error"] = "the spool is full: ingest answers 503 until the database is back"
    elif waiting:
        state["error"] = (f"{state['events']} event(s) spooled here and {state['left_behind_bytes']} bytes "
                          "left by stopped processes, waiting to be stored")
    return state
