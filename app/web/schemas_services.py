"""The JSON API's schemas of services: their ingest settings, their releases and what their SDKs dropped,
and the snooze of an error (the rest of the API's schemas are in app/web/schemas.py, whose Body and Answer
these build on)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from app.ingest.settings import MAX_ENTRIES, MAX_ENTRY_CHARS
from app.models import PLATFORMS
from app.web.schemas import Answer, Body, ErrorSummary, Time, absent_not_null, page_of

Entries = Annotated[list[Annotated[str, Field(min_length=1, max_length=MAX_ENTRY_CHARS)]] | None,
                    Field(max_length=MAX_ENTRIES)]


class IngestSettingsChange(Body):
    """A service's data scrubbing and in-app rules; absent fields are kept, null clears a list. Checked by
    the rules of app/ingest/settings.py (the dashboard's form uses the same)."""

    model_config = ConfigDict(extra="forbid")

    scrub_data: bool = Field(None, description="On by default; off, only credential headers and cookies "
                             "are filtered.", json_schema_extra=absent_not_null)
    sensitive_fields: Entries = Field(None, description="Words: a key containing one is scrubbed too.")
    safe_fields: Entries = Field(None, description="Keys never scrubbed (whole, case-insensitive).")
    in_app_include: Entries = Field(None, description="Prefixes (modules, packages, namespaces, paths) in app.")
    in_app_exclude: Entries = Field(None, description="Prefixes whose frames are not in app.")


class ServiceChange(Body):
    """Change a service (admins only)."""

    model_config = ConfigDict(extra="forbid")

    ingest_settings: IngestSettingsChange


class IngestSettings(Answer):
    """A service's data scrubbing and in-app rules (docs/ingest.md)."""

    scrub_data: bool
    sensitive_fields: list[str]
    safe_fields: list[str]
    in_app_include: list[str]
    in_app_exclude: list[str]


class Service(Answer):
    """A service: an application that sends errors."""

    id: int
    name: str
    slug: str
    platform: Literal[PLATFORMS]
    active: bool
    ingest_settings: IngestSettings


class DiscardCount(Answer):
    reason: str = Field(description="Why the SDK dropped them: `sample_rate`, `before_send`, `queue_overflow`, "
                                    "`ratelimit_backoff`, `network_error` ...")
    category: str = Field(description="What it dropped: `error`, `transaction`, `span`, `session`, `attachment` ...")
    quantity: int


class DiscardDay(DiscardCount):
    day: dt.date = Field(description="The UTC day the client report was received.")


class ClientDiscarded(Answer):
    """What a service's Sentry SDKs dropped before sending, as their client reports say."""

    service_id: int
    service: str
    days: int
    since: dt.date = Field(description="The first day counted (today is the last).")
    total: int
    by_reason: list[DiscardCount] = Field(description="Over the window, most first.")
    per_day: list[DiscardDay] = Field(description="Newest day first.")


class SnoozeRequest(Body):
    """What wakes the snoozed error: any of a time (`until`, or `minutes` from now), `events` more events than
    now, more than `per_hour` events in an hour; at least one. Checked by app/triage/snooze.py."""

    until: str | int | None = Field(None, description="ISO 8601 (no zone: UTC) or epoch seconds; in the future.",
                                    examples=["2026-12-05T09:00:00Z"])
    minutes: int | None = Field(None, description="From now, instead of `until` (1 to 527040).")
    events: int | None = Field(None, description="Wake after this many more events (1 to 10⁹).")
    per_hour: int | None = Field(None, description="Wake when more than this many events come within an hour "
                                 "(1 to 10⁹).")


class ReleaseItem(Answer):
    """One release of a service, with the errors first seen in it and those that regressed in it (at most 20
    of each, the gravest first; the counts count them all)."""

    id: int = Field(description="Grows in the order Heartwatch first saw the service's releases: the later, "
                                "the newer.")
    version: str
    first_seen: Time
    new_error_count: int
    new_errors: list[ErrorSummary]
    regression_count: int = Field(description="Errors whose latest regression came with this release.")
    regressions: list[ErrorSummary]


ReleasePage = page_of("ReleasePage", ReleaseItem)
