"""The OpenAPI 3.1 document of every endpoint under /api/ and /webhook/, served at GET /api/openapi.json.

Written by hand, so it can say what the code cannot (why a field exists, which synonyms a severity
accepts); tests/views/test_openapi.py keeps it honest: every route is documented and nothing else,
and real answers validate against the response schemas below.
"""
from __future__ import annotations

import copy
from functools import lru_cache

from flask import current_app

from app.models import CHANNELS, NOTIFICATION_STATUSES, ROLES, SEVERITIES, STATUSES

SOURCES = ("api", "generic", "laravel", "java", "frontend", "mobile", "sentry")
ERROR_SORTS = ("last_seen", "first_seen", "occurrences", "severity")
# Accepted on input besides our own names, case-insensitive (app/ingest/incoming.py SYNONYMS).
SEVERITY_WORDS = ("critical", "high", "medium", "low", "info", "fatal", "emergency", "alert", "error", "severe",
                  "warning", "warn", "notice", "debug", "trace")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _null(schema: dict) -> dict:
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
TIME = {"type": "string", "format": "date-time"}
UUID = {"type": "string", "format": "uuid"}
SEVERITY = {"type": "string", "enum": list(SEVERITIES)}
STATUS = {"type": "string", "enum": list(STATUSES)}
JSON_OBJECT = {"type": "object", "additionalProperties": True}


# --- what clients send ------------------------------------------------------------------------

COMMON_INPUT = {
    "severity": {"type": ["string", "integer"], "examples": ["critical", "error", "warning"],
                 "description": "critical, high, medium, low or info; the usual synonyms are accepted in any "
                                f"case ({', '.join(SEVERITY_WORDS)}), and syslog numbers 0-7. Unset: "
                                "classified by the severity rules."},
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
    "frames": {"type": "array", "items": _ref("FrameInput"), "description": "Structured frames instead of "
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
                  "oneOf": [{"type": "array", "items": _ref("PhpTraceEntry")}, STR]},
        "previous": _null(_ref("LaravelException")),
    },
    "required": ["class"],
    "additionalProperties": True,
}
LARAVEL_EVENT = _input({"exception": _ref("LaravelException"), **HTTP_STATUS_INPUT}, ["exception"],
                       "What a Laravel exception reporter posts; `previous` is the cause.")

JAVA_ELEMENT = {
    "type": "object", "description": "A StackTraceElement, newest first as getStackTrace() gives them.",
    "properties": {"className": STR, "methodName": STR, "fileName": STR, "lineNumber": INT,
                   "moduleName": STR, "nativeMethod": BOOL},
    "additionalProperties": True,
}
JAVA_STRUCTURED_CAUSE = {
    "type": "object",
    "properties": {"exception": STR, "message": STR, "frames": {"type": "array", "items": _ref("JavaStackTraceElement")},
                   "cause": _null(_ref("JavaStructuredCause"))},
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
    "frames": {"type": "array", "items": _ref("JavaStackTraceElement")},
    "cause": _null(_ref("JavaStructuredCause")),
    **HTTP_STATUS_INPUT,
}, ["exception"], "An exception with its stack-trace elements and causes.")
JAVA_EVENT = {"anyOf": [_ref("JavaLogEvent"), _ref("JavaStructuredEvent")]}

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
    "frames": {"type": "array", "items": _ref("FrameInput")},
    "platform": STR,
    **HTTP_STATUS_INPUT,
}, ["message"], "Anything with a message.")


# --- what Heartwatch answers ------------------------------------------------------------------

