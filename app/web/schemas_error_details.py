"""The JSON API's schemas of an error's tag breakdowns, merges and comments (the rest of the API's
schemas are in app/web/schemas.py, whose Body and Answer these build on)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.triage.merge import MAX_MERGED
from app.web.schemas import Answer, Body, DeveloperBrief, ErrorDetail, ErrorSummary, Time, Uuid

ErrorIds = Annotated[list[Annotated[str, Field(min_length=1, max_length=36)]],
                     Field(min_length=1, max_length=MAX_MERGED)]


class MergeRequest(Body):
    error_ids: ErrorIds = Field(description="The errors (of the same service) to merge into this one.")


class UnmergeRequest(Body):
    error_ids: ErrorIds | None = Field(None, description="Which of the errors merged into this one to give back; "
                                                         "absent: all of them.")


class CommentCreate(Body):
    body: str = Field(description="Plain text, at most 4,000 characters; `@name` mentions a developer (the local "
                                  "part of their e-mail, or their name without spaces or with dots).")


class TagValue(Answer):
    value: str
    count: int = Field(description="Events seen with the value.")
    share: float = Field(description="Its part of the key's events, 0 to 1.")


class TagKey(Answer):
    """One key of an error's events with its most seen values."""

    key: str = Field(description="`environment`, `release`, `server`, `browser`, `os`, or `t.<tag>`; the path "
                                 "of GET /api/errors/{error_id}/tags/{key}/.")
    name: str = Field(description="What the page calls it (a tag by its own name).")
    total: int = Field(description="Events seen with the key.")
    values: int = Field(description="Distinct values.")
    top: list[TagValue]


class TagBreakdown(Answer):
    """Every key of the error's events, the built-in ones first, then tags by name."""

    error_id: Uuid
    events: int = Field(description="The error's events (`occurrence_count`).")
    users: int
    keys: list[TagKey]


class TagValuesPage(Answer):
    """One key's values, most seen first; `values` counts them all."""

    key: str
    name: str
    total: int
    values: int
    items: list[TagValue]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=100)


class MergeResult(Answer):
    error: ErrorDetail = Field(description="The error merged into (`latest_occurrence` is null).")
    merged: list[ErrorSummary] = Field(description="The errors merged into it by this request.")


class UnmergeResult(Answer):
    error: ErrorDetail = Field(description="The error they were merged into (`latest_occurrence` is null).")
    unmerged: list[ErrorSummary] = Field(description="The errors given back, each with its events again.")


class Comment(Answer):
    id: int
    error_id: Uuid
    author: DeveloperBrief | None
    body: str = Field(description="As written: plain text, never markup.")
    mentions: list[DeveloperBrief] = Field(description="The developers it mentions, who were told.")
    created_at: Time


class CommentList(Answer):
    """An error's comments, newest first; `total` counts them."""

    items: list[Comment]
    total: int
