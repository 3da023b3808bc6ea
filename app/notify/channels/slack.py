"""Slack: a rich card (Block Kit) through an incoming webhook, or through the Web API.

Settings: SLACK_WEBHOOK_URL (the default channel's incoming webhook), or SLACK_BOT_TOKEN with
SLACK_CHANNEL to post with chat.postMessage (SLACK_API_BASE points elsewhere for tests). With the
Web API the first message about an error starts a thread and what happens next (assigned,
escalated, regressed, resolved) is posted as a reply in it. A developer's own incoming webhook
(``slack_webhook_url``) works in either mode. Webhook URLs and the bot token are secrets: they
never reach the logs or the notification rows.
"""
from __future__ import annotations

import json
import re

from app.notify.channels.base import Channel, DeliveryResult, Message, Notice, TransportError, http_outcome, http_post

SEVERITY_COLOURS = {"critical": "#b00020", "high": "#e8590c", "medium": "#f2c200", "low": "#1c7ed6",
                    "info": "#868e96"}
# Slack member ids: U (or W, Enterprise Grid) and capital letters and digits; real ones are 9 to
# 11 characters, 8 to 20 leaves room for what Slack may issue next.
_MEMBER = re.compile(r"[UW][A-Z0-9]{7,19}")
MEMBER_ID_HINT = "a Slack member id looks like U012AB3CD (U or W, then 7 to 19 capital letters and digits)"
TEXT_LIMIT = 2800  # Slack truncates section text at 3,000 characters
# chat.postMessage errors that retrying cannot fix.
PERMANENT_API_ERRORS = {
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed", "account_inactive",
    "token_revoked", "no_permission", "missing_scope", "msg_too_long", "invalid_blocks", "invalid_arguments",
    "restricted_action", "too_many_attachments",
}


# The answer buttons (app/notify/slack_answers.py handles what Slack posts back): action id, label, answer.
ANSWER_BUTTONS = (("hw_acknowledge", "Acknowledge", "acknowledge"), ("hw_resolve", "Resolve", "resolve"),
                  ("hw_assign_to_me", "Assign to me", "assign_to_me"))


def slack_member_id(value: str | None) -> str | None:
    """The one member id rule (preferences, a lead's edit, mentions): the id trimmed and in capitals,
    None when blank; raises ValueError (its text is ``MEMBER_ID_HINT``) for anything else."""
    text = (value or "").strip().upper()
    if not text:
        return None
    if not _MEMBER.fullmatch(text):
        raise ValueError(MEMBER_ID_HINT)
    return text


def _mention(member: str | None) -> str | None:
    try:
        return slack_member_id(member)
    except ValueError:
        return None