FRAME = _out({
    "filename": STR, "abs_path": _null(STR), "function": _null(STR), "module": _null(STR),
    "lineno": _null(INT), "colno": _null(INT), "in_app": BOOL, "context_line": _null(STR),
    "pre_context": _null({"type": "array", "items": STR}), "post_context": _null({"type": "array", "items": STR}),
}, "A parsed stack frame.")
EXCEPTION = _out({
    "type": _null(STR), "value": _null(STR), "module": _null(STR),
    "frames": {"type": "array", "items": _ref("Frame"), "description": "Oldest first, the raising frame last."},
}, "One exception of a chain.")
DEVELOPER_BRIEF = _out({"id": INT, "name": STR, "email": STR})
SUMMARY_FIELDS = {
    "error_id": UUID, "service_id": INT, "service": _null(STR), "error_type": STR, "message": STR,
    "culprit": _null({"type": "string", "description": "Where it was raised: \"function in file\"."}),
    "endpoint": _null(STR), "severity": {**SEVERITY, "description": "The highest seen."}, "status": STATUS,
    "resolved": BOOL, "assigned_to": _null(_ref("DeveloperBrief")), "occurrence_count": INT,
    "first_seen": TIME, "last_seen": TIME, "environment": _null(STR), "release": _null(STR),
    "platform": _null(STR), "regression_count": INT,
}
OCCURRENCE = _out({
    "occurrence_id": UUID, "error_id": UUID, "source": {"type": "string", "enum": list(SOURCES)},
    "timestamp": TIME, "received_at": TIME, "message": _null(STR), "severity": SEVERITY,
    "exceptions": {"type": "array", "items": _ref("Exception"), "description": "The chain, cause first."},
    "frames": {"type": "array", "items": _ref("Frame"), "description": "The raised exception's frames."},
    "stack_trace": _null(STR), "user": _null(JSON_OBJECT), "request": _null(JSON_OBJECT),
    "tags": {"type": "object", "additionalProperties": STR}, "extra": JSON_OBJECT,
    "environment": _null(STR), "release": _null(STR), "server_name": _null(STR), "endpoint": _null(STR),
}, "One event received for an error.")
ERROR_SUMMARY = _out(SUMMARY_FIELDS, "A tracked error: every event of a service with one fingerprint.")
ERROR_DETAIL = _out({
    **SUMMARY_FIELDS,
    "fingerprint": STR, "resolved_at": _null(TIME), "resolved_by": _null(_ref("DeveloperBrief")),
    "resolution_note": _null(STR), "assigned_at": _null(TIME), "regressed_at": _null(TIME),
    "pattern_id": _null(INT),
    "latest_occurrence": {**_null(_ref("Occurrence")), "description": "Null in the answers of actions "
                          "(resolve, assign)."},
}, "An error with its latest occurrence.")
INGEST_RESULT = _out({
    "error_id": UUID, "occurrence_id": UUID,
    "new": {"type": "boolean", "description": "True when this event created the error."},
    "status": STATUS, "severity": SEVERITY,
})
SEVERITY_COUNTS = _out({s: INT for s in reversed(SEVERITIES)})
DEVELOPER = _out({
    "id": INT, "name": STR, "email": STR, "phone": _null(STR), "role": {"type": "string", "enum": list(ROLES)},
    "on_call": {"type": "boolean", "description": "The on-call flag a lead or the developer set."},
    "on_call_now": {"type": "boolean", "description": "On call at this moment: the flag, a shift or an override."},
    "max_load": INT,
    "current_load": _null({"type": "integer", "description": "Open errors assigned."}),
    "active": BOOL, "slack_member_id": _null(STR),
    "services": {"type": "array", "items": STR, "description": "Slugs of the services they know."},
})
WORKLOAD_ITEM = _out({
    "developer_id": INT, "name": STR, "role": {"type": "string", "enum": list(ROLES)},
    "on_call": {"type": "boolean", "description": "On call now: the flag, a shift or an override."},
    "current_load": INT, "max_load": INT,
    "available": {"type": "boolean", "description": "Active, on call and below max load: routing may pick them."},
    "open_by_severity": _ref("SeverityCounts"),
})
STATS = _out({
    "total": INT, "open": INT, "by_severity": _ref("SeverityCounts"),
    "by_status": _out({s: INT for s in STATUSES}),
    "by_service": {"type": "array", "items": _out({"service_id": INT, "service": STR, "errors": INT, "open": INT})},
    "window_hours": INT,
    "occurrences_per_hour": {"type": "array", "items": _out({
        "hour": {"type": "string", "examples": ["2024-06-01T12:00"], "description": "UTC hour."},
        "occurrences": INT})},
    "avg_resolution_seconds": _null({"type": "number"}),
})
PATTERN = _out({
    "id": INT, "error_type": STR, "normalised_message": STR, "occurrence_count": INT, "error_count": INT,
    "affected_services": {"type": "array"}, "common_endpoints": {"type": "array"},
    "severity_distribution": {"type": "object", "additionalProperties": INT},
    "first_occurrence": _null(TIME), "last_occurrence": _null(TIME), "detected_at": TIME,
    "trend": _null({"type": "string", "examples": ["rising", "falling", "stable", "new"]}),
    "last_24h": INT, "previous_24h": INT,
}, "Similar errors across services: the same type and normalised message.")
NOTIFICATION = _out({
    "id": INT, "error_id": _null(UUID), "recipient_id": _null(INT),
    "recipient": {"type": "string", "description": "Address, number, channel or URL."},
    "channel": {"type": "string", "enum": list(CHANNELS)},
    "event": {"type": "string", "examples": ["error.created", "error.regressed", "error.escalated"]},
    "status": {"type": "string", "enum": list(NOTIFICATION_STATUSES)},
    "subject": _null(STR), "retry_count": INT, "next_retry_at": _null(TIME), "last_error": _null(STR),
    "created_at": TIME, "sent_at": _null(TIME),
}, "One delivery attempt (the audit trail of notifications).")
ESCALATION = _out({
    "id": INT, "error_id": UUID, "level": INT, "reason": STR, "automatic": BOOL,
    "escalated_from": _null(_ref("DeveloperBrief")), "escalated_to": _null(_ref("DeveloperBrief")),
    "created_at": TIME,
})
ERROR_BODY = _out({"error": _out({
    "code": {"type": "string", "examples": ["missing_field", "invalid_field", "malformed_json", "unauthorized",
                                            "payload_too_large", "rate_limited"]},
    "message": {"type": "string", "description": "For people: what is wrong and how to fix it."},
    "field": _null({"type": "string", "description": "The offending field, header or parameter."}),
})}, "Every error answer of the API and the webhooks.")


