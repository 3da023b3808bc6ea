"""Fixtures for the Sentry SDK tests: a DSN on the live server and a real sentry-sdk client."""
from __future__ import annotations

import pytest

from app.recording.dsn import dsn_for


@pytest.fixture
def dsn(live_server, service) -> str:
    """The service's DSN, pointing at the live Heartwatch."""
    return dsn_for(service, live_server)


@pytest.fixture
def sentry_init(dsn):
    """``sentry_init(**options)`` binds a real sentry-sdk client (the service's DSN, no default
    integrations) to the global scope, as ``sentry_sdk.init`` would; it is closed after the test."""
    import sentry_sdk

    clients = []

    def init(**options):
        options.setdefault("dsn", dsn)
        options.setdefault("default_integrations", False)
        client = sentry_sdk.Client(**options)
        sentry_sdk.get_global_scope().set_client(client)
        clients.append(client)
        return client

    yield init
    for client in clients:
        client.close(timeout=5)
    sentry_sdk.get_global_scope().set_client(None)
