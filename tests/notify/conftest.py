"""Real local receivers (SMTP, Slack, Twilio, webhooks) for these tests, and a queue that is down."""
import pytest
from huey.storage import RedisStorage

from app.jobs import queue_of
from tests.receivers import _http_receivers, elsewhere, slack_receiver, smtp_server, twilio_receiver, webhook_receiver  # noqa: F401


@pytest.fixture
def queue_down(app):
    """The hand-off after commit fails: the queue (a Redis nobody listens on) refuses every enqueue."""
    huey = queue_of(app)
    huey.immediate = False
    huey.storage = RedisStorage("heartwatch-test", url="redis://127.0.0.1:1/0")
    yield
    huey.immediate = True