def _page(item: str) -> dict:
    return _out({"items": {"type": "array", "items": _ref(item)}, "total": INT,
                 "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1,
                                                                          "maximum": 100}},
                f"One page of {item} items; `total` counts them all.")


def _listing(item: str) -> dict:
    return _out({"items": {"type": "array", "items": _ref(item)}, "total": INT})


SCHEMAS = {
    "FrameInput": FRAME_INPUT, "ApiEvent": API_EVENT, "PhpTraceEntry": PHP_FRAME,
    "LaravelException": LARAVEL_EXCEPTION, "LaravelEvent": LARAVEL_EVENT, "JavaStackTraceElement": JAVA_ELEMENT,
    "JavaStructuredCause": JAVA_STRUCTURED_CAUSE, "JavaLogEvent": JAVA_LOG_EVENT,
    "JavaStructuredEvent": JAVA_STRUCTURED_EVENT, "JavaEvent": JAVA_EVENT, "FrontendEvent": FRONTEND_EVENT,
    "MobileEvent": MOBILE_EVENT, "GenericEvent": GENERIC_EVENT,
    "IngestResult": INGEST_RESULT, "Error": ERROR_BODY, "Frame": FRAME, "Exception": EXCEPTION,
    "DeveloperBrief": DEVELOPER_BRIEF, "ErrorSummary": ERROR_SUMMARY, "ErrorDetail": ERROR_DETAIL,
    "Occurrence": OCCURRENCE, "SeverityCounts": SEVERITY_COUNTS, "Developer": DEVELOPER,
    "WorkloadItem": WORKLOAD_ITEM, "Stats": STATS, "Pattern": PATTERN, "Notification": NOTIFICATION,
    "Escalation": ESCALATION,
    "ErrorPage": _page("ErrorSummary"), "OccurrencePage": _page("Occurrence"), "PatternPage": _page("Pattern"),
    "NotificationPage": _page("Notification"), "ErrorList": _listing("ErrorSummary"),
    "DeveloperList": _listing("Developer"), "WorkloadList": _listing("WorkloadItem"),
    "SentryAccepted": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
                       "additionalProperties": False,
                       "description": "The event id (32 hex), or {} when the envelope held no event."},
}


