"""The JSON API's request and response models, in pydantic 2.

Why pydantic 2: the class that validates a request body (or serialises an answer) is also where the
OpenAPI document's schema of it comes from (``model_json_schema`` / ``models_json_schema``), so the
document cannot drift from what the code accepts and answers; and every validation error carries the
location of the offending field, which becomes ``field`` of the one JSON error envelope.

Requests are validated strictly (no coercion: ``"7"`` is not a developer id, ``true`` not a number);
unknown fields are ignored, except by PATCH, which refuses them. Answers list every field, always,
and no others. Ingest (``POST /api/errors/``, the webhooks, the Sentry endpoints) does not go through
these models: it is lenient on purpose and on the hot path (app/ingest, app/web/openapi_ingest.py).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, WithJsonSchema, create_model


from app.models import KINDS, MERGED_KIND, ROLES, SEVERITIES, STATUSES
from app.web.errors import ApiError

REF_TEMPLATE = "#/components/schemas/{model}"
SOURCES = ("api", "generic", "laravel", "java", "frontend", "mobile", "sentry", "security")


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


Severity = Literal[SEVERITIES]
Status = Literal[STATUSES]
Role = Literal[ROLES]
Time = Annotated[dt.datetime, PlainSerializer(iso, return_type=str),
                 WithJsonSchema({"type": "string", "format": "date-time"})]
Uuid = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
JsonObject = dict[str, Any]
DeveloperId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def absent_not_null(schema: dict) -> None:
    # Absent means "leave it"; null is not a value of these fields, so the schema shows no default.
    schema.pop("default", None)


# --- what clients send ------------------------------------------------------------------------

class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class ErrorChange(Body):
    """Change status, severity or assignee. Every field is checked before anything changes."""

    model_config = ConfigDict(extra="forbid")

    status: Status = Field(None, json_schema_extra=absent_not_null)
    severity: Severity = Field(None, json_schema_extra=absent_not_null)
    assigned_to: DeveloperId | None = Field(None, description="A developer id; null unassigns.")
    note: str | None = Field(None, description="Resolution note with status `resolved`.")


class Resolution(Body):
    note: str | None = None
    in_next_release: bool = Field(False, description="Stay resolved until an event of a newer release (409: none yet).")


class Assignment(Body):
    developer_id: DeveloperId


class EscalationRequest(Body):
    reason: str = Field(min_length=1)
    to: DeveloperId | None = Field(None, description="A developer id; unset: the next level (the service's "
                                   "lead, then an admin).")


class OnCallChange(Body):
    on_call: bool


B = TypeVar("B", bound=Body)


def read(model: type[B], body: dict) -> B:
    """``body`` validated as ``model``; the first problem is a 400 naming its field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in problem["loc"]) or None
        if problem["type"] == "missing":
            raise ApiError(400, f"'{field}' is required", field=field, code="missing_field") from None
        if problem["type"] == "extra_forbidden":
            raise ApiError(400, f"unknown field '{field}'", field=field) from None
        message = problem["msg"][:1].lower() + problem["msg"][1:]
        raise ApiError(400, f"'{field}': {message}", field=field) from None


# --- what Heartwatch answers --------------------------------------------------------------------

class Answer(BaseModel):
    # Extra keys in stored JSON (frames, exceptions) are dropped rather than answered: the document
    # promises every field listed and no others.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class MinifiedLocation(Answer):
    """Where a frame was in the minified script, before the service's source map resolved it."""

    filename: str | None
    abs_path: str | None
    lineno: int | None
    colno: int | None
    function: str | None


class Frame(Answer):
    """A parsed stack frame."""

    filename: str
    abs_path: str | None
    function: str | None
    module: str | None
    lineno: int | None
    colno: int | None
    in_app: bool
    context_line: str | None
    pre_context: list[str] | None
    post_context: list[str] | None
    vars: JsonObject | None = Field(None, description="The frame's local variables, when the client sent them "
                                    "(bounded: see docs/ingest.md).")
    minified: MinifiedLocation | None = Field(
        default=None, description="Set when a source map resolved the frame: its minified location.")


