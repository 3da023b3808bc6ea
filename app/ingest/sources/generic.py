"""``POST /webhook/generic/``: ``{"message"}`` is enough; a stack trace in any known format is parsed."""
from __future__ import annotations

from app.ingest.incoming import (
    MAX_MESSAGE_CHARS, MAX_STACK_TRACE_CHARS, IncomingError, apply_common_fields, optional_str,
)
from app.ingest.sources.api import http_status_of, parse_frames
from app.ingest.stacktraces import detect_and_parse

KNOWN = frozenset({"error_type", "type", "message", "stack_trace", "stacktrace", "frames", "platform",
                   "status_code", "http_status"})


def normalise(payload: dict, service_id: int) -> IncomingError:
    """Any JSON object with a message; the error type comes from the payload or the parsed trace."""
    message = optional_str(payload, "message", MAX_MESSAGE_CHARS, required=True)
    platform = optional_str(payload, "platform", 32)
    stack_key = "stack_trace" if payload.get("stack_trace") is not None else "stacktrace"
    stack_trace = optional_str(payload, stack_key, MAX_STACK_TRACE_CHARS, field_name="stack_trace")
    error_type = optional_str(payload, "error_type", 255) or optional_str(payload, "type", 255)
    exceptions = []
    if payload.get("frames") is not None:
        exceptions = [{"type": error_type, "value": message, "module": None,
                       "frames": parse_frames(payload["frames"])}]
    elif stack_trace:
        exceptions = detect_and_parse(stack_trace, platform)
        error_type = error_type or exceptions[-1].get("type")
        exceptions[-1]["type"] = error_type
        exceptions[-1]["value"] = exceptions[-1].get("value") or message
    incoming = IncomingError(service_id=service_id, source="generic", error_type=error_type or "Error",
                             message=message, platform=platform, stack_trace=stack_trace,
                             exceptions=exceptions, http_status=http_status_of(payload),
                             client_in_app=payload.get("frames") is not None)
    return apply_common_fields(incoming, payload, KNOWN)
