"""Real local receivers (SMTP, Slack, Twilio, webhooks) for these tests, and the escalation tests' team."""
from tests.jobs.team import team  # noqa: F401
from tests.receivers import _http_receivers, slack_receiver, smtp_server, twilio_receiver, webhook_receiver  # noqa: F401
