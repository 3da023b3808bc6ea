"""The one shape of a request the domain refuses: what is wrong, which field, which HTTP status."""
from __future__ import annotations


class Refused(ValueError):
    """A change or query that breaks a rule. Views answer it as ``status`` (a JSON error in the API,
    a message on the page in the dashboard); ``field`` names the culprit when there is one."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status
