"""The generic JSON schema of ``POST /api/errors/``."""
from __future__ import annotations

from app.ingest.incoming import (
    MAX_MESSAGE_CHARS, MAX_STACK_TRACE_CHARS, IncomingError, InvalidPayload, apply_common_fields, error_chain,
    optional_str, strip_nul, truncate,
)
from app.ingest.stacktraces import detect_and_parse, limit_event_vars, make_frame

KNOWN = frozenset({"error_type", "message", "stack_trace", "frames", "platform", "status_code", "http_status"})
FRAME_KEYS = ("filename", "abs_path", "function", "module", "lineno", "colno", "in_app", "context_line",
              "pre_context", "post_context")
MAX_FRAMES = 250


def parse_frames(value, field: str = "frames") -> list[dict]:
    """Client-supplied frames (oldest first), validated key by key; ``vars`` (an object of local variables)
    is kept bounded as every source keeps it (app/ingest/stacktraces/frames.py)."""
    if not isinstance(value, list):
        raise InvalidPayload(f"'{field}' must be a list of frame objects", field)
    frames = []
    for index, item in enumerate(value[-MAX_FRAMES:]):
        if not isinstance(item, dict):
            raise InvalidPayload(f"'{field}[{index}]' must be an object", f"{field}[{index}]")
        frame = {}
        for key in FRAME_KEYS:
            raw = item.get(key)
            if raw is None:
                continue
            if key in ("lineno", "colno"):
                if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
                    raise InvalidPayload(f"'{field}[{index}].{key}' must be a number", f"{field}[{index}].{key}")
                try:
                    frame[key] = int(raw)
                except ValueError:
                    raise InvalidPayload(f"'{field}[{index}].{key}' must be a number",
                                         f"{field}[{index}].{key}") from None
            elif key == "in_app":
                frame[key] = _flag(raw, f"{field}[{index}].{key}")
            elif key in ("pre_context", "post_context"):
                if not isinstance(raw, list) or not all(isinstance(line, str) for line in raw):
                    raise InvalidPayload(f"'{field}[{index}].{key}' must be a list of source lines",
                                         f"{field}[{index}].{key}")
                frame[key] = [truncate(strip_nul(line), 1000) for line in raw[:20]]
            else:
                if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                    raise InvalidPayload(f"'{field}[{index}].{key}' must be a string", f"{field}[{index}].{key}")
                frame[key] = truncate(strip_nul(str(raw)), 1000)
        local_vars = item.get("vars")
        if local_vars is not None and not isinstance(local_vars, dict):
            raise InvalidPayload(f"'{field}[{index}].vars' must be an object of variable names and values",
                                 f"{field}[{index}].vars")
        frames.append(make_frame(**frame, vars=local_vars))
    limit_event_vars([{"frames": frames}])
    return frames


def _flag(value, field: str) -> bool:
    # "false" is truthy in Python; clients that stringify booleans mean the opposite.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InvalidPayload(f"'{field}' must be true or false", field)


def _status(value) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 3:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return None


def http_status_of(payload: dict) -> int | None:
    """The HTTP status of the failed request, when the payload says it (for severity rules)."""
    for key in ("status_code", "http_status"):
        status = _status(payload.get(key))
        if status:
            return status
    request = payload.get("request")
    if isinstance(request, dict):
        response = request.get("response")
        nested = response.get("status_code") if isinstance(response, dict) else None
        return _status(request.get("status_code")) or _status(nested)
    return None


def normalise(payload: dict, service_id: int) -> IncomingError:
    """``{"error_type", "message", ...}``: see docs/ingest.md for every field."""
    error_type = optional_str(payload, "error_type", 255, required=True)
    message = optional_str(payload, "message", MAX_MESSAGE_CHARS, required=True)
    platform = optional_str(payload, "platform", 32)
    stack_trace = optional_str(payload, "stack_trace", MAX_STACK_TRACE_CHARS)
    incoming = IncomingError(service_id=service_id, source="api", error_type=error_type, message=message,
                             platform=platform, stack_trace=stack_trace, http_status=http_status_of(payload))
    if payload.get("frames") is not None:
        incoming.exceptions = error_chain(error_type, message, parse_frames(payload["frames"]))
        incoming.client_in_app = True
    elif stack_trace:
        incoming.exceptions = detect_and_parse(stack_trace, platform)
        raised = incoming.exceptions[-1]
        raised["type"], raised["value"] = error_type, message
    return apply_common_fields(incoming, payload, KNOWN)
