"""Ingest: turn each source's payload into one IncomingError (pure functions, no I/O)."""
from app.ingest.incoming import IncomingError, InvalidPayload

__all__ = ["IncomingError", "InvalidPayload"]
