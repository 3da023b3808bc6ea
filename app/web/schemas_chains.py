"""The JSON API's schemas of escalation chains (app/web/api_chains.py). Types are checked here; what a
chain may hold (kinds, channels, targets that exist, waits and repeat bounds) by
``app.triage.chains.validate_chain``, which the dashboard's editor calls too and which names the field
it refuses (``steps.2.minutes``)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, WithJsonSchema

from app.models import NOTIFY_CHANNELS, ROLES, SEVERITIES, STEP_KINDS
from app.triage.chains import MAX_REPEAT_EVERY, MAX_REPEATS, MAX_STEPS, MAX_WAIT_MINUTES, WAIT_SETTINGS
from app.web.schemas import Answer, Body, Time

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Kind = Annotated[str, WithJsonSchema({"type": "string", "enum": list(STEP_KINDS)})]
Channel = Annotated[str, WithJsonSchema({"type": "string", "enum": list(NOTIFY_CHANNELS)})]
SeverityName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(SEVERITIES)})]
RoleName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(ROLES)})]
SettingName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(WAIT_SETTINGS)})]


class StepIn(Body):
    """One step; only the fields of its `kind` are read."""

    kind: Kind = Field(description="`wait`; whom to tell: `oncall`, `person`, `lead`, `role`; where to post: "
                                   "`slack`, `webhook`.")
    minutes: int | None = Field(None, description=f"`wait`: 1 to {MAX_WAIT_MINUTES} minutes.")
    setting: SettingName | None = Field(None, description="`wait`: the runtime setting whose minutes to wait, "
                                        "instead of `minutes`.")
    schedule_id: Id | None = Field(None, description="`oncall`: whoever is on call in this schedule when it fires.")
    developer_id: Id | None = Field(None, description="`person`: an active developer.")
    role: RoleName | None = Field(None, description="`role`: everyone active with this role.")
    channels: list[Channel] | None = Field(None, description="`oncall`, `person`, `lead`, `role`: at least one.")
    slack_channel: str | None = Field(None, max_length=80, description="`slack`: a channel name or id (Web API "
                                      "only); empty: the team channel.")
    webhook_id: Id | None = Field(None, description="`webhook`: a webhook subscription.")


class ChainBody(Body):
    """A whole chain: PUT replaces every field, and the steps in their order."""

    name: str = Field(min_length=1, max_length=120)
    service_id: Id | None = Field(None, description="null: the default chain of the severity, for every service "
                                  "without its own.")
    severity: SeverityName
    steps: list[StepIn] = Field(max_length=MAX_STEPS)
    repeat_times: int = Field(0, description=f"Runs again after the last step, 0 to {MAX_REPEATS} times, until "
                              "someone acknowledges.")
    repeat_every_minutes: int | None = Field(None, description=f"Minutes after the last step before each repeat "
                                             f"(1 to {MAX_REPEAT_EVERY}); required when `repeat_times` is above 0.")


class Step(Answer):
    position: int
    kind: str
    description: str = Field(description="The step in words.")
    minutes: int | None
    setting: str | None
    schedule_id: int | None
    developer_id: int | None
    role: str | None
    channels: list[str] | None
    slack_channel: str | None
    webhook_id: int | None


class Chain(Answer):
    id: int
    name: str
    service_id: int | None
    severity: str
    repeat_times: int
    repeat_every_minutes: int | None
    steps: list[Step]
    created_at: Time
    updated_at: Time | None


class ChainList(Answer):
    items: list[Chain]
    total: int
    channels: list[str] = Field(description="The channels this deployment has configured (what a step may use "
                                "to reach someone now).")
