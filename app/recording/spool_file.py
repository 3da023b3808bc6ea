"""The spool's files: an append-only sequence of framed records, readable after any crash, each
record a prepared event (app/recording/spool.py).

A record is ``HWS1``, its length (4 bytes, big-endian), the CRC-32 of its body (4 bytes) and the body.
A process killed in the middle of an append leaves a torn last record; reading stops at the first
record whose frame or checksum does not hold, so what was written whole (and fsynced, so
acknowledged) is read back and a torn tail is not. A record is at most ``MAX_RECORD_BYTES``; a
length past it is a torn or foreign frame, not an allocation.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import struct
import zlib
from collections.abc import Iterator

import orjson

from app.ingest.incoming import IncomingError
from app.recording.prepare import PreparedEvent

MAGIC = b"HWS1"
HEADER = struct.Struct(">4sII")
MAX_RECORD_BYTES = 16 * 1024 * 1024


def frame(body: bytes) -> bytes:
    """One record as it is written."""
    if len(body) > MAX_RECORD_BYTES:
        raise ValueError(f"a spool record is at most {MAX_RECORD_BYTES} bytes")
    return HEADER.pack(MAGIC, len(body), zlib.crc32(body)) + body


def read_records(path: str, offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """The whole records of the file from ``offset``: (the offset after the record, its body)."""
    with open(path, "rb") as file:
        file.seek(offset)
        while True:
            header = file.read(HEADER.size)
            if len(header) < HEADER.size:
                return
            magic, length, crc = HEADER.unpack(header)
            if magic != MAGIC or length > MAX_RECORD_BYTES:
                return
            body = file.read(length)
            if len(body) < length or zlib.crc32(body) != crc:
                return
            offset += HEADER.size + length
            yield offset, body


def write_offset(path: str, offset: int) -> None:
    """Keep how far a file has been replayed, durably (written aside, fsynced, renamed over)."""
    temporary = path + ".tmp"
    with open(temporary, "w") as file:
        file.write(str(offset))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def read_offset(path: str) -> int:
    try:
        with open(path) as file:
            return int(file.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def fsync_directory(path: str) -> None:
    """Make a file's creation or removal in ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- an event as a record -------------------------------------------------------------------------

def _datetime(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _iso(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_record(p: PreparedEvent) -> bytes:
    """A prepared event as the spool keeps it: everything the transaction writes."""
    data = {
        "incoming": dataclasses.asdict(p.incoming), "fingerprint": p.fingerprint, "severity": p.severity,
        "level": p.level, "occurrence_id": p.occurrence_id, "timestamp": p.timestamp,
        "received_at": p.received_at, "occurrence": p.occurrence,
    }
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson does not take (integers past 64 bits): the json module does
        return json.dumps(data, default=_iso).encode()


def from_record(body: bytes) -> PreparedEvent:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = json.loads(body)
    incoming = IncomingError(**data["incoming"])
    incoming.timestamp = _datetime(data["incoming"].get("timestamp"))
    occurrence = data["occurrence"]
    occurrence["timestamp"] = _datetime(occurrence["timestamp"])
    occurrence["received_at"] = _datetime(occurrence["received_at"])
    # Replayed by its occurrence id as a client's event id: a copy already stored is not stored twice.
    return PreparedEvent(incoming=incoming, fingerprint=data["fingerprint"], severity=data["severity"],
                         level=data["level"], occurrence_id=data["occurrence_id"], client_event_id=True,
                         timestamp=_datetime(data["timestamp"]), received_at=_datetime(data["received_at"]),
                         occurrence=occurrence)
