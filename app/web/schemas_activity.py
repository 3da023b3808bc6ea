"""The JSON API's answers about what Heartwatch did: notification deliveries with their tries, escalations,
and personal API tokens (the rest of the answers: app/web/schemas.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.models import CHANNELS, NOTIFICATION_STATUSES
from app.models.notification import ANSWER_EXCERPT_LIMIT, ATTEMPT_OUTCOMES
from app.web.schemas import Answer, DeveloperBrief, Time, Uuid, listing_of, page_of


class NotificationAttempt(Answer):
    """One try of a delivery, oldest first: what came of it and why."""

    number: int = Field(ge=1, description="1 for the first try.")
    attempted_at: Time
    outcome: Literal[ATTEMPT_OUTCOMES] = Field(description="The delivery's status this try led to.")
    answer_status: int | None = Field(description="The receiver's status (HTTP status, SMTP reply code); null when "
                                                  "nothing answered.")
    reason: str | None = Field(examples=["webhook receiver answered 500", "SMTP server unreachable: timeout"])
    answer: str | None = Field(max_length=ANSWER_EXCERPT_LIMIT,
                               description="A short excerpt of what the receiver said, on one line; null unless "
                                           "the caller may see where the delivery went (admins; a developer for "
                                           "deliveries to themselves, webhooks excepted).")


class Notification(Answer):
    """One delivery (the audit trail of notifications), with every try of it in ``attempts``."""

    id: int
    error_id: Uuid | None
    recipient_id: int | None
    recipient: str = Field(description="Address, number, channel or URL.")
    channel: Literal[CHANNELS]
    event: str = Field(examples=["error.created", "error.regressed", "error.escalated"])
    status: Literal[NOTIFICATION_STATUSES]
    subject: str | None
    retry_count: int
    next_retry_at: Time | None
    last_error: str | None = Field(description="The reason of the last failed try while the delivery is not sent; "
                                               "every try's reason stays in `attempts`.")
    created_at: Time
    sent_at: Time | None
    attempts: list[NotificationAttempt]


class Escalation(Answer):
    id: int
    error_id: Uuid
    level: int
    reason: str
    automatic: bool
    escalated_from: DeveloperBrief | None
    escalated_to: DeveloperBrief | None
    created_at: Time


class Token(Answer):
    """A personal API token; never its secret, which is shown only once, when it is created."""

    id: int
    name: str
    created_at: Time
    last_used_at: Time | None = Field(description="Kept to the minute: written at most once a minute.")
    revoked_at: Time | None = Field(description="A revoked token is refused (401) from then on.")


NotificationPage = page_of("NotificationPage", Notification)
TokenList = listing_of("TokenList", Token)
