"""Group commit: request threads hand events to one writer thread per process.

Measured on this machine, the per-event commit (its fsync) dominated the ingest path; the
writer commits whatever has queued up while the previous commit ran as one transaction, then
answers every waiting request. At low load a batch is one event and nothing waits; under load
batches grow and the commit cost is shared. Every acknowledged event is committed.
"""
from __future__ import annotations

import logging
import os
import queue
import threading

from flask import Flask, current_app

from app.ingest.incoming import IncomingError
from app.services.errors import RecordResult, record_errors

log = logging.getLogger("heartwatch.ingest")
ANSWER_TIMEOUT = 30.0


class _Slot:
    __slots__ = ("event", "done", "result", "error")

    def __init__(self, event: IncomingError):
        self.event = event
        self.done = threading.Event()
        self.result: RecordResult | None = None
        self.error: BaseException | None = None


class GroupCommitWriter:
    def __init__(self, app: Flask, max_batch: int, wait_ms: int):
        self.app = app
        self.max_batch = max_batch
        self.wait = wait_ms / 1000.0
        self.queue: queue.Queue[_Slot] = queue.Queue()
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="ingest-writer", daemon=True).start()

    def submit(self, event: IncomingError) -> RecordResult:
        slot = _Slot(event)
        self.queue.put(slot)
        if not slot.done.wait(ANSWER_TIMEOUT):
            raise TimeoutError("the ingest writer did not answer in time")
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _take_batch(self) -> list[_Slot]:
        batch = [self.queue.get()]
        while len(batch) < self.max_batch:
            try:
                batch.append(self.queue.get(timeout=self.wait) if self.wait else self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            with self.app.app_context():
                try:
                    results = record_errors([slot.event for slot in batch])
                    for slot, result in zip(batch, results, strict=True):
                        slot.result = result
                except Exception:
                    # One bad event must not fail the others: record them one by one.
                    if len(batch) > 1:
                        log.warning("batch of %d failed; recording one by one", len(batch), exc_info=True)
                    for slot in batch:
                        try:
                            slot.result = record_errors([slot.event])[0]
                        except Exception as exc:
                            slot.error = exc
            for slot in batch:
                slot.done.set()


_writers: dict[int, GroupCommitWriter] = {}
_lock = threading.Lock()


def submit_error(event: IncomingError) -> RecordResult:
    """Record one event and return once it is committed (through the group writer when enabled)."""
    app = current_app._get_current_object()
    max_batch = app.config.get("INGEST_BATCH_MAX", 0)
    if max_batch <= 1:
        return record_errors([event])[0]
    key = id(app)
    writer = _writers.get(key)
    if writer is None or writer.pid != os.getpid():
        with _lock:
            writer = _writers.get(key)
            if writer is None or writer.pid != os.getpid():
                writer = _writers[key] = GroupCommitWriter(app, max_batch,
                                                           app.config.get("INGEST_BATCH_WAIT_MS", 0))
    return writer.submit(event)
