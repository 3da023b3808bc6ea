"""``POST /webhook/mobile/``: a Flutter/Dart error. ``{"exception", "message", "stackTrace",
"library", "context", "platform", "appVersion", "device"}``."""
from __future__ import annotations

from app.ingest.incoming import (
    MAX_MESSAGE_CHARS, MAX_STACK_TRACE_CHARS, IncomingError, InvalidPayload, apply_common_fields,
    optional_str, truncate,
)
from app.ingest.stacktraces import parse_dart_stack

KNOWN = frozenset({"exception", "message", "stackTrace", "stack_trace", "library", "context", "platform",
                   "appVersion", "device"})


def normalise(payload: dict, service_id: int) -> IncomingError:
    exception = optional_str(payload, "exception", MAX_MESSAGE_CHARS)
    message = optional_str(payload, "message", MAX_MESSAGE_CHARS)
    if not exception and not message:
        raise InvalidPayload("'exception' or 'message' is required", "exception", "missing_field")
    error_type = exception or "FlutterError"
    # Flutter reports often carry only the exception's toString(): "FormatException: Invalid radix".
    head, sep, rest = error_type.partition(": ")
    if sep and " " not in head:
        error_type, message = head, message or rest
    elif " " in error_type.strip():
        message, error_type = message or error_type, "FlutterError"
    message = message or error_type
    key = "stackTrace" if payload.get("stackTrace") is not None else "stack_trace"
    stack = optional_str(payload, key, MAX_STACK_TRACE_CHARS, field_name="stackTrace")
    chain = parse_dart_stack(stack) if stack else []
    if chain:
        chain[-1]["type"], chain[-1]["value"] = error_type, message
    device = payload.get("device")
    if device is not None and not isinstance(device, dict):
        raise InvalidPayload("'device' must be an object", "device")
    incoming = IncomingError(service_id=service_id, source="mobile", error_type=truncate(error_type, 255),
                             message=message, platform="dart", stack_trace=stack, exceptions=chain)
    os_name = optional_str(payload, "platform", 32)
    if os_name:
        incoming.tags["os"] = os_name
    library = optional_str(payload, "library", 200)
    if library:
        incoming.tags["library"] = library
    context = optional_str(payload, "context", 1000)
    if context:
        incoming.extra["context"] = context
    if device:
        incoming.extra["device"] = device
    incoming.release = optional_str(payload, "appVersion", 128)
    return apply_common_fields(incoming, payload, KNOWN)
