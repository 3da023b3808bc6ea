"""Telling a developer they were mentioned in a comment on an error (app/triage/comments.py).

A mention reaches the developer on the channels their preferences give the error's severity (quiet hours
kept, no SMS: a mention is not a page), else on the first of e-mail and their own Slack webhook that reaches
them: a comment may be on a low error, which tells nobody on its own. Each is an ``error_notifications``
row keyed by the comment and the person (``comment.mention:<comment id>``), planned in the comment's
transaction and sent after its commit, so it shows in the error's timeline and notification trail and is
retried like every other delivery.
"""
from __future__ import annotations

from app.models import Developer, ErrorComment, ErrorLog
from app.notify import channels as registry
from app.notify.planning import PlannedDelivery, record_planned
from app.triage import routing

EVENT = "comment.mention"  # its notice: app/notify/compose.py, mention_notice


def mention_channels(developer: Developer, error: ErrorLog) -> list[str]:
    """Where a mention reaches ``developer``."""
    wanted = [c for c in routing.personal_channels(developer, error.severity, registry.reachable) if c != "sms"]
    if "slack" in wanted and not developer.slack_webhook_url:
        wanted.remove("slack")  # the shared channel is the team's, not a place for one person's mention
    if wanted:
        return wanted
    fallback = [c for c in ("email", "slack") if registry.reachable(developer, c)
                and (c != "slack" or developer.slack_webhook_url)]
    return fallback[:1]


def plan_mentions(comment: ErrorComment, error: ErrorLog, people: list[Developer]) -> list[int]:
    """The mentioned developers' deliveries, added to the comment's transaction (not committed); their ids."""
    key = f"{EVENT}:{comment.id}"
    planned = []
    for developer in people:
        for channel in mention_channels(developer, error):
            if channel == "email":
                planned.append(PlannedDelivery(key, EVENT, "email", f"dev:{developer.id}", developer.email,
                                               developer.id))
            else:
                planned.append(PlannedDelivery(key, EVENT, "slack", f"slack:dev:{developer.id}",
                                               f"Slack webhook of {developer.name}", developer.id))
    return record_planned(planned, error.id, commit=False)
