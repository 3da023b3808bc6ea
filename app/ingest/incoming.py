"""IncomingError: what every source's payload becomes before it is recorded."""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

TRUNCATION_MARKER = "…[truncated]"
MAX_MESSAGE_CHARS = 8192
MAX_STACK_TRACE_CHARS = 65536
MAX_TAGS = 100
MAX_TAG_KEY = 64
MAX_TAG_VALUE = 200
MAX_JSON_DEPTH = 8
# Deeper than this, a body is refused before anything walks it: orjson parses 1,000 levels, and the
# normalisers' recursion (and repr, and json.dumps) would hit Python's recursion limit on them.
MAX_NESTING = 64

# Keys every webhook shape may carry besides its own (shared/DESIGN.md section 4).
COMMON_FIELDS = frozenset({
    "severity", "level", "environment", "release", "user", "request", "tags", "timestamp", "fingerprint",
    "endpoint", "server_name", "extra", "event_id",
})


def nested_too_deep(payload: dict, body: bytes | None = None, limit: int = MAX_NESTING) -> str | None:
    """The top-level field under which ``payload`` nests more than ``limit`` levels, else None.

    ``body``, the JSON it was parsed from, makes the common case cheap: with no more brackets than
    ``limit`` it cannot be too deep, and nothing is walked. The walk is iterative, so a hostile depth
    cannot exhaust the stack that is meant to be protected.
    """
    if body is not None and body.count(b"[") + body.count(b"{") <= limit:
        return None
    for name, value in payload.items():
        stack = [(value, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > limit:
                return name
            if type(node) is dict:
                stack.extend((child, depth + 1) for child in node.values())
            elif type(node) is list:
                stack.extend((child, depth + 1) for child in node)
    return None


class InvalidPayload(ValueError):
    """A payload that cannot be accepted; ``field`` names the offending field."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid_field"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


@dataclass
class IncomingError:
    """One error event, normalised, ready to be recorded (app/recording: ``prepare``, then ``record_prepared``).

    ``exceptions`` is the chain, cause first and the raised exception last; each is
    ``{"type", "value", "module", "frames"}`` with frames oldest first (Sentry's order).
    """

    service_id: int
    source: str
    error_type: str
    message: str
    severity: str | None = None
    endpoint: str | None = None
    stack_trace: str | None = None
    exceptions: list[dict] = field(default_factory=list)
    user: dict | None = None
    request: dict | None = None
    tags: dict[str, str] = field(default_factory=dict)
    environment: str | None = None
    release: str | None = None
    server_name: str | None = None
    platform: str | None = None
    timestamp: dt.datetime | None = None
    fingerprint: list[str] | None = None
    event_id: str | None = None
    http_status: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The body the fields were made from, as received (capped): scrubbing reads it to know whether the
    # fields can hold anything to filter (app/ingest/scrubbing.py).
    raw_payload: str | None = None
    kind: str = "error"  # "security" for a browser's security report (app/ingest/sources/security.py)
    # The frames' in_app came from the client (a Sentry SDK, the JSON API's frames), not from a parser's
    # guess: a frame the client called in app stays so unless a service rule says otherwise (app/ingest/in_app.py).
    client_in_app: bool = False

    @property
    def frames(self) -> list[dict]:
        """The frames of the raised (last) exception."""
        return self.exceptions[-1]["frames"] if self.exceptions else []


# --- field helpers shared by the normalisers -------------------------------------------------

def truncate(value: str | None, limit: int) -> str | None:
    """Cut an over-long string and mark it, rather than rejecting the event."""
    if value is None:
        return None
    if len(value) <= limit:
        return value
    return value[: max(0, limit - len(TRUNCATION_MARKER))] + TRUNCATION_MARKER


def optional_str(payload: dict, name: str, limit: int = 255, *, required: bool = False,
                 field_name: str | None = None) -> str | None:
    """A string field; numbers are accepted and turned into text, anything else is a 400."""
    value = payload.get(name)
    label = field_name or name
    if value is None or value == "":
        if required:
            raise InvalidPayload(f"'{label}' is required", label, "missing_field")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidPayload(f"'{label}' must be a string", label)
    return truncate(strip_nul(str(value)), limit)


def strip_nul(text: str) -> str:
    """Drop NUL characters: PostgreSQL rejects them in text and JSONB, and they carry nothing."""
    return text.replace("\x00", "") if "\x00" in text else text


def optional_object(payload: dict, name: str) -> dict | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidPayload(f"'{name}' must be an object", name)
    return clean_json(value)


def parse_tags(value: Any, name: str = "tags") -> dict[str, str]:
    """Tags as an object or a list of [key, value] pairs; values become strings."""
    if value is None:
        return {}
    pairs: list[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise InvalidPayload(f"'{name}' must be an object or a list of [key, value] pairs", name)
    else:
        raise InvalidPayload(f"'{name}' must be an object", name)
    tags: dict[str, str] = {}
    for key, item in pairs[:MAX_TAGS]:
        if item is None:
            continue
        tags[_tag_key(strip_nul(str(key)))] = truncate(
            strip_nul(item if isinstance(item, str) else str(item)), MAX_TAG_VALUE)
    return tags


def _tag_key(key: str) -> str:
    # Long keys often share their start ("feature_flag.checkout..."): a digest of the whole key
    # keeps them apart after the cut, and the same long key always gets the same short one.
    if len(key) <= MAX_TAG_KEY:
        return key
    digest = hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()[:8]
    return key[: MAX_TAG_KEY - len(TRUNCATION_MARKER) - 9] + "~" + digest + TRUNCATION_MARKER


def parse_timestamp(value: Any, name: str = "timestamp") -> dt.datetime | None:
    """RFC 3339 / ISO 8601 text (Z or an offset, any fraction) or epoch seconds; no zone means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidPayload(f"'{name}' must be an ISO 8601 time or epoch seconds", name)
    try:
        if isinstance(value, (int, float)):
            seconds = float(value)
            if seconds > 1e11:  # milliseconds, as JavaScript's Date.now() gives
                seconds /= 1000.0
            return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
        if not isinstance(value, str) or len(value) > 64:
            raise ValueError
        text = value.strip()
        try:
            return parse_timestamp(float(text), name)
        except InvalidPayload:
            raise
        except ValueError:
            pass
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python 3.11 reads at most 6 fractional digits; SDKs send up to 9.
        head, dot, rest = text.partition(".")
        if dot:
            digits = 0
            while digits < len(rest) and rest[digits].isdigit():
                digits += 1
            text = head + "." + rest[:min(digits, 6)].ljust(6, "0") + rest[digits:]
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        # Year 1 or 9999 with an offset falls outside datetime's range once moved to UTC.
        return parsed.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise InvalidPayload(f"'{name}' must be an ISO 8601 time or epoch seconds", name) from None


def parse_fingerprint(value: Any) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [truncate(value, 512)]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                       for v in value):
        return [truncate(str(v), 512) for v in value[:20]]
    raise InvalidPayload("'fingerprint' must be a string or a list of strings", "fingerprint")


def parse_event_id(value: Any) -> str | None:
    """A client's event id (32 hex characters or a dashed UUID), canonicalised."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidPayload("'event_id' must be a UUID", "event_id")
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise InvalidPayload("'event_id' must be a UUID (32 hex characters)", "event_id") from None


def clean_json(value: Any, depth: int = 0) -> Any:
    """Drop NUL characters (PostgreSQL rejects them in text and JSONB) and cap nesting."""
    if isinstance(value, str):
        return strip_nul(value)
    if depth >= MAX_JSON_DEPTH:
        return "[too deep]"
    # Strings, numbers and None inside are cleaned in the loops, not by a call each: this runs on
    # every stored event (a 15-frame stack is some 300 values) and the calls were most of its cost.
    inner = depth + 1
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            key = key if type(key) is str else str(key)
            if "\x00" in key:
                key = key.replace("\x00", "")
            if type(item) is str:
                cleaned[key] = item.replace("\x00", "") if "\x00" in item else item
            elif inner < MAX_JSON_DEPTH and (item is None or type(item) is int or type(item) is bool):
                cleaned[key] = item
            else:
                cleaned[key] = clean_json(item, inner)
        return cleaned
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if type(item) is str:
                items.append(item.replace("\x00", "") if "\x00" in item else item)
            elif inner < MAX_JSON_DEPTH and (item is None or type(item) is int or type(item) is bool):
                items.append(item)
            else:
                items.append(clean_json(item, inner))
        return items
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


SYNONYMS = {
    "critical": "critical", "fatal": "critical", "emergency": "critical", "emerg": "critical",
    "alert": "critical", "crit": "critical",
    "high": "high", "error": "high", "err": "high", "severe": "high",
    "medium": "medium", "warning": "medium", "warn": "medium",
    "low": "low", "notice": "low",
    "info": "info", "information": "info", "informational": "info", "debug": "info", "trace": "info",
    "log": "info",  # the JavaScript SDKs' console level; Relay reads it as info
    "fine": "info", "finer": "info", "finest": "info", "config": "info", "verbose": "info",
}

def normalise_severity(value: Any, field: str = "severity") -> str:
    """Map a payload's severity or level (any common synonym, any case) to ours, or raise 400."""
    if isinstance(value, int) and not isinstance(value, bool):
        # Syslog numbers (0 emergency .. 7 debug), as some loggers send them, and Python's logging
        # levels (10 debug .. 50 critical), which Relay accepts as an event's level.
        numbered = {0: "critical", 1: "critical", 2: "critical", 3: "high", 4: "medium", 5: "low", 6: "info",
                    7: "info", 10: "info", 20: "info", 30: "medium", 40: "high", 50: "critical"}
        if value in numbered:
            return numbered[value]
    if isinstance(value, str):
        mapped = SYNONYMS.get(value.strip().lower())
        if mapped:
            return mapped
    raise InvalidPayload(
        f"'{field}' must be one of critical, high, medium, low, info (or fatal, error, warning, notice, debug)",
        field,
    )


def apply_common_fields(incoming: IncomingError, payload: dict, known: frozenset[str]) -> IncomingError:
    """Read the optional fields every source may carry, and keep unknown ones as extra data."""
    severity_field = "severity" if payload.get("severity") is not None else "level"
    raw_severity = payload.get(severity_field)
    if raw_severity is not None and incoming.severity is None:
        incoming.severity = normalise_severity(raw_severity, field=severity_field)
    incoming.environment = optional_str(payload, "environment", 64) or incoming.environment
    incoming.release = optional_str(payload, "release", 128) or incoming.release
    incoming.server_name = optional_str(payload, "server_name", 255) or incoming.server_name
    incoming.endpoint = optional_str(payload, "endpoint", 512) or incoming.endpoint
    user = optional_object(payload, "user")
    if user is not None:
        incoming.user = user
    request = optional_object(payload, "request")
    if request is not None:
        incoming.request = request
    incoming.tags.update(parse_tags(payload.get("tags")))
    timestamp = parse_timestamp(payload.get("timestamp"))
    if timestamp is not None:
        incoming.timestamp = timestamp
    fingerprint = parse_fingerprint(payload.get("fingerprint"))
    if fingerprint is not None:
        incoming.fingerprint = fingerprint
    event_id = parse_event_id(payload.get("event_id"))
    if event_id is not None:
        incoming.event_id = event_id
    extra = payload.get("extra")
    if extra is not None:
        if not isinstance(extra, dict):
            raise InvalidPayload("'extra' must be an object", "extra")
        incoming.extra.update(clean_json(extra))
    for key, value in payload.items():
        if key not in known and key not in COMMON_FIELDS:
            incoming.extra[strip_nul(str(key))[:64]] = clean_json(value)
    if not incoming.endpoint and incoming.request:
        incoming.endpoint = endpoint_from_request(incoming.request)
    return incoming


def endpoint_from_request(request: dict) -> str | None:
    """'GET /users/12' from a request's method and URL (scheme, host and query dropped)."""
    url = request.get("url") or request.get("path")
    if not isinstance(url, str) or not url:
        return None
    if "://" in url:
        url = "/" + url.split("://", 1)[1].partition("/")[2]
    path = url.partition("?")[0].partition("#")[0] or "/"
    method = request.get("method")
    if isinstance(method, str) and method:
        path = f"{method.upper()[:10]} {path}"
    return truncate(path, 512)


def error_chain(error_type: str | None, message: str | None, frames: list[dict]) -> list[dict]:
    """A one-exception chain for sources that send a single exception."""
    return [{"type": error_type, "value": message, "module": None, "frames": frames}]
