"""The real SMTP receiver for the password reset mails."""
from tests.receivers import smtp_server  # noqa: F401
