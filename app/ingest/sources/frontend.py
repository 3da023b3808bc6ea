"""``POST /webhook/frontend/``: a browser error event (window.onerror, unhandledrejection, React,
Angular). ``{"message", "name", "stack", "filename", "lineno", "colno", "url", "userAgent",
"componentStack", "framework", "type", "reason"}``."""
from __future__ import annotations

from app.ingest.incoming import (
    MAX_MESSAGE_CHARS, MAX_STACK_TRACE_CHARS, IncomingError, InvalidPayload, apply_common_fields,
    optional_str, strip_nul, truncate,
)
from app.ingest.stacktraces import make_frame, parse_js_stack, parse_react_component_stack

KNOWN = frozenset({"message", "name", "stack", "filename", "lineno", "colno", "url", "userAgent",
                   "componentStack", "framework", "type", "reason"})
UNCAUGHT_PREFIXES = ("Uncaught (in promise) ", "Uncaught ")


def _number(payload: dict, key: str) -> int | None:
    value = payload.get(key)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidPayload(f"'{key}' must be a number", key) from None


def normalise(payload: dict, service_id: int) -> IncomingError:
    event_type = optional_str(payload, "type", 32) or "error"
    reason = payload.get("reason")
    name = optional_str(payload, "name", 255)
    message = optional_str(payload, "message", MAX_MESSAGE_CHARS)
    stack = optional_str(payload, "stack", MAX_STACK_TRACE_CHARS)
    rejection = event_type == "unhandledrejection"
    if rejection and reason is not None:
        if isinstance(reason, dict):
            name = name or optional_str(reason, "name", 255, field_name="reason.name")
            message = message or optional_str(reason, "message", MAX_MESSAGE_CHARS, field_name="reason.message")
            stack = stack or optional_str(reason, "stack", MAX_STACK_TRACE_CHARS, field_name="reason.stack")
        elif isinstance(reason, (list, bool)):
            message = message or truncate(strip_nul(str(reason)), MAX_MESSAGE_CHARS)
        else:
            # A promise rejected with a plain value (a string, a number): that value is the message.
            message = message or optional_str(payload, "reason", MAX_MESSAGE_CHARS)
    if not message:
        raise InvalidPayload("'message' is required", "message", "missing_field")
    # Browsers prefix uncaught errors ("Uncaught ", "Uncaught (in promise) " in Chrome); the same
    # error caught and reported by the app has no prefix, and both must group together.
    for prefix in UNCAUGHT_PREFIXES:
        if message.startswith(prefix):
            message = message[len(prefix):]
            break
    chain = parse_js_stack(stack) if stack else []
    parsed_type = chain[-1].get("type") if chain else None
    head, sep, rest = message.partition(": ")
    if sep and rest and " " not in head and head in (name, parsed_type, None if name else head):
        # window.onerror's message repeats the type ("TypeError: x is undefined").
        name, message = name or head, rest
    error_type = name or parsed_type or ("UnhandledRejection" if rejection else "Error")
    if not chain or not chain[-1]["frames"]:
        filename = optional_str(payload, "filename", 1000)
        frames = []
        if filename:
            frames.append(make_frame(filename=filename, abs_path=filename, lineno=_number(payload, "lineno"),
                                     colno=_number(payload, "colno"), in_app=True))
        chain = [{"type": error_type, "value": message, "module": None, "frames": frames}]
    else:
        chain[-1]["type"], chain[-1]["value"] = error_type, message
    incoming = IncomingError(service_id=service_id, source="frontend", error_type=error_type,
                             message=message, platform="javascript", stack_trace=stack, exceptions=chain)
    page = optional_str(payload, "url", 2000)
    user_agent = optional_str(payload, "userAgent", 512)
    if page or user_agent:
        incoming.request = {"url": page, "headers": {"User-Agent": user_agent} if user_agent else {}}
    framework = optional_str(payload, "framework", 32)
    if framework:
        incoming.tags["framework"] = framework
    if event_type != "error":
        incoming.tags["event_type"] = event_type
    component_stack = optional_str(payload, "componentStack", MAX_STACK_TRACE_CHARS)
    if component_stack:
        incoming.extra["component_stack"] = parse_react_component_stack(component_stack)
        incoming.extra["component_stack_raw"] = component_stack
    return apply_common_fields(incoming, payload, KNOWN)
