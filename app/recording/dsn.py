"""The Sentry-style DSN of a service, for the dashboard, the CLI and the capture docs."""
from __future__ import annotations

from flask import current_app


def dsn_for(service, base_url: str | None = None) -> str:
    """``{scheme}://{ingest key}@{host}[/prefix]/{service id}``: Sentry SDKs derive the
    ``/api/{id}/envelope/`` URL from it, and the key is the service's ingest key."""
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    scheme, _, rest = base.partition("://")
    return f"{scheme}://{service.ingest_key}@{rest}/{service.id}"
