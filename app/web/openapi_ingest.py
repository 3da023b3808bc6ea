"""The ingest part of the OpenAPI document: ``POST /api/errors/``, the webhooks, the Sentry endpoints.

Written by hand, unlike the JSON API's part (app/web/openapi.py, generated from app/web/schemas.py):
ingest is lenient on purpose (synonyms, several shapes, unknown fields kept as extra data) and on the
hot path, so no model validates it, and this text says what the normalisers in app/ingest accept. The
error envelope and the shared error answers are here too: the JSON API answers its errors the same way.
"""
from __future__ import annotations

from app.models import SEVERITIES, STATUSES
from app.web.openapi_examples import EXAMPLES

# Accepted on input besides our own names, case-insensitive (app/ingest/incoming.py SYNONYMS).
SEVERITY_WORDS = ("critical", "high", "medium", "low", "info", "fatal", "emergency", "alert", "error", "severe",
                  "warning", "warn", "notice", "debug", "trace", "log")


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """``schema`` or null."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    schema = dict(schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _out(properties: dict, description: str | None = None) -> dict:
    """A response object: every property is always present, and there are no others."""
    schema = {"type": "object", "properties": properties, "required": list(properties),
              "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
UUID = {"type": "string", "format": "uuid"}
SEVERITY = {"type": "string", "enum": list(SEVERITIES)}
STATUS = {"type": "string", "enum": list(STATUSES)}
JSON_OBJECT = {"type": "object", "additionalProperties": True}


# --- what clients send ------------------------------------------------------------------------

COMMON_INPUT = {
    "severity": {"type": ["string", "integer"], "examples": ["critical", "error", "warning"],
                 "description": "critical, high, medium, low or info; the usual synonyms are accepted in any "
                                f"case ({', '.join(SEVERITY_WORDS)}), syslog numbers 0-7 and Python's logging "
                                "levels 10-50. Unset: classified by the severity rules."},
    "level": {"type": ["string", "integer"], "description": "Same as `severity` (used when `severity` is absent)."},
    "environment": {"type": "string", "maxLength": 64, "examples": ["production"]},
    "release": {"type": "string", "maxLength": 128, "examples": ["web@5.8.1"]},
    "server_name": {"type": "string", "maxLength": 255},
    "endpoint": {"type": "string", "maxLength": 512, "examples": ["POST /checkout"],
                 "description": "Where it happened; unset: the request's method and path."},
    "user": {**JSON_OBJECT, "examples": [{"id": "42", "email": "ada@example.org"}]},
    "request": {**JSON_OBJECT, "description": "`url`, `method`, `headers`, ...; `status_code` (or "
                "`response.status_code`) feeds the severity rules.",
                "examples": [{"url": "https://shop.example.com/checkout", "method": "POST"}]},
    "tags": {"description": "An object, or a list of [key, value] pairs; values become strings. At most 100; keys "
             "are cut to 64 characters and values to 200.",
             "oneOf": [{"type": "object", "additionalProperties": True},
                       {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}}]},
    "timestamp": {"type": ["string", "number"], "examples": ["2024-06-01T12:00:00.123Z", 1717243200],
                  "description": "When it happened: RFC 3339 / ISO 8601 (no zone means UTC) or epoch seconds "
                                 "(milliseconds are recognised). Unset, or in the future: the time received."},
    "fingerprint": {"description": "Group by these parts instead of the default; `{{ default }}` stands for the "
                    "default grouping.", "oneOf": [STR, {"type": "array", "items": {"type": ["string", "number"]},
                                                          "maxItems": 20}]},
    "event_id": {"type": "string", "description": "The client's event id (32 hex or a dashed UUID): a resend of "
                 "the same id is stored once."},
    "extra": {**JSON_OBJECT, "description": "Anything else to keep with the occurrence."},
}
HTTP_STATUS_INPUT = {
    "status_code": {"type": ["integer", "string"], "description": "HTTP status of the failed request (severity rules)."},
    "http_status": {"type": ["integer", "string"], "description": "Same as `status_code`."},
}
FRAME_INPUT = {
    "type": "object", "description": "A stack frame. Lists of frames run oldest first, the raising frame last.",
    "properties": {
        "filename": STR, "abs_path": STR, "function": STR, "module": STR,
        "lineno": {"type": ["integer", "string"]}, "colno": {"type": ["integer", "string"]},
        "in_app": {"type": ["boolean", "string", "integer"], "description": "true/false (also \"true\", 1, 0)"},
        "context_line": STR, "pre_context": {"type": "array", "items": STR},
        "post_context": {"type": "array", "items": STR},
        "vars": {**JSON_OBJECT, "description": "The frame's local variables by name; kept bounded (50 names, "
                 "text cut to 512 characters, 64 KB an event: see docs/ingest.md)."},
    },
    "additionalProperties": True,
}
STACK_TRACE_TEXT = ("The stack trace as text, in any format Heartwatch parses (Python traceback, Java "
                    "printStackTrace, PHP getTraceAsString, JavaScript error.stack of V8/Firefox/Safari, Dart/"
                    "Flutter); the format is detected, `platform` is a hint. Longer than 65,536 characters: cut.")


def _input(properties: dict, required: list[str] | None = None, description: str | None = None,
           common: bool = True) -> dict:
    """A request body: unknown fields are kept with the occurrence as extra data."""
    schema = {"type": "object", "properties": {**properties, **(COMMON_INPUT if common else {})},
              "additionalProperties": True}
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


API_EVENT = _input({
    "error_type": {"type": "string", "maxLength": 255, "examples": ["ValueError"]},
    "message": {"type": "string", "description": "Cut at 8,192 characters."},
    "stack_trace": {"type": "string", "description": STACK_TRACE_TEXT},
    "frames": {"type": "array", "items": ref("FrameInput"), "description": "Structured frames instead of "
               "`stack_trace` (at most 250 kept, the newest)."},
    "platform": {"type": "string", "examples": ["python", "php", "java", "javascript", "dart"]},
    **HTTP_STATUS_INPUT,
}, ["error_type", "message"], "The generic event.")

PHP_FRAME = {
    "type": "object", "description": "One entry of PHP's Throwable::getTrace(), newest call first.",
    "properties": {"file": STR, "line": {"type": ["integer", "string"]}, "function": STR, "class": STR,
                   "type": {"type": "string", "enum": ["->", "::"]}},
    "additionalProperties": True,
}
LARAVEL_EXCEPTION = {
    "type": "object",
    "properties": {
        "class": {"type": "string", "examples": ["Illuminate\\Database\\QueryException"]},
        "message": STR, "code": {"type": ["integer", "string"]}, "file": STR, "line": INT,
        "trace": {"description": "getTrace() entries, or getTraceAsString() text.",
                  "oneOf": [{"type": "array", "items": ref("PhpTraceEntry")}, STR]},
        "previous": nullable(ref("LaravelException")),
    },
    "required": ["class"],
    "additionalProperties": True,
}
LARAVEL_EVENT = _input({"exception": ref("LaravelException"), **HTTP_STATUS_INPUT}, ["exception"],
                       "What a Laravel exception reporter posts; `previous` is the cause.")

JAVA_ELEMENT = {
    "type": "object", "description": "A StackTraceElement, newest first as getStackTrace() gives them.",
    "properties": {"className": STR, "methodName": STR, "fileName": STR, "lineNumber": INT,
                   "moduleName": STR, "nativeMethod": BOOL},
    "additionalProperties": True,
}
JAVA_STRUCTURED_CAUSE = {
    "type": "object",
    "properties": {"exception": STR, "message": STR, "frames": {"type": "array", "items": ref("JavaStackTraceElement")},
                   "cause": nullable(ref("JavaStructuredCause"))},
    "additionalProperties": True,
}
JAVA_LOG_EVENT = _input({
    "@timestamp": {"type": "string", "examples": ["2024-06-01T12:00:00.123+02:00"]},
    "@version": STR,
    "message": {"type": "string", "description": "The log message (kept as extra when the exception has its own)."},
    "logger_name": STR, "thread_name": STR,
    "level": {"type": "string", "examples": ["ERROR", "WARN", "SEVERE"]},
    "level_value": INT,
    "stack_trace": {"type": "string", "description": "printStackTrace() text, with its Caused by: chain."},
    "HOSTNAME": STR,
    **HTTP_STATUS_INPUT,
}, description="A JSON log event as logstash-logback-encoder writes it; MDC fields are kept as extra data. "
               "Needs `stack_trace` or `message`.")
JAVA_STRUCTURED_EVENT = _input({
    "exception": {"type": "string", "examples": ["java.lang.IllegalStateException"]},
    "message": STR,
    "frames": {"type": "array", "items": ref("JavaStackTraceElement")},
    "cause": nullable(ref("JavaStructuredCause")),
    **HTTP_STATUS_INPUT,
}, ["exception"], "An exception with its stack-trace elements and causes.")
JAVA_EVENT = {"anyOf": [ref("JavaLogEvent"), ref("JavaStructuredEvent")]}

FRONTEND_EVENT = _input({
    "message": {"type": "string", "description": "Required unless `reason` gives one; a leading \"Uncaught \" is "
                "dropped."},
    "name": {"type": "string", "examples": ["TypeError"]},
    "stack": {"type": "string", "description": "error.stack (V8, Firefox or Safari format)."},
    "filename": STR, "lineno": {"type": ["integer", "string"]}, "colno": {"type": ["integer", "string"]},
    "url": {"type": "string", "description": "The page."},
    "userAgent": STR,
    "componentStack": {"type": "string", "description": "React's component stack."},
    "framework": {"type": "string", "examples": ["react", "angular", "vue"]},
    "type": {"type": "string", "examples": ["error", "unhandledrejection"]},
    "reason": {"description": "The rejection reason of an unhandledrejection: an Error-like object or a value.",
               "oneOf": [{"type": "object", "properties": {"name": STR, "message": STR, "stack": STR}},
                         {"type": ["string", "number", "boolean", "array", "null"]}]},
}, description="A browser error event (window.onerror, unhandledrejection, a framework's error handler).")

MOBILE_EVENT = _input({
    "exception": {"type": "string", "description": "The type, or the exception's toString() "
                  "(\"FormatException: Invalid radix-10 number\"). Required unless `message` is given.",
                  "examples": ["FormatException"]},
    "message": STR,
    "stackTrace": {"type": "string", "description": "Dart stack text (VM or web format)."},
    "stack_trace": {"type": "string", "description": "Same as `stackTrace`."},
    "library": {"type": "string", "examples": ["widgets library"]},
    "context": {"type": "string", "examples": ["while building ProfileScreen"]},
    "platform": {"type": "string", "examples": ["android", "ios"]},
    "appVersion": {"type": "string", "description": "Becomes the release.", "examples": ["4.2.1+87"]},
    "device": JSON_OBJECT,
}, description="A Flutter/Dart error (FlutterError.onError, PlatformDispatcher.onError).")

GENERIC_EVENT = _input({
    "message": STR,
    "error_type": {"type": "string", "description": "Unset: from the parsed stack trace, else \"Error\"."},
    "type": {"type": "string", "description": "Same as `error_type`."},
    "stack_trace": {"type": "string", "description": STACK_TRACE_TEXT},
    "stacktrace": {"type": "string", "description": "Same as `stack_trace`."},
    "frames": {"type": "array", "items": ref("FrameInput")},
    "platform": STR,
    **HTTP_STATUS_INPUT,
}, ["message"], "Anything with a message.")


# --- what ingest answers --------------------------------------------------------------------------

INGEST_RESULT = _out({
    "error_id": UUID, "occurrence_id": UUID,
    "new": {"type": "boolean", "description": "True when this event created the error."},
    "status": STATUS, "severity": SEVERITY,
})
ERROR_BODY = _out({"error": _out({
    "code": {"type": "string", "examples": ["missing_field", "invalid_field", "malformed_json", "unauthorized",
                                            "payload_too_large", "rate_limited"]},
    "message": {"type": "string", "description": "For people: what is wrong and how to fix it."},
    "field": nullable({"type": "string", "description": "The offending field, header or parameter."}),
})}, "Every error answer of the API and the webhooks.")
SPOOLED_RESULT = _out({
    "occurrence_id": UUID,
    "spooled": {"type": "boolean", "const": True,
                "description": "The database could not take the event now: it is kept on the server's disk "
                               "and stored, grouped and notified once the database is back."},
})
SENTRY_ACCEPTED = {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
                   "additionalProperties": False,
                   "description": "The event id (32 hex), or {} when the envelope held no event."}

SCHEMAS = {
    "FrameInput": FRAME_INPUT, "ApiEvent": API_EVENT, "PhpTraceEntry": PHP_FRAME,
    "LaravelException": LARAVEL_EXCEPTION, "LaravelEvent": LARAVEL_EVENT, "JavaStackTraceElement": JAVA_ELEMENT,
    "JavaStructuredCause": JAVA_STRUCTURED_CAUSE, "JavaLogEvent": JAVA_LOG_EVENT,
    "JavaStructuredEvent": JAVA_STRUCTURED_EVENT, "JavaEvent": JAVA_EVENT, "FrontendEvent": FRONTEND_EVENT,
    "MobileEvent": MOBILE_EVENT, "GenericEvent": GENERIC_EVENT,
    "IngestResult": INGEST_RESULT, "SpooledResult": SPOOLED_RESULT, "Error": ERROR_BODY, "SentryAccepted": SENTRY_ACCEPTED,
}


# --- operations ---------------------------------------------------------------------------------

def json_content(schema: dict, example=None) -> dict:
    media = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def error_response(description: str) -> dict:
    return {"description": description, "content": json_content(ref("Error"))}


RESPONSES = {
    "BadRequest": error_response("Malformed JSON, a missing or invalid field or parameter (`field` names it)."),
    "Unauthorized": error_response("Missing, unknown or revoked key or token."),
    "PayloadTooLarge": error_response("The body is larger than 1 MiB (MAX_BODY_BYTES), before or after "
                                       "decompression."),
    "UnsupportedMediaType": error_response("Content-Type is not JSON, or Content-Encoding is not gzip, deflate, "
                                            "br or zstd."),
    "RateLimited": {
        "description": "The service sent more events this minute than its rate limit; the event was not kept "
                       "(the service's dropped-events counter counts it).",
        "headers": {"Retry-After": {"description": "Seconds until the window reopens.", "schema": INT}},
        "content": json_content(ref("Error")),
    },
    "Unavailable": {
        "description": "The database is unreachable and the event could not be kept: the server's spool is "
                       "full (INGEST_SPOOL_MAX_BYTES) or off, or the key was not seen before the outage. "
                       "Nothing was kept; send it again after Retry-After.",
        "headers": {"Retry-After": {"description": "Seconds to wait before sending again.", "schema": INT}},
        "content": json_content(ref("Error")),
    },
}
PARAMETERS = {
    "ServiceId": {"name": "service_id", "in": "path", "required": True, "schema": INT,
                  "description": "The service's id: the project id of its DSN."},
    "ContentEncoding": {"name": "Content-Encoding", "in": "header", "schema": {
        "type": "string", "enum": ["identity", "gzip", "x-gzip", "deflate", "br"]},
        "description": "A compressed body; the 1 MiB limit applies after decompression too."},
}
INGEST_SECURITY = [{"IngestKeyHeader": []}, {"IngestKeyQuery": []}]


def response_ref(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def parameter_ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _ingest_operation(summary: str, description: str, schema: str, example: dict, tag: str,
                      examples: dict | None = None) -> dict:
    media = {"schema": ref(schema)}
    if examples:
        media["examples"] = {name: {"value": value} for name, value in examples.items()}
    else:
        media["example"] = example
    return {
        "tags": [tag], "summary": summary, "description": description, "security": INGEST_SECURITY,
        "parameters": [parameter_ref("ContentEncoding")],
        "requestBody": {"required": True, "content": {"application/json": media, "text/plain": media}},
        "responses": {
            "201": {"description": "Recorded.", "content": json_content(ref("IngestResult"))},
            "202": {"description": "Accepted into the spool while the database is unreachable: durably kept, "
                                   "stored once the database is back.", "content": json_content(ref("SpooledResult"))},
            "400": response_ref("BadRequest"), "401": response_ref("Unauthorized"), "413": response_ref("PayloadTooLarge"),
            "415": response_ref("UnsupportedMediaType"), "429": response_ref("RateLimited"),
            "503": response_ref("Unavailable"),
        },
    }


def _sentry_operation(kind: str) -> dict:
    body = ("A Sentry envelope (newline-separated JSON headers and items, as the SDKs send it)"
            if kind == "envelope" else "One Sentry event as JSON (or base64 of zlib/gzip-compressed JSON)")
    return {
        "tags": ["sentry"], "summary": f"Sentry-compatible {kind} endpoint",
        "description": f"{body}. Point an official Sentry SDK's DSN at Heartwatch (`{{scheme}}://{{ingest key}}@"
                       "{host}/{service id}`) and it posts here. Authenticated by the DSN's key: the "
                       "`X-Sentry-Auth: Sentry sentry_key=...` header, `?sentry_key=`, or (envelopes) the "
                       "envelope header's `dsn`. gzip, deflate, br and zstd bodies are read.",
        "parameters": [parameter_ref("ServiceId"), parameter_ref("ContentEncoding")],
        "security": [{"SentryAuthHeader": []}, {"SentryKeyQuery": []}, {}],
        "requestBody": {"required": True, "content": {
            "application/x-sentry-envelope" if kind == "envelope" else "application/json":
                {"schema": {"type": "string"} if kind == "envelope" else JSON_OBJECT}}},
        "responses": {
            "200": {"description": "Accepted: stored, or kept in the spool while the database is unreachable.",
                    "content": json_content(ref("SentryAccepted"))},
            "400": response_ref("BadRequest"),
            "403": error_response("Missing key, or not a key of this service."),
            "404": error_response("The service id in the path is not a whole number."),
            "413": error_response("Envelope or event too large."),
            "415": response_ref("UnsupportedMediaType"),
            "429": {**RESPONSES["RateLimited"], "headers": {
                **RESPONSES["RateLimited"]["headers"],
                "X-Sentry-Rate-Limits": {"description": "`<seconds>:error;default:project`", "schema": STR}}},
            "503": response_ref("Unavailable"),
        },
    }


def paths(with_sentry: bool) -> dict:
    """The ingest operations, by path: the generic API, the five webhooks, the Sentry endpoints if served."""
    webhook_text = ("Authenticated by the service's ingest key; the answer is the same as `POST /api/errors/`'s. "
                    "Browsers may post cross-origin (the answer allows any origin), with `?key=` and a "
                    "`text/plain` body to avoid a preflight.")
    items = {
        "/api/errors/": {"post": _ingest_operation(
            "Report an error", "The generic JSON event. The service comes from the ingest key.", "ApiEvent",
            EXAMPLES["api"], "ingest")},
        "/webhook/laravel/": {"post": _ingest_operation(
            "Laravel exception", webhook_text, "LaravelEvent", EXAMPLES["laravel"], "webhooks")},
        "/webhook/java/": {"post": _ingest_operation(
            "Java log event or exception", webhook_text, "JavaEvent", EXAMPLES["java"], "webhooks",
            examples={"logstash": EXAMPLES["java"], "structured": EXAMPLES["java_structured"]})},
        "/webhook/frontend/": {"post": _ingest_operation(
            "Browser error", webhook_text, "FrontendEvent", EXAMPLES["frontend"], "webhooks")},
        "/webhook/mobile/": {"post": _ingest_operation(
            "Flutter/Dart error", webhook_text, "MobileEvent", EXAMPLES["mobile"], "webhooks")},
        "/webhook/generic/": {"post": _ingest_operation(
            "Any error", webhook_text, "GenericEvent", EXAMPLES["generic"], "webhooks")},
    }
    if with_sentry:
        items["/api/{service_id}/envelope/"] = {"post": _sentry_operation("envelope")}
        items["/api/{service_id}/store/"] = {"post": _sentry_operation("store")}
    return items
