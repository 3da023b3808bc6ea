"""Every request and answer model of the JSON API as OpenAPI component schemas, generated together so
they share one set of definitions."""
from __future__ import annotations

from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from app.web.schemas import (
    REF_TEMPLATE, Assignment, Developer, DeveloperList, ErrorChange, ErrorChart, ErrorDetail, ErrorList, ErrorPage,
    EscalationRequest, OccurrenceInPlace, OccurrencePage, OnCallChange, PatternPage, Resolution, Stats, WorkloadList,
)
from app.web.schemas_activity import Escalation, Notification, NotificationPage, TokenList
from app.web.schemas_services import ClientDiscarded, ReleasePage, Service, ServiceChange, SnoozeRequest
from app.web import schemas_chains as chains
from app.web import schemas_error_details as details
from app.web import schemas_schedules as oncall

REQUESTS = (ErrorChange, Resolution, SnoozeRequest, Assignment, EscalationRequest, OnCallChange, ServiceChange,
            oncall.ScheduleCreate, oncall.ScheduleChange, oncall.LayerCreate, oncall.LayerChange,
            oncall.OverrideCreate, oncall.OverrideChange, oncall.SwapCreate, chains.ChainBody, details.MergeRequest,
            details.UnmergeRequest, details.CommentCreate)
ANSWERS = (ErrorDetail, Escalation, Developer, Stats, ErrorPage, OccurrencePage, PatternPage, NotificationPage,
           ReleasePage, ErrorList, DeveloperList, WorkloadList, Notification, TokenList, ClientDiscarded, Service, OccurrenceInPlace,
           oncall.Schedule, oncall.ScheduleList, oncall.Layer, oncall.Override, oncall.OverrideList, oncall.OnCall,
           oncall.FeedAddress, oncall.Swap, oncall.SwapList, chains.Chain, chains.ChainList, details.TagBreakdown,
           details.TagValuesPage, details.MergeResult, details.UnmergeResult, details.Comment, details.CommentList,
           ErrorChart)


class _Schema(GenerateJsonSchema):
    """Schemas without the titles pydantic derives from names (the component names say it)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def component_schemas() -> dict[str, dict]:
    """The OpenAPI component schemas of every request and answer model, keyed by model name."""
    _, top = models_json_schema([(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in ANSWERS],
                                ref_template=REF_TEMPLATE, schema_generator=_Schema)
    schemas = top["$defs"]
    for schema in schemas.values():
        schema.pop("title", None)
    return schemas
