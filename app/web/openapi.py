"""The OpenAPI 3.1 document of every endpoint under /api/ and /webhook/, served at GET /api/openapi.json.

The JSON API's schemas are generated from the pydantic models that validate its requests and
serialise its answers (app/web/schemas.py), so they say exactly what the code accepts and answers;
the operations around them, and the ingest part (app/web/openapi_ingest.py: lenient on purpose, so
written by hand), say what the code cannot. tests/web/test_openapi.py keeps it honest: every route
is documented and nothing else, and real answers validate against the response schemas.
"""
from __future__ import annotations

import copy
from functools import lru_cache

from flask import current_app

from app.models import CHANNELS, KINDS, NOTIFICATION_STATUSES, SEVERITIES, STATUSES
from app.reports.errors import MAX_PER_PAGE, SORTS
from app.web import openapi_ingest as ingest
from app.web import openapi_oncall as oncall
from app.web import openapi_chains, openapi_error_details, openapi_schedules, openapi_security
from app.web import openapi_sourcemaps as sourcemaps
from app.web.openapi_ingest import STR, UUID, json_content, parameter_ref, ref, response_ref
from app.web.schema_document import component_schemas

ERROR_SORTS = tuple(SORTS)
INT = {"type": "integer"}

RESPONSES = {
    **ingest.RESPONSES,
    "Forbidden": ingest.error_response("The token's developer may not do this (a lead, manager or admin may)."),
    "NotFound": ingest.error_response("No such object."),
    "Conflict": ingest.error_response("Not possible in the object's current state (resolved already, not open)."),
}
PARAMETERS = {
    **ingest.PARAMETERS,
    "ErrorId": {"name": "error_id", "in": "path", "required": True, "schema": UUID},
    "OccurrenceId": {"name": "occurrence_id", "in": "path", "required": True, "schema": UUID},
    "DeveloperId": {"name": "developer_id", "in": "path", "required": True, "schema": INT},
    "NotificationId": {"name": "notification_id", "in": "path", "required": True, "schema": INT},
    "TokenId": {"name": "token_id", "in": "path", "required": True, "schema": INT},
    "ServiceId": {"name": "service_id", "in": "path", "required": True, "schema": INT},
    "Page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000,
                                                        "default": 1}},
    "PerPage": {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                               "maximum": MAX_PER_PAGE, "default": 25}},
}


def _read(summary: str, schema: str, parameters: list | None = None, description: str | None = None,
          errors: tuple[str, ...] = ()) -> dict:
    operation = {"tags": ["errors"], "summary": summary, "parameters": parameters or [],
                 "responses": {"200": {"description": "OK", "content": json_content(ref(schema))},
                               "401": response_ref("Unauthorized")}}
    if description:
        operation["description"] = description
    for status in errors:
        operation["responses"][status] = response_ref({"400": "BadRequest", "403": "Forbidden", "404": "NotFound",
                                             "409": "Conflict"}[status])
    return operation


def _action(summary: str, body: dict | None, status: str, schema: str, errors: tuple[str, ...],
            description: str | None = None, body_required: bool = True, tag: str = "errors") -> dict:
    operation = _read(summary, schema, [parameter_ref("ErrorId")], description, errors)
    operation["tags"] = [tag]
    if status != "200":
        operation["responses"][status] = operation["responses"].pop("200")
        operation["responses"][status]["description"] = "Created."
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": json_content(body)}
    return operation


def _csv_enum(values, description: str) -> dict:
    return {"type": "string", "description": description, "examples": [",".join(list(values)[:2])],
            "pattern": "^(" + "|".join(values) + ")(,(" + "|".join(values) + "))*$"}


