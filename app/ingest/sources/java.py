"""``POST /webhook/java/``: a logstash-logback-encoder JSON event, or a structured exception.

Log event: ``{"@timestamp", "message", "logger_name", "thread_name", "level", "stack_trace", ...MDC}``.
Structured: ``{"exception": "com.x.FooException", "message", "frames": [{"className", "methodName",
"fileName", "lineNumber"}], "cause": {...same}}``.
"""
from __future__ import annotations

from app.ingest.incoming import (
    MAX_MESSAGE_CHARS, MAX_STACK_TRACE_CHARS, IncomingError, InvalidPayload, apply_common_fields,
    optional_str, parse_timestamp, truncate,
)
from app.ingest.sources.api import http_status_of
from app.ingest.stacktraces import parse_java_elements, parse_java_stack_trace

KNOWN = frozenset({"@timestamp", "@version", "message", "logger_name", "thread_name", "level_value",
                   "stack_trace", "exception", "frames", "cause", "HOSTNAME", "status_code", "http_status"})
MAX_CAUSES = 10


def _structured_chain(payload: dict) -> list[dict]:
    chain: list[dict] = []
    node, depth, path = payload, 0, ""
    while isinstance(node, dict) and depth < MAX_CAUSES:
        frames = node.get("frames") or []
        if not isinstance(frames, list):
            raise InvalidPayload(f"'{path}frames' must be a list of stack-trace elements", f"{path}frames")
        chain = parse_java_elements(frames, exception_type=node.get("exception"),
                                    message=node.get("message")) + chain
        node, depth, path = node.get("cause"), depth + 1, path + "cause."
    return chain


def normalise(payload: dict, service_id: int) -> IncomingError:
    log_message = optional_str(payload, "message", MAX_MESSAGE_CHARS)
    stack_trace = optional_str(payload, "stack_trace", MAX_STACK_TRACE_CHARS)
    exception = payload.get("exception")
    if exception is not None and not isinstance(exception, str):
        raise InvalidPayload("'exception' must be the exception's class name", "exception")
    if stack_trace:
        chain = parse_java_stack_trace(stack_trace)
    elif exception:
        chain = _structured_chain(payload)
    elif log_message:
        chain = []
    else:
        raise InvalidPayload("a Java event needs 'stack_trace', 'exception' or 'message'", "message",
                             "missing_field")
    raised = chain[-1] if chain else {}
    error_type = raised.get("type") or exception or optional_str(payload, "logger_name", 255) or "JavaLogEvent"
    message = raised.get("value") or log_message or error_type
    incoming = IncomingError(service_id=service_id, source="java", error_type=truncate(error_type, 255),
                             message=truncate(message, MAX_MESSAGE_CHARS), platform="java",
                             stack_trace=stack_trace, exceptions=chain, http_status=http_status_of(payload))
    if log_message and log_message != message:
        incoming.extra["log_message"] = log_message
    for key in ("logger_name", "thread_name"):
        value = optional_str(payload, key, 200)
        if value:
            incoming.tags[key] = value
    incoming.server_name = optional_str(payload, "HOSTNAME", 255)
    incoming.timestamp = parse_timestamp(payload.get("@timestamp"), "@timestamp")
    return apply_common_fields(incoming, payload, KNOWN)
