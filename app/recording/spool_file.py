"""The spool's files: an append-only sequence of framed records, readable after any crash.

A record is ``HWS1``, its length (4 bytes, big-endian), the CRC-32 of its body (4 bytes) and the body.
A process killed in the middle of an append leaves a torn last record; reading stops at the first
record whose frame or checksum does not hold, so what was written whole (and fsynced, so
acknowledged) is read back and a torn tail is not. A record is at most ``MAX_RECORD_BYTES``; a
length past it is a torn or foreign frame, not an allocation.
"""
from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator

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
