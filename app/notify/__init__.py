"""Notification channels: e-mail, Slack, SMS and custom webhooks, each behind ``Channel.send``."""
