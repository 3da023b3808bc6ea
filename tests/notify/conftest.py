"""Real local receivers (SMTP, Slack, Twilio, webhooks) for these tests."""
from tests.receivers import _http_receivers, elsewhere, slack_receiver, smtp_server, twilio_receiver, webhook_receiver  # noqa: F401
