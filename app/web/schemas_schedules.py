"""The JSON API's schemas of on-call schedules, layers, overrides and who is on call (the rest of the
API's schemas are in app/web/schemas.py, whose Body and Answer these build on). Dates, times of day and
time zones are checked by the rules of app/triage/oncall.py, which name the field they refuse."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from app.models import FREQUENCIES, SWAP_STATUSES
from app.web.schemas import Answer, Body, DeveloperId, Time, absent_not_null

Clock = Annotated[str, WithJsonSchema({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$",
                                       "examples": ["09:00"]})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
Weekday = Annotated[int, Field(ge=0, le=6)]
Participant = DeveloperId | Annotated[list[DeveloperId], Field(min_length=1, max_length=50)]
Instant = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
ScheduleName = Annotated[str, Field(min_length=1, max_length=120)]


class ScheduleCreate(Body):
    name: ScheduleName
    description: str | None = Field(None, max_length=255)
    is_default: bool = Field(False, description="The schedule of every service that names none (at most one).")
    service_ids: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, description="The services it answers for (each leaves its previous schedule).")


class ScheduleChange(Body):
    """Absent fields are kept. Unknown fields are a 400."""

    model_config = ConfigDict(extra="forbid")

    name: ScheduleName = Field(None, json_schema_extra=absent_not_null)
    description: str | None = Field(None, max_length=255)
    is_default: bool = Field(None, json_schema_extra=absent_not_null)
    service_ids: list[Annotated[int, Field(ge=1)]] = Field(None, json_schema_extra=absent_not_null)


class LayerFields(Body):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, max_length=120, json_schema_extra=absent_not_null)
    frequency: Literal[FREQUENCIES] = Field(None, json_schema_extra=absent_not_null,
                                            description="`days`: every `every` days.")
    every: int = Field(None, ge=1, le=365, json_schema_extra=absent_not_null,
                       description="Turns last `every` days or weeks (default 1).")
    starts_on: Day = Field(None, json_schema_extra=absent_not_null, description="The first turn's date.")
    handoff_time: Clock = Field(None, json_schema_extra=absent_not_null, description="Wall clock (default 09:00).")
    timezone: str = Field(None, max_length=64, json_schema_extra=absent_not_null,
                          description="IANA name (default UTC).", examples=["Europe/Berlin"])
    participants: list[Participant] = Field(None, max_length=100, json_schema_extra=absent_not_null,
                                            description="Developer ids (or groups of ids) in turn order.")
    days: list[Weekday] | None = Field(None, min_length=1, description="Weekdays covered (0 = Monday); "
                                       "null: every day.")
    window_start: Clock | None = Field(None, description="Daily window covered, with `window_end` (before or "
                                       "at its start: it ends the next day); null: all day.")
    window_end: Clock | None = None
    position: int = Field(None, ge=0, le=1000, json_schema_extra=absent_not_null,
                          description="Higher wins; new layers go on top.")


class LayerCreate(LayerFields):
    """A rotation layer; `name`, `starts_on` and `participants` are required."""

    name: str = Field(min_length=1, max_length=120)
    starts_on: Day = Field(description="The first turn's date.")
    participants: list[Participant] = Field(max_length=100, description="Developer ids (or groups of ids) in "
                                            "turn order.")


class LayerChange(LayerFields):
    """Absent fields are kept. Unknown fields are a 400."""


class OverrideCreate(Body):
    developer_id: DeveloperId
    starts_at: Instant
    ends_at: Instant = Field(description="At most 31 days after the start.")
    replaces_id: DeveloperId | None = Field(None, description="Stand in for this developer only; null: for "
                                            "everyone the layers give.")
    reason: str | None = Field(None, max_length=255)


class OverrideChange(Body):
    model_config = ConfigDict(extra="forbid")

    starts_at: Instant = Field(None, json_schema_extra=absent_not_null)
    ends_at: Instant = Field(None, json_schema_extra=absent_not_null)
    reason: str | None = Field(None, max_length=255)


class Layer(Answer):
    id: int
    name: str
    kind: Literal["rotation", "switch"] = Field(description="`switch`: the group the on-call switches edit.")
    position: int
    frequency: Literal[FREQUENCIES]
    every: int
    starts_on: str
    handoff_time: str
    timezone: str
    participants: list[list[int]]
    days: list[int] | None
    window_start: str | None
    window_end: str | None


class Schedule(Answer):
    id: int
    name: str
    description: str | None
    is_default: bool
    service_ids: list[int]
    layers: list[Layer]


class ScheduleList(Answer):
    items: list[Schedule]
    total: int


class Override(Answer):
    id: int
    schedule_id: int
    developer_id: int
    replaces_id: int | None
    starts_at: Time
    ends_at: Time
    reason: str | None


class OverrideList(Answer):
    items: list[Override]
    total: int


class Shift(Answer):
    """A stretch during which the same people are on call for the schedule."""

    starts_at: Time
    ends_at: Time
    developer_ids: list[int] = Field(description="Empty: nobody is on call.")
    layer_id: int | None
    override_ids: list[int]


class OnCall(Answer):
    schedule_id: int | None = Field(description="Null when there is no schedule (a service without one, and "
                                    "no default schedule).")
    at: Time
    now: Shift | None = Field(description="The shift covering `at`.")
    next: Shift | None = Field(description="The next shift with someone else (or anyone) on call, within 400 days.")


class FeedAddress(Answer):
    url: str = Field(description="The secret address of the iCal feed; shown once, rotate to get a new one.")


class SwapCreate(Body):
    colleague_id: DeveloperId = Field(description="Who is asked to take the time.")
    starts_at: Instant
    ends_at: Instant = Field(description="At most 31 days after the start.")
    requester_id: DeveloperId | None = Field(None, description="Whose time it is; default the token's developer "
                                             "(leads, managers and admins may ask for others).")
    note: str | None = Field(None, max_length=255)


class Swap(Answer):
    id: int
    schedule_id: int
    requester_id: int
    colleague_id: int
    starts_at: Time
    ends_at: Time
    note: str | None
    status: Literal[SWAP_STATUSES]
    override_id: int | None = Field(description="The override an accepted swap became.")
    created_at: Time
    answered_at: Time | None


class SwapList(Answer):
    items: list[Swap]
    total: int