# --- example payloads (docs/ingest.md shows the same ones as curl commands) ---------------------

EXAMPLES = {
    "api": {
        "error_type": "KeyError", "message": "'embedding'", "severity": "error", "platform": "python",
        "environment": "production", "release": "ai-api@3.14.0",
        "request": {"url": "https://ai.example.com/api/v1/search/similar/?document=48213", "method": "GET"},
        "user": {"id": "10482", "email": "m.kowalski@example.org"}, "tags": {"region": "eu-west-1"},
        "stack_trace": "Traceback (most recent call last):\n"
                       '  File "/srv/app/search/views.py", line 29, in similar_documents\n'
                       "    vector = index.lookup(document_id)['embedding']\n"
                       '  File "/srv/app/search/index.py", line 77, in lookup\n'
                       "    return self._cache[document_id]\n"
                       "KeyError: 'embedding'",
    },
    "laravel": {
        "exception": {
            "class": "Illuminate\\Database\\Eloquent\\ModelNotFoundException",
            "message": "No query results for model [App\\Models\\Order] 48213", "code": 0,
            "file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Database/Eloquent/Builder.php",
            "line": 621,
            "trace": [
                {"file": "/var/www/html/app/Http/Controllers/OrderController.php", "line": 35,
                 "function": "findOrFail", "class": "App\\Models\\Order", "type": "::"},
                {"file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Routing/Controller.php",
                 "line": 54, "function": "show", "class": "App\\Http\\Controllers\\OrderController",
                 "type": "->"},
            ],
        },
        "request": {"url": "https://shop.example.com/orders/48213", "method": "GET"},
        "user": {"id": 1042, "email": "ada@example.org"}, "environment": "production", "level": "notice",
    },
    "java": {
        "@timestamp": "2024-06-01T12:00:00.123+02:00", "@version": "1",
        "message": "Request processing failed: POST /api/v1/routes",
        "logger_name": "com.example.geo.routing.RouteController", "thread_name": "http-nio-8080-exec-7",
        "level": "ERROR", "level_value": 40000, "HOSTNAME": "geo-1", "requestId": "5f2c0a9e",
        "stack_trace": "java.lang.IllegalStateException: Route planner not ready\n"
                       "\tat com.example.geo.routing.RouteService.plan(RouteService.java:112)\n"
                       "\tat com.example.geo.routing.RouteController.createRoute(RouteController.java:57)\n"
                       "Caused by: java.io.FileNotFoundException: /data/graph/eu-west.bin\n"
                       "\tat java.base/java.io.FileInputStream.open0(Native Method)\n"
                       "\tat com.example.geo.routing.GraphLoader.load(GraphLoader.java:40)\n"
                       "\t... 2 more",
    },
    "java_structured": {
        "exception": "java.lang.ArrayIndexOutOfBoundsException", "message": "Index 3 out of bounds for length 3",
        "frames": [
            {"className": "com.example.geo.routing.Polyline", "methodName": "decode", "fileName": "Polyline.java",
             "lineNumber": 64},
            {"className": "com.example.geo.routing.RouteController", "methodName": "importRoute",
             "fileName": "RouteController.java", "lineNumber": 84},
        ],
        "environment": "production",
    },
    "frontend": {
        "message": "Cannot read properties of undefined (reading 'map')", "name": "TypeError",
        "stack": "TypeError: Cannot read properties of undefined (reading 'map')\n"
                 "    at ProductList (https://shop.example.com/static/js/main.8c1f2e4a.js:2:104233)\n"
                 "    at renderWithHooks (https://shop.example.com/static/js/vendors~main.3b9d0c71.chunk.js:2:2811904)",
        "url": "https://shop.example.com/category/shoes", "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        "componentStack": "\n    at ProductList\n    at CategoryPage\n    at App", "framework": "react",
        "release": "frontend@1.42.0",
    },
    "mobile": {
        "exception": "FormatException", "message": "Invalid radix-10 number (at character 3)",
        "stackTrace": "#0      int._throwFormatException (dart:core-patch/integers_patch.dart:195:5)\n"
                      "#1      int.parse (dart:core-patch/integers_patch.dart:63:12)\n"
                      "#2      OrderTotal.fromJson (package:shop_app/models/order_total.dart:31:22)\n"
                      "<asynchronous suspension>\n"
                      "#3      CheckoutCubit.load (package:shop_app/checkout/checkout_cubit.dart:44:7)",
        "library": "package:shop_app", "platform": "android", "appVersion": "4.2.1+87",
        "device": {"model": "Pixel 7", "osVersion": "14"},
    },
    "generic": {
        "message": "Nightly export failed: disk quota exceeded", "error_type": "ExportError",
        "severity": "warning", "environment": "production", "tags": {"job": "nightly-export"},
    },
}


