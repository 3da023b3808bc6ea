"""The channel registry: the one place that says whether a channel is configured and whether it
can reach a developer.

Each channel module reads its own settings (``from_config``); everything else in Heartwatch asks
here instead of looking at SMTP_HOST, SLACK_* or TWILIO_* itself, so a channel's settings change in
one module and every planner, alert and summary follows.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.models import Developer
from app.notify.channels import email as email_channel
from app.notify.channels import slack as slack_channel
from app.notify.channels import sms as sms_channel
from app.notify.channels import webhook as webhook_channel
from app.notify.channels.base import Channel


def configured_channels() -> dict[str, Channel]:
    """The channels as the settings configure them now (e-mail and SMS are absent while unset)."""
    config = current_app.config
    channels: dict[str, Channel] = {"slack": slack_channel.SlackChannel.from_config(config),
                                    "webhook": webhook_channel.WebhookChannel.from_config(config)}
    mail = email_channel.EmailChannel.from_config(config)
    if mail is not None:
        channels["email"] = mail
    text = sms_channel.SmsChannel.from_config(config)
    if text is not None:
        channels["sms"] = text
    return channels


# The settings that turn each of the people's channels on, for the pages that say why one is off.
TURNED_ON_BY = {"email": "SMTP_HOST", "slack": "SLACK_WEBHOOK_URL (or SLACK_BOT_TOKEN and SLACK_CHANNEL)",
                "sms": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"}


def channels_off() -> dict[str, str]:
    """E-mail, Slack and SMS as far as they are off, each with the settings that turn it on."""
    return {channel: settings for channel, settings in TURNED_ON_BY.items() if not is_configured(channel)}


def is_configured(channel: str) -> bool:
    """Whether the channel can send at all: e-mail needs SMTP_HOST, SMS the three Twilio settings,
    Slack a team channel (personal incoming webhooks need nothing configured: see ``reachable``);
    webhooks are always on (each subscription carries its own URL)."""
    config = current_app.config
    if channel == "email":
        return email_channel.EmailChannel.from_config(config) is not None
    if channel == "sms":
        return sms_channel.SmsChannel.from_config(config) is not None
    if channel == "slack":
        return slack_channel.SlackChannel.from_config(config).has_shared_channel
    return channel == "webhook"


def reachable(developer: Developer, channel: str) -> bool:
    """Whether a channel is configured and has an address for this developer."""
    if channel == "email":
        return bool(developer.email) and is_configured("email")
    if channel == "sms":
        return bool(developer.phone) and is_configured("sms")
    if channel == "slack":
        return bool(developer.slack_webhook_url) or is_configured("slack")
    return False


def offered_channels() -> list[str]:
    """The channels a step of an escalation chain may be given on this deployment (the editor offers
    these): e-mail and SMS once configured, Slack with a team channel."""
    return [c for c in ("email", "slack", "sms") if is_configured(c)]


def slack_web_api() -> bool:
    """Whether Slack posts go through the Web API, so a post can name its channel."""
    return slack_channel.SlackChannel.from_config(current_app.config).uses_web_api


@dataclass(frozen=True)
class SharedSlack:
    """Where the team channel's posts go: ``to`` is the channel id (Web API, threaded) or the
    incoming webhook's URL (a secret: never shown); ``label`` is what the audit trail shows."""

    to: str
    label: str
    threaded: bool


def shared_slack() -> SharedSlack | None:
    """The team channel as configured now, or None without one."""
    slack = slack_channel.SlackChannel.from_config(current_app.config)
    if slack.uses_web_api:
        return SharedSlack(slack.channel, f"Slack channel {slack.channel}", True)
    if slack.webhook_url:
        return SharedSlack(slack.webhook_url, "Slack default channel (incoming webhook)", False)
    return None
