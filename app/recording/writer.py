"""Group commit: request threads hand events to one writer thread per process.

Measured on this machine, the per-event commit (its fsync) dominated the ingest path; the
writer commits whatever has queued up while the previous commit ran as one transaction, then
answers every waiting request. At low load a batch is one event and nothing waits; under load
batches grow and the commit cost is shared. Every acknowledged event is committed.

The writer's loop is the one serial part of ingest, so it does as little as it can: request threads
prepare their events (severity, fingerprint, ids) before handing them over, the writer keeps one
connection of its own while events keep coming (no pool check-out and liveness ping per batch, and
request threads holding pool connections can never starve it), and it answers the waiting requests
before the hand-off to the feed and the job queue.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from _thread import allocate_lock

from flask import Flask, current_app

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.ingest.scrubbing import ParsedPayload
from app.ingest.settings import DEFAULT_SETTINGS, IngestSettings
from app.recording.prepare import PreparedEvent, prepare
from app.platform import metrics
from app.platform.outage import OutageLog
from app.platform.sql import database_unavailable
from app.recording.record import RecordResult, after_record, record_prepared
from app.platform.refusal import Unavailable
from app.recording import spool

log = logging.getLogger("heartwatch.ingest")
ANSWER_TIMEOUT = 30.0
# An idle writer gives its connection back to the pool after this long.
IDLE_SECONDS = 5.0
log_outage = OutageLog(log, "recording events in the database")


class _Slot:
    __slots__ = ("event", "done", "result", "error")

    def __init__(self, event: PreparedEvent):
        self.event = event
        # A bare lock, taken here and released by the writer once the answer is in: half the cost of a
        # threading.Event (a Condition and a waiter lock per request) on the hand-off each event makes.
        self.done = allocate_lock()
        self.done.acquire()
        self.result: RecordResult | None = None
        self.error: BaseException | None = None


class GroupCommitWriter:
    def __init__(self, app: Flask, max_batch: int, wait_ms: int):
        self.app = app
        self.max_batch = max_batch
        self.wait = wait_ms / 1000.0
        # SimpleQueue (in C): put and get without the Python-level lock and Condition of queue.Queue.
        self.queue: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        self.pid = os.getpid()
        self.connection = None
        threading.Thread(target=self._run, name="ingest-writer", daemon=True).start()

    def submit(self, event: PreparedEvent) -> RecordResult:
        slot = _Slot(event)
        self.queue.put(slot)
        if not slot.done.acquire(timeout=ANSWER_TIMEOUT):
            raise TimeoutError("the ingest writer did not answer in time")
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _take_batch(self) -> list[_Slot]:
        try:
            first = self.queue.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            self._release_connection()
            first = self.queue.get()
        # Everything already queued, then whatever arrives within INGEST_BATCH_WAIT_MS of the first event:
        # the wait is for the batch, not per event (per event, a steady trickle stretched one batch's
        # collection to many times the setting while its first requests waited).
        batch = [first]
        deadline = time.monotonic() + self.wait
        while len(batch) < self.max_batch:
            try:
                batch.append(self.queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _release_connection(self, broken: bool = False) -> None:
        if self.connection is None:
            return
        try:
            if broken:
                self.connection.invalidate()
            self.connection.close()
        except Exception:
            log.warning("could not release the ingest writer's connection", exc_info=True)
        self.connection = None

    def _record(self, batch: list[_Slot]) -> None:
        try:
            if self.connection is None:
                self.connection = db.engine.connect()
            results = record_prepared([slot.event for slot in batch], connection=self.connection,
                                      hand_off=False)
            metrics.writer_batch(len(batch))
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except Exception as exc:
            # The connection may be what failed (a restarted database): start the next batch on a new one.
            self._release_connection(broken=True)
            if database_unavailable(exc):  # every event would fail alike: each goes to the spool
                for slot in batch:
                    slot.error = exc
                return
            # One bad event must not fail the others: record them one by one.
            if len(batch) > 1:
                log.warning("batch of %d failed; recording one by one", len(batch), exc_info=True)
            for slot in batch:
                try:
                    slot.result = record_prepared([slot.event], hand_off=False)[0]
                except Exception as exc:
                    slot.error = exc

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            with self.app.app_context():
                try:
                    self._record(batch)
                finally:  # never leave a request waiting for an answer
                    for slot in batch:
                        if slot.result is None and slot.error is None:
                            slot.error = RuntimeError("the ingest writer stopped before recording this event")
                        slot.done.release()
                # After the answers: the feed and the job queue need not hold anyone up.
                try:
                    after_record([slot.result for slot in batch if slot.result is not None])
                except Exception:  # the events are committed and answered; the sweep hands them off
                    log.exception("hand-off after a batch failed")


_writers: dict[int, GroupCommitWriter] = {}
_lock = threading.Lock()


def submit_error(event: IncomingError, settings: IngestSettings = DEFAULT_SETTINGS,
                 parsed: ParsedPayload | None = None) -> RecordResult:
    """Record one event and return once it is committed, or once it is durably in the spool when the
    database cannot take it (``RecordResult.spooled``): the HTTP routes' way in. The event is prepared
    here, in the request's thread, and recorded by ``record_prepared``, in the group writer's batch when
    INGEST_BATCH_MAX is above 1, else in a transaction of its own. ``settings`` are the service's
    (its IngestService's): scrubbing and in-app rules. Raises ``SpoolFull`` (a 503) when the database
    is unreachable and the spool is full. ``parsed``: the view's look at the raw payload, for ``prepare``."""
    app = current_app._get_current_object()
    prepared = prepare(event, settings=settings, parsed=parsed)  # here, not in the writer's serial loop
    waiting = spool.current_spool(app)
    if waiting is not None and waiting.active:  # events wait in the spool: this one queues behind them
        return _spooled(waiting, prepared)
    try:
        result = _record_now(app, prepared)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        if not spool.enabled(app):
            raise Unavailable("the database is unreachable; retry later", retry_after=spool.RETRY_AFTER_SECONDS) \
                from exc
        log_outage.failed("events go to the spool")
        return _spooled(spool.spool_for(app), prepared)
    log_outage.succeeded()
    return result


def _spooled(into: spool.Spool, prepared: PreparedEvent) -> RecordResult:
    into.accept(prepared)
    i = prepared.incoming
    return RecordResult(None, prepared.occurrence_id, i.service_id, "spooled", prepared.severity, spooled=True)


def _record_now(app: Flask, prepared: PreparedEvent) -> RecordResult:
    max_batch = app.config.get("INGEST_BATCH_MAX", 0)
    if max_batch <= 1:
        return record_prepared([prepared])[0]
    key = id(app)
    writer = _writers.get(key)
    if writer is None or writer.pid != os.getpid():
        with _lock:
            writer = _writers.get(key)
            if writer is None or writer.pid != os.getpid():
                writer = _writers[key] = GroupCommitWriter(app, max_batch,
                                                           app.config.get("INGEST_BATCH_WAIT_MS", 0))
    return writer.submit(prepared)
