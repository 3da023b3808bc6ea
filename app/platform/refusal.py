"""The one shape of a request the domain refuses: what is wrong, which field, which HTTP status."""
from __future__ import annotations


class Refused(ValueError):
    """A change or query that breaks a rule. Views answer it as ``status`` (a JSON error in the API,
    a message on the page in the dashboard); ``field`` names the culprit when there is one."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def column_text(value, column, field: str, *, refusal: type[Refused] = Refused, required: str | None = None) -> str | None:
    """``value`` as a column of text stores it: stripped, without NUL, and at most the column's length,
    else ``refusal`` naming ``field`` (a longer value cost a 500 on PostgreSQL, which checks lengths, and
    was silently cut on SQLite). Empty is None, or refused with the message ``required`` when given."""
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise refusal(required, field)
        return None
    if "\x00" in text:
        raise refusal(f"{field} cannot contain a NUL character", field)
    limit = column.type.length
    if limit is not None and len(text) > limit:
        raise refusal(f"{field} is {len(text)} characters long; at most {limit} fit", field)
    return text


class Unavailable(Refused):
    """A request that cannot be done now, though it may be later (a dependency is down): 503, with
    ``Retry-After`` when ``retry_after`` is given."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message, status=503)
        self.retry_after = retry_after