ERROR_FILTERS = [
    {"name": "kind", "in": "query", "description": "`error` (the default: security reports are not in the error "
     "lists), `security` (browsers' security reports) or `all`.",
     "schema": {"type": "string", "enum": [*KINDS, "all"], "default": "error"}},
    {"name": "service", "in": "query", "description": "Service ids or slugs, comma-separated.",
     "schema": {"type": "string"}, "example": "django-ai,3"},
    {"name": "severity", "in": "query", "schema": _csv_enum(SEVERITIES, "Comma-separated severities.")},
    {"name": "status", "in": "query", "schema": _csv_enum((*STATUSES, "open"),
                                                          "Comma-separated statuses; `open` means new, "
                                                          "assigned and in_progress.")},
    {"name": "assigned_to", "in": "query", "description": "A developer id, `me` (the token's developer), or "
     "`none`/`unassigned`.", "schema": {"type": "string", "pattern": "^([0-9]+|me|none|unassigned)$"}},
    {"name": "environment", "in": "query", "description": "Errors with any event from this environment "
     "(as `env:` in `q`).", "schema": STR},
    {"name": "q", "in": "query", "description": "A search (docs/search.md): free text over type, message "
     "and culprit, quoted phrases, and terms `is:unresolved|resolved|ignored|assigned|unassigned|snoozed`, "
     "`severity:` / `level:` (a list, or `>=high`), `service:`, `env:`, `release:`, `server:`, `user:` (id or "
     "e-mail), `assigned:me` or an e-mail, `message:`, `type:`, `culprit:` and any tag as `key:value`; `!` or "
     "`-` negates a term. At most 500 characters, 20 terms and 200 characters per value; a search that cannot "
     "be read is a 400 naming the term (field `q`).",
     "schema": {"type": "string", "maxLength": 500}, "example": "is:unresolved severity:>=high env:production"},
    {"name": "since", "in": "query", "description": "Last seen at or after: ISO 8601 or epoch seconds.",
     "schema": STR},
    {"name": "until", "in": "query", "description": "Last seen at or before: ISO 8601 or epoch seconds.",
     "schema": STR},
    {"name": "first_seen_since", "in": "query", "description": "First seen at or after: ISO 8601 or epoch "
     "seconds (the overview's \"new in the last hour\").", "schema": STR},
    {"name": "first_seen_until", "in": "query", "description": "First seen at or before: ISO 8601 or epoch "
     "seconds.", "schema": STR},
    {"name": "sort", "in": "query", "description": "Prefix `-` for descending.",
     "schema": {"type": "string", "enum": [f"{p}{s}" for s in ERROR_SORTS for p in ("-", "")],
                "default": "-last_seen"}},
    parameter_ref("Page"), parameter_ref("PerPage"),
]