ChainedException = create_model(
    "Exception", __base__=Answer, __doc__="One exception of a chain.",
    type=(str | None, ...), value=(str | None, ...), module=(str | None, ...),
    frames=(list[Frame], Field(description="Oldest first, the raising frame last.")),
    suppressed=(bool, Field(False, description="An exception another one suppressed (Java's suppressed "
                                               "exceptions), not a cause.")),
)


class DeveloperBrief(Answer):
    id: int
    name: str
    email: str


class ErrorSummary(Answer):
    """A tracked error: every event of a service with one fingerprint."""

    error_id: Uuid
    service_id: int
    service: str | None
    kind: Literal[(*KINDS, MERGED_KIND)] = Field(
        description="`error`, or `security` for a browser's security report (CSP violation): listed apart, never "
                    "routed, notified or escalated; `merged` for an error merged into another (`merged_into`).")
    error_type: str = Field(description="The exception type; a security report's title (\"Blocked 'script' from "
                                        "'cdn.example'\").")
    message: str
    culprit: str | None = Field(description="Where it was raised: \"function in file\".")
    endpoint: str | None
    severity: Severity = Field(description="The highest seen.")
    status: Status
    resolved: bool
    assigned_to: DeveloperBrief | None
    occurrence_count: int
    users: int = Field(description="Distinct users its events were seen with (a user's id, else e-mail, else "
                                   "address), kept at ingest.")
    first_seen: Time
    last_seen: Time
    environment: str | None
    release: str | None
    platform: str | None
    regression_count: int
    snoozed: bool = Field(description="Snoozed: it tells nobody and escalates no further until it wakes "
                                      "(`snooze` of the error's detail says what wakes it).")
    merged_into: Uuid | None = Field(description="The error it was merged into (its events go there), else null.")


class Occurrence(Answer):
    """One event received for an error."""

    occurrence_id: Uuid
    error_id: Uuid
    source: Literal[SOURCES]
    timestamp: Time
    received_at: Time
    message: str | None
    severity: Severity
    exceptions: list[ChainedException] = Field(description="The chain, cause first.")
    frames: list[Frame] = Field(description="The raised exception's frames.")
    stack_trace: str | None
    user: JsonObject | None
    request: JsonObject | None
    tags: dict[str, str]
    extra: JsonObject
    environment: str | None
    release: str | None
    server_name: str | None
    endpoint: str | None


class OccurrenceInPlace(Occurrence):
    """One event of an error and where it stands among the others, oldest to newest by timestamp
    (then id): ``previous_id`` is the next older event, ``next_id`` the next newer one."""

    position: int = Field(ge=1, description="This event's number, counted from the error's first event.")
    total: int = Field(ge=1, description="The error's events, as counted by `occurrence_count` (events removed "
                       "by retention are the oldest, and still counted).")
    first_id: Uuid = Field(description="The oldest stored event (this one when it is the oldest).")
    previous_id: Uuid | None = Field(description="The next older event; null for the oldest.")
    next_id: Uuid | None = Field(description="The next newer event; null for the latest.")
    latest_id: Uuid = Field(description="The newest event (this one when it is the newest).")


class Snooze(Answer):
    """A snooze and what wakes it (the first of them to come)."""
    since: Time
    until: Time | None
    events: int | None = Field(description="Wakes after this many more events: at `wake_at_count` events.")
    wake_at_count: int | None
    per_hour: int | None = Field(description="Wakes when more than this many events come within an hour.")


class ErrorDetail(ErrorSummary):
    """An error with its latest occurrence."""

    fingerprint: str
    resolved_at: Time | None
    resolved_by: DeveloperBrief | None
    resolution_note: str | None
    assigned_at: Time | None
    regressed_at: Time | None
    pattern_id: int | None
    acknowledged_at: Time | None = Field(description="When someone acknowledged the error's current open stretch "
                                                      "(null: nobody, or an earlier stretch).")
    acknowledged_by: DeveloperBrief | None
    acknowledgement_holds: bool = Field(description="The acknowledgement keeps the escalation chain waiting now: "
                                                    "within ACK_TIMEOUT_MINUTES, or progress followed in time.")
    latest_occurrence: Occurrence | None = Field(description="Null in the answers of actions (resolve, assign).")
    snooze: Snooze | None
    first_release: str | None = Field(description="The release of its first event that had one.")
    last_release: str | None = Field(description="The newest release its events came from (first seen last).")
    resolved_in_release: str | None = Field(description="Resolved in next release: only an event of a release "
                                                        "newer than this one reopens it.")