# --- operations ---------------------------------------------------------------------------------

def _json(schema: dict, example=None) -> dict:
    media = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _error_response(description: str) -> dict:
    return {"description": description, "content": _json(_ref("Error"))}


RESPONSES = {
    "BadRequest": _error_response("Malformed JSON, a missing or invalid field or parameter (`field` names it)."),
    "Unauthorized": _error_response("Missing, unknown or revoked key or token."),
    "Forbidden": _error_response("The token's developer may not do this (a lead, manager or admin may)."),
    "NotFound": _error_response("No such object."),
    "Conflict": _error_response("Not possible in the object's current state (resolved already, not open)."),
    "PayloadTooLarge": _error_response("The body is larger than 1 MiB (MAX_BODY_BYTES), before or after "
                                       "decompression."),
    "UnsupportedMediaType": _error_response("Content-Type is not JSON, or Content-Encoding is not gzip, deflate, "
                                            "br or zstd."),
    "RateLimited": {
        "description": "The service sent more events this minute than its rate limit; the event was not kept "
                       "(the service's dropped-events counter counts it).",
        "headers": {"Retry-After": {"description": "Seconds until the window reopens.", "schema": INT}},
        "content": _json(_ref("Error")),
    },
}
PARAMETERS = {
    "ErrorId": {"name": "error_id", "in": "path", "required": True, "schema": UUID},
    "DeveloperId": {"name": "developer_id", "in": "path", "required": True, "schema": INT},
    "ServiceId": {"name": "service_id", "in": "path", "required": True, "schema": INT,
                  "description": "The service's id: the project id of its DSN."},
    "Page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000,
                                                        "default": 1}},
    "PerPage": {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                               "default": 25}},
    "ContentEncoding": {"name": "Content-Encoding", "in": "header", "schema": {
        "type": "string", "enum": ["identity", "gzip", "x-gzip", "deflate", "br"]},
        "description": "A compressed body; the 1 MiB limit applies after decompression too."},
}
INGEST_SECURITY = [{"IngestKeyHeader": []}, {"IngestKeyQuery": []}]