def escape(text: str | None) -> str:
    """Slack's escaping for mrkdwn: &, < and > only, which also disarms <!channel> and <@U…> mentions."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SlackChannel(Channel):
    name = "slack"

    def __init__(self, *, webhook_url: str | None = None, bot_token: str | None = None,
                 channel: str | None = None, api_base: str = "https://slack.com/api", timeout: float = 10):
        self.webhook_url = webhook_url
        self._bot_token = bot_token
        self.channel = channel
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_config(cls, config) -> SlackChannel:
        return cls(webhook_url=config.get("SLACK_WEBHOOK_URL"), bot_token=config.get("SLACK_BOT_TOKEN"),
                   channel=config.get("SLACK_CHANNEL"), api_base=config.get("SLACK_API_BASE") or "https://slack.com/api",
                   timeout=float(config.get("NOTIFY_TIMEOUT_SECONDS") or 10))

    @property
    def uses_web_api(self) -> bool:
        return bool(self._bot_token and self.channel)

    @property
    def has_shared_channel(self) -> bool:
        """Whether there is a team channel to post to (Web API or the default incoming webhook)."""
        return self.uses_web_api or bool(self.webhook_url)

    def send(self, message: Message) -> DeliveryResult:
        """Post to an incoming webhook (``to`` is its URL) or, for the team channel in Web API
        mode, with chat.postMessage (``to`` is the channel)."""
        if message.to.startswith(("https://", "http://")):
            return self._post_webhook(message.to, message.payload or {"text": message.text})
        if not self.uses_web_api:
            return DeliveryResult(False, "Slack Web API is not configured (SLACK_BOT_TOKEN, SLACK_CHANNEL)",
                                  permanent=True)
        return self._post_api(message)

    def _post_webhook(self, url: str, payload: dict) -> DeliveryResult:
        # The team channel's webhook is the operator's setting; a developer's own goes through the guard.
        try:
            answer = http_post(url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, self.timeout,
                               operator_endpoint=bool(self.webhook_url) and url == self.webhook_url)
        except TransportError as exc:
            return DeliveryResult(False, f"Slack webhook: {exc}", permanent=exc.permanent)
        return http_outcome(answer, "Slack webhook")

    def _post_api(self, message: Message) -> DeliveryResult:
        payload = dict(message.payload or {"text": message.text})
        payload["channel"] = message.to
        payload.setdefault("unfurl_links", False)
        if message.thread_ts:
            payload["thread_ts"] = message.thread_ts
        headers = {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self._bot_token}"}
        try:
            answer = http_post(f"{self.api_base}/chat.postMessage", json.dumps(payload).encode(), headers,
                               self.timeout, operator_endpoint=True)
        except TransportError as exc:
            return DeliveryResult(False, f"Slack API: {exc}")
        if answer.status != 200:
            return http_outcome(answer, "Slack API")
        body = answer.json()
        if not body.get("ok"):
            error = str(body.get("error") or "unknown_error")
            return DeliveryResult(False, f"Slack API refused: {error}", permanent=error in PERMANENT_API_ERRORS,
                                  answer_status=answer.status, answer=answer.text)
        return DeliveryResult(True, "posted with chat.postMessage", provider_id=str(body.get("ts") or ""),
                              extra={"channel": body.get("channel") or message.to}, answer_status=answer.status,
                              answer=answer.text)


def _fields(error: dict, assignee_text: str) -> list[dict]:
    def field(label: str, value) -> dict:
        return {"type": "mrkdwn", "text": f"*{label}*\n{escape(_cut(str(value), 300)) if value not in (None, '') else '–'}"}

    return [
        field("Service", error.get("service")),
        field("Severity", (error.get("severity") or "").upper()),
        field("Type", error.get("error_type")),
        field("Endpoint", error.get("endpoint")),
        field("Occurrences", error.get("occurrence_count")),
        {"type": "mrkdwn", "text": f"*Assignee*\n{assignee_text}"},
    ]


def _assignee_text(notice: Notice) -> str:
    # The name, not a mention: only the people this notice is for are called out (in the headline).
    name = (notice.error or {}).get("assignee_name")
    return escape(name) if name else "_unassigned_"


def compose(notice: Notice, to: str, idempotency_key: str, *, full_card: bool = True,
            answers: bool = False) -> Message:
    """The card for a notice: colour by severity, the error's facts, a button to the error.

    ``full_card`` False gives the short form used for replies in an error's thread; ``answers`` adds the
    Acknowledge, Resolve and Assign to me buttons (when Slack's answers are set up and the error is open).
    """
    error = notice.error or {}
    colour = SEVERITY_COLOURS.get(notice.severity or "", "#868e96")
    mentions = " ".join(f"<@{member}>" for member in map(_mention, notice.mentions) if member)
    fallback = f"{escape(notice.title)} {notice.url}"
    headline = f"*<{notice.url}|{escape(notice.headline)}>*"
    if mentions:
        headline = f"{mentions} {headline}"
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(headline, TEXT_LIMIT)}}]
    summary = notice.details.get("summary")
    if summary:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(_cut(summary, TEXT_LIMIT))}})
    if full_card and error:
        # The client's text goes in plain_text: Slack never parses it for links or mentions.
        blocks.append({"type": "section", "text": {"type": "plain_text", "emoji": False,
                                                   "text": _cut(error.get("message") or "(no message)", TEXT_LIMIT)}})
        blocks.append({"type": "section", "fields": _fields(error, _assignee_text(notice))})
        context = [f"environment: {escape(error.get('environment') or '–')}",
                   f"first seen: {escape(error.get('first_seen') or '–')}",
                   f"last seen: {escape(error.get('last_seen') or '–')}"]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    buttons = [{"type": "button", "text": {"type": "plain_text", "text": "Open in Heartwatch"}, "url": notice.url,
                "action_id": "open_error"}]
    if answers and error.get("id"):
        buttons += [{"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id,
                     "value": error["id"], **({"style": "primary"} if answer == "acknowledge" else {})}
                    for action_id, label, answer in ANSWER_BUTTONS]
    blocks.append({"type": "actions", "elements": buttons})
    payload = {"text": _cut(fallback, TEXT_LIMIT), "attachments": [{"color": colour, "blocks": blocks}]}
    return Message(channel="slack", to=to, subject=notice.title, text=f"{notice.title} {notice.url}", payload=payload,
                   idempotency_key=idempotency_key, event=notice.event, thread_ts=notice.thread_ts)