def _paths() -> dict:
    """The JSON API's operations; bodies and answers are the models' schemas, by reference."""
    return {
        "/api/errors/": {
            "get": _read("List errors", "ErrorPage", ERROR_FILTERS, "Filters combine with AND.", ("400",)),
        },
        "/api/errors/stats/": {"get": _read(
            "Counts and trends", "Stats",
            [{"name": "hours", "in": "query", "description": "The window of `occurrences_per_hour`.",
              "schema": {"type": "integer", "minimum": 1, "maximum": 2160, "default": 24}}],
            "Totals by severity, status and service; occurrences per hour; mean time to resolve.", ("400",))},
        "/api/errors/critical/": {"get": _read(
            "Open critical errors", "ErrorList",
            description="At most 500, most recently seen first; `total` counts them all.")},
        "/api/errors/{error_id}/": {
            "get": _read("An error", "ErrorDetail", [parameter_ref("ErrorId")], "With its latest occurrence.",
                         ("404",)),
            "patch": _action(
                "Change status, severity or assignee", ref("ErrorChange"), "200", "ErrorDetail",
                ("400", "403", "404", "409"),
                "All or nothing: every field is checked before anything changes, and a refused change (such "
                "as a `409` for resolving a resolved error) changes none of them. Unknown fields are a 400."),
            "delete": {
                "tags": ["errors"], "summary": "Delete an error with all its events",
                "description": "Admins only. The error, its occurrences, notifications, escalations and timeline "
                               "go; an audit row `error.deleted` keeps what it was. A later event of the same "
                               "fingerprint starts a new error. The dashboard's Delete does the same.",
                "parameters": [parameter_ref("ErrorId")],
                "responses": {"204": {"description": "Deleted."}, "401": response_ref("Unauthorized"),
                              "403": response_ref("Forbidden"), "404": response_ref("NotFound")}},
        },
        "/api/errors/{error_id}/chart/": {"get": _read(
            "An error's events over time", "ErrorChart",
            [parameter_ref("ErrorId"),
             {"name": "period", "in": "query", "description": "`24h`: 24 hourly buckets; `14d`, `90d`: daily "
              "buckets (UTC days). The current hour or day is the last bucket.",
              "schema": {"type": "string", "enum": ["24h", "14d", "90d"], "default": "14d"}}],
            "Counted at ingest (the hourly rollups), so exact even when old events were deleted by retention "
            "or the error's events were thinned to its budget; buckets without events are listed as 0.",
            ("400", "404"))},
        "/api/errors/{error_id}/occurrences/": {"get": _read(
            "Occurrences of an error", "OccurrencePage",
            [parameter_ref("ErrorId"), parameter_ref("Page"), parameter_ref("PerPage")],
            "Newest first.", ("400", "404"))},
        "/api/errors/{error_id}/occurrences/{occurrence_id}/": {"get": _read(
            "One occurrence and its neighbours", "OccurrenceInPlace",
            [parameter_ref("ErrorId"), parameter_ref("OccurrenceId")],
            "The event with the ids of the error's first, previous (older), next (newer) and latest events and its "
            "position (`position` of `total`, counted from the first), as the dashboard's event navigation shows "
            "it. Each step is one keyset read, however many events the error has.", ("404",))},
        "/api/errors/{error_id}/occurrences/{occurrence_id}/download/": {"get": {
            "tags": ["errors"], "summary": "Download an occurrence's stored JSON",
            "description": "The occurrence's fields (as `OccurrenceInPlace` has them, without the place) and "
                           "`raw_payload`, the body it came in as received (after scrubbing, cut at "
                           "`MAX_RAW_PAYLOAD_BYTES`), as an attachment `event-<occurrence id>.json`; the "
                           "dashboard's Download JSON gives the same file.",
            "parameters": [parameter_ref("ErrorId"), parameter_ref("OccurrenceId")],
            "responses": {"200": {"description": "The event, as a file.",
                                  "headers": {"Content-Disposition": {"schema": STR, "description":
                                              "`attachment; filename=\"event-<occurrence id>.json\"`"}},
                                  "content": json_content({"type": "object"})},
                          "401": response_ref("Unauthorized"), "404": response_ref("NotFound")}}},
        "/api/errors/{error_id}/resolve/": {"post": _action(
            "Resolve", ref("Resolution"), "200", "ErrorDetail", ("400", "403", "404", "409"),
            "A later occurrence reopens it as a regression; with `in_next_release`, only an occurrence from a "
            "release newer than the service's newest now. A snooze ends. `latest_occurrence` is null in this "
            "answer.", body_required=False)},
        "/api/errors/{error_id}/snooze/": {"post": _action(
            "Snooze", ref("SnoozeRequest"), "200", "ErrorDetail", ("400", "403", "404", "409"),
            "The error stays open but sends no notification, escalates no further and leaves the dashboard's "
            "default list (`is:snoozed` finds it) until the first of its conditions comes: the time, `events` "
            "more events, more than `per_hour` events in an hour. Then it wakes and is told like a regression, "
            "saying why (\"woke: 100 more events since snoozed\"). Snoozing again replaces the conditions. Only "
            "open errors (`409`).")},
        "/api/errors/{error_id}/unsnooze/": {"post": _action(
            "Unsnooze", None, "200", "ErrorDetail", ("403", "404", "409"),
            "End the snooze now, telling nobody. No body. An error that is not snoozed is a `409`.")},
        "/api/errors/{error_id}/acknowledge/": {"post": _action(
            "Acknowledge", None, "200", "ErrorDetail", ("403", "404", "409"),
            "You have it: the automatic escalation of the error's current open stretch waits while the "
            "acknowledgement holds (`ACK_TIMEOUT_MINUTES`, or for good once an assignment, a status change or the "
            "resolution follows in time). Acknowledging again renews it. No body. A closed error is a `409`.")},
        "/api/errors/{error_id}/assign/": {"post": _action(
            "Assign", ref("Assignment"), "200", "ErrorDetail", ("400", "403", "404"),
            "Developers may take an unassigned error for themselves; assigning others needs a lead, manager or "
            "admin.")},
        "/api/errors/{error_id}/escalate/": {"post": _action(
            "Escalate", ref("EscalationRequest"), "201", "Escalation", ("400", "403", "404", "409"))},
        "/api/services/{service_id}/client-discarded/": {"get": {**_read(
            "What the service's SDKs dropped", "ClientDiscarded",
            [parameter_ref("ServiceId"), {"name": "days", "in": "query", "description": "The window, today included.",
                                          "schema": {"type": "integer", "minimum": 1, "maximum": 90, "default": 30}}],
            "Sentry SDKs' client reports count the events they dropped before sending (sampling, `before_send`, "
            "a full queue, a rate limit); Heartwatch adds them up per UTC day, reason and category.",
            ("400", "404")), "tags": ["services"]}},
        "/api/services/{service_id}/releases/": {"get": {**_read(
            "Releases of a service", "ReleasePage", [parameter_ref("ServiceId"), parameter_ref("Page"),
                                                     parameter_ref("PerPage")],
            "Newest first: the order Heartwatch first saw them (not the versions' spelling), which also decides "
            "what \"resolve in next release\" waits for. Each with its first-seen time, the errors first seen in "
            "it and those whose latest regression came with it.", ("400", "404")), "tags": ["services"]}},
        "/api/developers/": {"get": {**_read("Developers", "DeveloperList"), "tags": ["developers"]}},
        "/api/developers/workload/": {"get": {**_read("Workload", "WorkloadList",
                                                      description="Open errors per developer, by severity."),
                                              "tags": ["developers"]}},
        "/api/developers/{developer_id}/on-call/": {"post": {
            **_read("Set on call", "Developer", [parameter_ref("DeveloperId")],
                    "Developers switch themselves; leads, managers and admins anyone.", ("400", "403", "404")),
            "tags": ["developers"],
            "requestBody": {"required": True, "content": json_content(ref("OnCallChange"))}}},
        "/api/patterns/": {"get": {**_read("Error patterns", "PatternPage",
                                           [parameter_ref("Page"), parameter_ref("PerPage")], errors=("400",)),
                                   "tags": ["patterns"]}},
        "/api/notifications/": {"get": {**_read(
            "Notification deliveries", "NotificationPage",
            [{"name": "channel", "in": "query", "schema": {"type": "string", "enum": list(CHANNELS)}},
             {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(NOTIFICATION_STATUSES)}},
             {"name": "error_id", "in": "query", "schema": UUID}, parameter_ref("Page"), parameter_ref("PerPage")],
            "Newest first, each delivery with every try of it (`attempts`: outcome, the receiver's status, the "
            "reason). An attempt's `answer`, an excerpt of what the receiver said, is null unless the caller may see "
            "where the delivery went: admins, and the developer a delivery other than a webhook was for.",
            ("400",)), "tags": ["notifications"]}},
        "/api/notifications/{notification_id}/retry/": {"post": {**_read(
            "Retry a delivery", "Notification", [parameter_ref("NotificationId")],
            "A failed or dead delivery is queued again and sent now; the answer is its new state. Leads, "
            "managers and admins only.", ("403", "404", "409")), "tags": ["notifications"]}},
        "/api/services/{service_id}/": {
            "get": {**_read("A service", "Service", [parameter_ref("ServiceId")],
                            "With its ingest settings: data scrubbing and in-app rules.", ("404",)),
                    "tags": ["services"]},
            "patch": {**_read(
                "Change a service's ingest settings", "Service", [parameter_ref("ServiceId")],
                "Admins only. Every field is checked before anything changes (at most 50 entries per list, "
                "each of 1 to 100 characters); absent fields are kept, null clears a list. Unknown fields are "
                "a 400. Ingest uses the new settings within `INGEST_KEY_CACHE_SECONDS`.",
                ("400", "403", "404")),
                "tags": ["services"],
                "requestBody": {"required": True, "content": json_content(ref("ServiceChange"))}},
        },
        "/api/tokens/": {"get": {**_read(
            "Your API tokens", "TokenList",
            description="The tokens of the token's developer, revoked ones too, newest first."), "tags": ["tokens"]}},
        "/api/tokens/{token_id}": {"delete": {
            "tags": ["tokens"], "summary": "Revoke a token",
            "description": "Your own token (admins: anyone's); it is refused from the next request on. Revoking "
                           "a revoked token changes nothing. Someone else's token is a 404.",
            "parameters": [parameter_ref("TokenId")],
            "responses": {"204": {"description": "Revoked."}, "401": response_ref("Unauthorized"),
                          "404": response_ref("NotFound")}}},
        "/api/openapi.json": {"get": {
            "tags": ["meta"], "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": json_content({"type": "object"})}}}},
    }