def _r(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _p(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _ingest_operation(summary: str, description: str, schema: str, example: dict, tag: str,
                      examples: dict | None = None) -> dict:
    media = {"schema": _ref(schema)}
    if examples:
        media["examples"] = {name: {"value": value} for name, value in examples.items()}
    else:
        media["example"] = example
    return {
        "tags": [tag], "summary": summary, "description": description, "security": INGEST_SECURITY,
        "parameters": [_p("ContentEncoding")],
        "requestBody": {"required": True, "content": {"application/json": media, "text/plain": media}},
        "responses": {
            "201": {"description": "Recorded.", "content": _json(_ref("IngestResult"))},
            "400": _r("BadRequest"), "401": _r("Unauthorized"), "413": _r("PayloadTooLarge"),
            "415": _r("UnsupportedMediaType"), "429": _r("RateLimited"),
        },
    }


def _read(summary: str, schema: str, parameters: list | None = None, description: str | None = None,
          errors: tuple[str, ...] = ()) -> dict:
    operation = {"tags": ["errors"], "summary": summary, "parameters": parameters or [],
                 "responses": {"200": {"description": "OK", "content": _json(_ref(schema))},
                               "401": _r("Unauthorized")}}
    if description:
        operation["description"] = description
    for status in errors:
        operation["responses"][status] = _r({"400": "BadRequest", "403": "Forbidden", "404": "NotFound",
                                             "409": "Conflict"}[status])
    return operation


def _action(summary: str, body: dict | None, status: str, schema: str, errors: tuple[str, ...],
            description: str | None = None, body_required: bool = True, tag: str = "errors") -> dict:
    operation = _read(summary, schema, [_p("ErrorId")], description, errors)
    operation["tags"] = [tag]
    if status != "200":
        operation["responses"][status] = operation["responses"].pop("200")
        operation["responses"][status]["description"] = "Created."
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": _json(body)}
    return operation


def _csv_enum(values, description: str) -> dict:
    return {"type": "string", "description": description, "examples": [",".join(list(values)[:2])],
            "pattern": "^(" + "|".join(values) + ")(,(" + "|".join(values) + "))*$"}


ERROR_FILTERS = [
    {"name": "service", "in": "query", "description": "Service ids or slugs, comma-separated.",
     "schema": {"type": "string"}, "example": "django-ai,3"},
    {"name": "severity", "in": "query", "schema": _csv_enum(SEVERITIES, "Comma-separated severities.")},
    {"name": "status", "in": "query", "schema": _csv_enum((*STATUSES, "open"),
                                                          "Comma-separated statuses; `open` means new, "
                                                          "assigned and in_progress.")},
    {"name": "assigned_to", "in": "query", "description": "A developer id, `me` (the token's developer), or "
     "`none`/`unassigned`.", "schema": {"type": "string", "pattern": "^([0-9]+|me|none|unassigned)$"}},
    {"name": "environment", "in": "query", "schema": STR},
    {"name": "q", "in": "query", "description": "Text in the error type or message (case-insensitive; the "
     "first 200 characters count).", "schema": STR},
    {"name": "since", "in": "query", "description": "Last seen at or after: ISO 8601 or epoch seconds.",
     "schema": STR},
    {"name": "until", "in": "query", "description": "Last seen at or before: ISO 8601 or epoch seconds.",
     "schema": STR},
    {"name": "sort", "in": "query", "description": "Prefix `-` for descending.",
     "schema": {"type": "string", "enum": [f"{p}{s}" for s in ERROR_SORTS for p in ("-", "")],
                "default": "-last_seen"}},
    _p("Page"), _p("PerPage"),
]


def _paths() -> dict:
    webhook_text = ("Authenticated by the service's ingest key; the answer is the same as `POST /api/errors/`'s. "
                    "Browsers may post cross-origin (the answer allows any origin), with `?key=` and a "
                    "`text/plain` body to avoid a preflight.")
    paths = {
        "/api/errors/": {
            "post": _ingest_operation(
                "Report an error", "The generic JSON event. The service comes from the ingest key.", "ApiEvent",
                EXAMPLES["api"], "ingest"),
            "get": _read("List errors", "ErrorPage", ERROR_FILTERS, "Filters combine with AND.", ("400",)),
        },
        "/api/errors/stats/": {"get": _read(
            "Counts and trends", "Stats",
            [{"name": "hours", "in": "query", "description": "The window of `occurrences_per_hour`.",
              "schema": {"type": "integer", "minimum": 1, "maximum": 2160, "default": 24}}],
            "Totals by severity, status and service; occurrences per hour; mean time to resolve.", ("400",))},
        "/api/errors/critical/": {"get": _read(
            "Open critical errors", "ErrorList", description="At most 500, most recently seen first.")},
        "/api/errors/{error_id}/": {
            "get": _read("An error", "ErrorDetail", [_p("ErrorId")], "With its latest occurrence.", ("404",)),
            "patch": _action(
                "Change status, severity or assignee", {
                    "type": "object", "additionalProperties": False, "properties": {
                        "status": STATUS, "severity": SEVERITY,
                        "assigned_to": {**_null(INT), "description": "A developer id; null unassigns."},
                        "note": {"type": ["string", "null"], "description": "Resolution note with status "
                                 "`resolved`."}}},
                "200", "ErrorDetail", ("400", "403", "404", "409"),
                "Every field is checked before anything changes. Unknown fields are a 400."),
        },
        "/api/errors/{error_id}/occurrences/": {"get": _read(
            "Occurrences of an error", "OccurrencePage", [_p("ErrorId"), _p("Page"), _p("PerPage")],
            "Newest first.", ("400", "404"))},
        "/api/errors/{error_id}/resolve/": {"post": _action(
            "Resolve", {"type": "object", "properties": {"note": {"type": ["string", "null"]}}}, "200",
            "ErrorDetail", ("400", "403", "404", "409"),
            "A later occurrence reopens it as a regression. `latest_occurrence` is null in this answer.",
            body_required=False)},
        "/api/errors/{error_id}/assign/": {"post": _action(
            "Assign", {"type": "object", "required": ["developer_id"],
                       "properties": {"developer_id": INT}}, "200", "ErrorDetail", ("400", "403", "404"),
            "Developers may take an unassigned error for themselves; assigning others needs a lead, manager or "
            "admin.")},
        "/api/errors/{error_id}/escalate/": {"post": _action(
            "Escalate", {"type": "object", "required": ["reason"], "properties": {
                "reason": {"type": "string", "minLength": 1},
                "to": {**_null(INT), "description": "A developer id; unset: the next level (the service's lead, "
                       "then an admin)."}}},
            "201", "Escalation", ("400", "403", "404", "409"))},
        "/api/developers/": {"get": {**_read("Developers", "DeveloperList"), "tags": ["developers"]}},
        "/api/developers/workload/": {"get": {**_read("Workload", "WorkloadList",
                                                      description="Open errors per developer, by severity."),
                                              "tags": ["developers"]}},
        "/api/developers/{developer_id}/on-call/": {"post": {
            **_read("Set on call", "Developer", [_p("DeveloperId")],
                    "Developers switch themselves; leads, managers and admins anyone.", ("400", "403", "404")),
            "tags": ["developers"],
            "requestBody": {"required": True, "content": _json({"type": "object", "required": ["on_call"],
                                                                 "properties": {"on_call": BOOL}})}}},
        "/api/patterns/": {"get": {**_read("Error patterns", "PatternPage", [_p("Page"), _p("PerPage")],
                                           errors=("400",)), "tags": ["patterns"]}},
        "/api/notifications/": {"get": {**_read(
            "Notification deliveries", "NotificationPage",
            [{"name": "channel", "in": "query", "schema": {"type": "string", "enum": list(CHANNELS)}},
             {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(NOTIFICATION_STATUSES)}},
             {"name": "error_id", "in": "query", "schema": UUID}, _p("Page"), _p("PerPage")],
            "Newest first.", ("400",)), "tags": ["notifications"]}},
        "/api/openapi.json": {"get": {
            "tags": ["meta"], "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}}}},
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
    return paths


def _sentry_operation(kind: str) -> dict:
    body = ("A Sentry envelope (newline-separated JSON headers and items, as the SDKs send it)"
            if kind == "envelope" else "One Sentry event as JSON (or base64 of zlib/gzip-compressed JSON)")
    return {
        "tags": ["sentry"], "summary": f"Sentry-compatible {kind} endpoint",
        "description": f"{body}. Point an official Sentry SDK's DSN at Heartwatch (`{{scheme}}://{{ingest key}}@"
                       "{host}/{service id}`) and it posts here. Authenticated by the DSN's key: the "
                       "`X-Sentry-Auth: Sentry sentry_key=...` header, `?sentry_key=`, or (envelopes) the "
                       "envelope header's `dsn`. gzip, deflate, br and zstd bodies are read.",
        "parameters": [_p("ServiceId"), _p("ContentEncoding")],
        "security": [{"SentryAuthHeader": []}, {"SentryKeyQuery": []}, {}],
        "requestBody": {"required": True, "content": {
            "application/x-sentry-envelope" if kind == "envelope" else "application/json":
                {"schema": {"type": "string"} if kind == "envelope" else JSON_OBJECT}}},
        "responses": {
            "200": {"description": "Accepted.", "content": _json(_ref("SentryAccepted"))},
            "400": _r("BadRequest"),
            "403": _error_response("Missing key, or not a key of this service."),
            "413": _error_response("Envelope or event too large."),
            "415": _r("UnsupportedMediaType"),
            "429": {**RESPONSES["RateLimited"], "headers": {
                **RESPONSES["RateLimited"]["headers"],
                "X-Sentry-Rate-Limits": {"description": "`<seconds>:error;default:project`", "schema": STR}}},
        },
    }


@lru_cache(maxsize=4)
def _document(base_url: str, with_sentry: bool) -> dict:
    paths = _paths()
    if with_sentry:
        paths["/api/{service_id}/envelope/"] = {"post": _sentry_operation("envelope")}
        paths["/api/{service_id}/store/"] = {"post": _sentry_operation("store")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Heartwatch API",
            "version": "1.0",
            "description": "Error ingest (the generic API, five webhooks and the Sentry-compatible endpoints) "
                           "and the JSON API for errors, developers, patterns and notifications. Every error "
                           "answer is `{\"error\": {\"code\", \"message\", \"field\"}}`. Ingest and webhooks "
                           "authenticate with a service's ingest key; everything else with a personal token "
                           "(`flask --app wsgi create-token --email you@example.com`).",
        },
        "servers": [{"url": base_url}],
        "security": [{"BearerToken": []}],
        "tags": [{"name": n} for n in ("ingest", "webhooks", "sentry", "errors", "developers", "patterns",
                                       "notifications", "meta")],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "IngestKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                                    "description": "The service's ingest key."},
                "IngestKeyQuery": {"type": "apiKey", "in": "query", "name": "key",
                                   "description": "The ingest key, for clients that cannot set headers."},
                "BearerToken": {"type": "http", "scheme": "bearer",
                                "description": "A personal API token (`hw_...`), from `flask create-token`."},
                "SentryAuthHeader": {"type": "apiKey", "in": "header", "name": "X-Sentry-Auth",
                                     "description": "`Sentry sentry_key=<ingest key>, sentry_version=7`"},
                "SentryKeyQuery": {"type": "apiKey", "in": "query", "name": "sentry_key"},
            },
        },
    }


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of the JSON API, the webhooks and (when served) the Sentry endpoints."""
    with_sentry = "sentry" in current_app.blueprints
    return copy.deepcopy(_document(current_app.config["BASE_URL"], with_sentry))
