"""Sentry envelopes: the newline-separated container every current Sentry SDK posts.

One JSON header line, then for each item a JSON header line and a payload. An item header may
give the payload's ``length`` (read exactly that many bytes) or not (the payload runs to the next
newline or the end). Browser SDKs send no lengths and no final newline; Python sends both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from app.ingest.incoming import MAX_NESTING, nested_too_deep

# Items that carry an error event. "error" is not an official type, but some SDKs have sent it.
EVENT_ITEM_TYPES = frozenset({"event", "error"})
# Items worth keeping beside the event (a user's own words about the crash).
USER_REPORT_ITEM_TYPES = frozenset({"user_report", "feedback"})
# What the SDK dropped before sending (sample rate, before_send, a full queue ...): counted per service.
CLIENT_REPORT_ITEM_TYPE = "client_report"
MAX_ITEMS = 1000
MAX_DISCARDED_ROWS = 100  # an SDK reports a handful of (reason, category) pairs
MAX_QUANTITY = 2**31 - 1


class EnvelopeError(ValueError):
    """An envelope that cannot be read; ``status`` is the HTTP answer (400 malformed, 413 too big)."""

    def __init__(self, message: str, status: int = 400, field: str | None = None,
                 code: str = "malformed_envelope"):
        super().__init__(message)
        self.message, self.status, self.field, self.code = message, status, field, code


@dataclass
class EnvelopeItem:
    """One item: its header (``type``, ``length``, ...) and its raw payload bytes."""

    type: str
    headers: dict
    payload: bytes

    def json(self, max_bytes: int) -> dict:
        """The payload as a JSON object; 413 past ``max_bytes``, 400 when it is not a JSON object."""
        return parse_event_json(self.payload, max_bytes, field=f"{self.type} item")


@dataclass
class Envelope:
    headers: dict
    items: list[EnvelopeItem] = field(default_factory=list)

    def first(self, types: frozenset[str]) -> EnvelopeItem | None:
        """The first item of one of ``types``; the protocol allows one event per envelope."""
        for item in self.items:
            if item.type in types:
                return item
        return None


def _header(line: bytes, what: str) -> dict:
    try:
        value = orjson.loads(line) if line.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"the {what} is not valid JSON: {exc}", field=what) from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"the {what} must be a JSON object", field=what)
    return value


def parse_envelope(body: bytes) -> Envelope:
    """Split an envelope into its header and items (payloads stay bytes until someone needs them)."""
    end = body.find(b"\n")
    if end < 0:
        end = len(body)
    envelope = Envelope(headers=_header(body[:end], "envelope header"))
    position = end + 1
    size = len(body)
    while position < size:
        end = body.find(b"\n", position)
        if end < 0:
            end = size
        line = body[position:end]
        position = end + 1
        if not line.strip():
            continue  # blank lines between items and trailing newlines carry nothing
        if len(envelope.items) >= MAX_ITEMS:
            raise EnvelopeError(f"an envelope may hold at most {MAX_ITEMS} items", 413, code="payload_too_large")
        headers = _header(line, "item header")
        length = headers.get("length")
        if length is not None:
            if isinstance(length, bool) or not isinstance(length, int) or length < 0:
                raise EnvelopeError("an item's 'length' must be a whole number of bytes", field="length")
            if position + length > size:
                raise EnvelopeError("an item is shorter than its 'length' says", field="length")
            payload = body[position:position + length]
            position += length
            if body[position:position + 1] == b"\n":
                position += 1
        else:
            end = body.find(b"\n", position)
            if end < 0:
                end = size
            payload = body[position:end]
            position = end + 1
        item_type = headers.get("type")
        envelope.items.append(EnvelopeItem(item_type if isinstance(item_type, str) else "", headers, payload))
    return envelope


def parse_event_json(payload: bytes, max_bytes: int, field: str = "event") -> dict:
    """One event's JSON; 413 past ``max_bytes``, 400 when it is not a JSON object."""
    if len(payload) > max_bytes:
        raise EnvelopeError(f"the {field} is larger than {max_bytes} bytes", 413, field=field,
                            code="payload_too_large")
    if not payload.strip():
        raise EnvelopeError(f"the {field} is empty", field=field, code="malformed_json")
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"the {field} is not valid JSON: {exc}", field=field, code="malformed_json") from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"the {field} must be a JSON object", field=field, code="malformed_json")
    if deep := nested_too_deep(value, payload):
        raise EnvelopeError(f"'{deep}' of the {field} nests more than {MAX_NESTING} levels deep", field=deep,
                            code="invalid_field")
    return value


def discarded_counts(report: dict) -> dict[tuple[str, str], int]:
    """A client report's ``discarded_events`` as quantities by (reason, category); entries of another
    shape are skipped (a client report never costs the envelope anything)."""
    counts: dict[tuple[str, str], int] = {}
    entries = report.get("discarded_events")
    if not isinstance(entries, list):
        return counts
    for entry in entries[:MAX_DISCARDED_ROWS]:
        if not isinstance(entry, dict):
            continue
        reason, category, quantity = entry.get("reason"), entry.get("category"), entry.get("quantity")
        if not isinstance(reason, str) or not isinstance(category, str) or not reason or not category:
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            continue
        key = (reason.replace("\x00", "")[:64], category.replace("\x00", "")[:64])
        counts[key] = min(MAX_QUANTITY, counts.get(key, 0) + quantity)
    return counts