@lru_cache(maxsize=4)
def _document(base_url: str, with_sentry: bool) -> dict:
    paths = ingest.paths(with_sentry)
    for path, item in {**_paths(), **sourcemaps.paths(), **oncall.paths(), **openapi_schedules.paths(),
                       **openapi_chains.paths(), **openapi_error_details.paths()}.items():
        paths[path] = {**paths.get(path, {}), **item}
    if with_sentry:
        paths["/api/{service_id}/security/"] = {"post": openapi_security.operation()}
    schemas = {**ingest.SCHEMAS, **sourcemaps.SCHEMAS, **oncall.SCHEMAS, **component_schemas()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Heartwatch API",
            "version": "1.0",
            "description": "Error ingest (the generic API, five webhooks and the Sentry-compatible endpoints) "
                           "and the JSON API for errors, developers, on-call schedules, escalation chains, patterns and notifications. Every error "
                           "answer is `{\"error\": {\"code\", \"message\", \"field\"}}`. Ingest and webhooks "
                           "authenticate with a service's ingest key; everything else with a personal token "
                           "(`flask --app wsgi create-token --email you@example.com`).",
        },
        "servers": [{"url": base_url}],
        "security": [{"BearerToken": []}],
        "tags": [{"name": n} for n in ("ingest", "webhooks", "sentry", "errors", "services", "developers", "patterns",
                                       "notifications", "on-call", "escalation", "tokens", "sourcemaps", "meta")],
        "paths": paths,
        "components": {
            "schemas": schemas,
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
