"""The OpenAPI part for on-call schedules (app/web/api_schedules.py); bodies and answers are the pydantic
models of app/web/schemas_schedules.py, by reference."""
from __future__ import annotations

from app.web.openapi_ingest import STR, json_content, ref, response_ref

INT = {"type": "integer"}
ERRORS = {"400": "BadRequest", "403": "Forbidden", "404": "NotFound", "409": "Conflict"}
SCHEDULE_ID = {"name": "schedule_id", "in": "path", "required": True, "schema": INT}
LAYER_ID = {"name": "layer_id", "in": "path", "required": True, "schema": INT}
OVERRIDE_ID = {"name": "override_id", "in": "path", "required": True, "schema": INT}
SERVICE_ID = {"name": "service_id", "in": "path", "required": True, "schema": INT}
DEVELOPER_ID = {"name": "developer_id", "in": "path", "required": True, "schema": INT}
AT = {"name": "at", "in": "query", "description": "The moment asked about (ISO 8601; default now).",
      "schema": {"type": "string", "format": "date-time"}}
PLANNERS = "Leads, managers and admins only."


def _op(summary: str, answer: str | None, parameters: list, errors: tuple[str, ...], *, status: str = "200",
        body: str | None = None, description: str | None = None, security: list | None = None,
        tag: str = "on-call") -> dict:
    responses = {status: {"description": {"200": "OK", "201": "Created.", "204": "Done."}[status]}}
    if answer is not None:
        responses[status]["content"] = json_content(ref(answer))
    if security is None:
        responses["401"] = response_ref("Unauthorized")
    for code in errors:
        responses[code] = response_ref(ERRORS[code])
    operation = {"tags": [tag], "summary": summary, "parameters": parameters, "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": json_content(ref(body))}
    if description:
        operation["description"] = description
    if security is not None:
        operation["security"] = security
    return operation


def paths() -> dict:
    on_call = ("Who is on call at `at` (`now`: the shift covering it, possibly with nobody) and the next shift in "
               "which someone else is: layers resolved in their time zones, later layers over earlier ones, "
               "overrides over layers.")
    return {
        "/api/schedules/": {
            "get": _op("Schedules", "ScheduleList", [], (), description="Every schedule with its layers, by name."),
            "post": _op("Create a schedule", "Schedule", [], ("400", "403", "409"), status="201",
                        body="ScheduleCreate", description=PLANNERS),
        },
        "/api/schedules/{schedule_id}/": {
            "get": _op("A schedule", "Schedule", [SCHEDULE_ID], ("404",)),
            "patch": _op("Change a schedule", "Schedule", [SCHEDULE_ID], ("400", "403", "404", "409"),
                         body="ScheduleChange", description=PLANNERS),
        },
        "/api/schedules/{schedule_id}/on-call/": {"get": _op(
            "On call now and next", "OnCall", [SCHEDULE_ID, AT], ("400", "404"), description=on_call)},
        "/api/services/{service_id}/on-call/": {"get": _op(
            "On call for a service", "OnCall", [SERVICE_ID, AT], ("400", "404"),
            description="As for its schedule: the service's own, else the default schedule. " + on_call)},
        "/api/schedules/{schedule_id}/layers/": {"post": _op(
            "Add a rotation layer", "Layer", [SCHEDULE_ID], ("400", "403", "404"), status="201", body="LayerCreate",
            description=PLANNERS + " Turns start at `handoff_time` (wall clock of `timezone`) every day, week or "
            "`every` days from `starts_on`, each to the next participant.")},
        "/api/schedules/{schedule_id}/layers/{layer_id}/": {
            "patch": _op("Change a layer", "Layer", [SCHEDULE_ID, LAYER_ID], ("400", "403", "404"),
                         body="LayerChange", description=PLANNERS),
            "delete": _op("Remove a layer", None, [SCHEDULE_ID, LAYER_ID], ("403", "404"), status="204",
                          description=PLANNERS),
        },
        "/api/schedules/{schedule_id}/overrides/": {
            "get": _op("Overrides", "OverrideList", [
                SCHEDULE_ID,
                {"name": "since", "in": "query", "description": "Default: a day ago.",
                 "schema": {"type": "string", "format": "date-time"}},
                {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 92,
                                                           "default": 31}}], ("400", "404"),
                description="Those overlapping the window, by start."),
            "post": _op("Add an override", "Override", [SCHEDULE_ID], ("400", "403", "404"), status="201",
                        body="OverrideCreate", description="Leads, managers and admins put anyone on call; a "
                        "developer puts themselves on call, or hands their own time over (`replaces_id` is them)."),
        },
        "/api/schedules/{schedule_id}/overrides/{override_id}/": {
            "patch": _op("Move an override", "Override", [SCHEDULE_ID, OVERRIDE_ID], ("400", "403", "404"),
                         body="OverrideChange"),
            "delete": _op("Remove an override", None, [SCHEDULE_ID, OVERRIDE_ID], ("403", "404"), status="204"),
        },
        "/api/schedules/{schedule_id}/swaps/": {"post": _op(
            "Ask a colleague to take your time", "Swap", [SCHEDULE_ID], ("400", "403", "404"), status="201",
            body="SwapCreate", description="The requester must be on call in the schedule somewhere in the window. "
            "The colleague accepts (it becomes an override: them instead of the requester) or declines.")},
        "/api/swaps/": {"get": _op("Your swap requests", "SwapList", [], (),
                                   description="Asked by you or of you, newest first.")},
        **{f"/api/swaps/{{swap_id}}/{action}/": {"post": _op(
            summary, "Swap", [{"name": "swap_id", "in": "path", "required": True, "schema": INT}],
            ("403", "404", "409"), description=who)} for action, summary, who in (
                ("accept", "Accept a swap request", "The colleague asked only; the override is made at once."),
                ("decline", "Decline a swap request", "The colleague asked only."),
                ("cancel", "Withdraw a swap request", "The requester (or a lead, manager or admin)."))},
        "/api/schedules/{schedule_id}/feed/": {"post": _op(
            "New iCal address of a schedule", "FeedAddress", [SCHEDULE_ID], ("403", "404"), status="201",
            description=PLANNERS + " The previous address stops working.")},
        "/api/developers/{developer_id}/feed/": {"post": _op(
            "New iCal address of a developer's on-call", "FeedAddress", [DEVELOPER_ID], ("403", "404"), status="201",
            description="Their own, or anyone's for leads, managers and admins. Every schedule they answer in; the "
            "previous address stops working.")},
        "/api/oncall/feeds/{token}.ics": {"get": {
            "tags": ["on-call"], "summary": "An iCal feed", "security": [],
            "description": "The secret address is the credential (calendar apps send no header). Events from 30 "
                           "days ago to 180 days ahead, in UTC.",
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": STR}],
            "responses": {"200": {"description": "iCalendar (RFC 5545)",
                                  "content": {"text/calendar": {"schema": STR}}},
                          "404": response_ref("NotFound")}}},
    }