SeverityCounts = create_model("SeverityCounts", __base__=Answer, **{s: (int, ...) for s in reversed(SEVERITIES)})
StatusCounts = create_model("StatusCounts", __base__=Answer, **{s: (int, ...) for s in STATUSES})


class Developer(Answer):
    id: int
    name: str
    email: str
    phone: str | None
    role: Role
    on_call: bool = Field(description="The on-call switch a lead or the developer set (the default schedule's "
                          "switch layer).")
    on_call_now: bool = Field(description="On call at this moment in any schedule: a layer or an override.")
    max_load: int
    current_load: int | None = Field(description="Open errors assigned.")
    active: bool
    slack_member_id: str | None
    services: list[str] = Field(description="Slugs of the services they know.")


class WorkloadItem(Answer):
    developer_id: int
    name: str
    role: Role
    on_call: bool = Field(description="On call now in any schedule: a layer or an override.")
    current_load: int
    max_load: int
    available: bool = Field(description="Active, on call and below max load: routing may pick them.")
    open_by_severity: SeverityCounts


class ServiceCounts(Answer):
    service_id: int
    service: str
    errors: int
    open: int


class HourCount(Answer):
    hour: str = Field(description="UTC hour.", examples=["2024-06-01T12:00"])
    occurrences: int


class ChartBucket(Answer):
    start: Time = Field(description="Start of the hour or UTC day.")
    events: int = Field(description="The error's events in it (exact: counted at ingest, whatever was deleted since).")


class ErrorChart(Answer):
    """An error's events per hour (24h) or per UTC day (14d, 90d), every bucket listed, the current one last."""

    error_id: Uuid
    period: Literal["24h", "14d", "90d"]
    interval: Literal["hour", "day"]
    buckets: list[ChartBucket]
    total: int


class Stats(Answer):
    total: int
    open: int
    by_severity: SeverityCounts
    by_status: StatusCounts
    by_service: list[ServiceCounts]
    window_hours: int
    occurrences_per_hour: list[HourCount]
    avg_resolution_seconds: float | None


class Pattern(Answer):
    """Similar errors across services: the same type and normalised message."""

    id: int
    error_type: str
    normalised_message: str
    occurrence_count: int
    error_count: int
    affected_services: list[Any]
    common_endpoints: list[Any]
    severity_distribution: dict[str, int]
    first_occurrence: Time | None
    last_occurrence: Time | None
    detected_at: Time
    trend: str | None = Field(examples=["rising", "falling", "stable", "new"])
    last_24h: int
    previous_24h: int


def page_of(name: str, item: type[Answer]) -> type[Answer]:
    return create_model(name, __base__=Answer, __doc__=f"One page of {item.__name__} items; `total` counts them all.",
                        items=(list[item], ...), total=(int, ...), page=(int, Field(ge=1)),
                        per_page=(int, Field(ge=1, le=100)))


def listing_of(name: str, item: type[Answer]) -> type[Answer]:
    return create_model(name, __base__=Answer, __doc__=f"Every {item.__name__}; `total` counts them.",
                        items=(list[item], ...), total=(int, ...))


ErrorPage = page_of("ErrorPage", ErrorSummary)
OccurrencePage = page_of("OccurrencePage", Occurrence)
PatternPage = page_of("PatternPage", Pattern)
ErrorList = listing_of("ErrorList", ErrorSummary)
DeveloperList = listing_of("DeveloperList", Developer)
WorkloadList = listing_of("WorkloadList", WorkloadItem)

def dump(answer: Answer) -> dict:
    """An answer as the JSON-ready dict Flask sends."""
    return answer.model_dump(mode="json")
