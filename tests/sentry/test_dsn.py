"""The DSN Heartwatch prints is the one a Sentry SDK needs, and nothing else."""
from __future__ import annotations

import json

import sentry_sdk

from app.recording.dsn import dsn_for
from tests.factories import make_service
from tests.sentry.stored import stored_occurrences


def test_dsn_carries_the_ingest_key_and_service_id(app):
    service = make_service("Geo API", platform="java")
    assert dsn_for(service, "https://hw.example/errors/") == f"https://{service.ingest_key}@hw.example/errors/{service.id}"
    app.config["BASE_URL"] = "http://127.0.0.1:5000"
    assert dsn_for(service) == f"http://{service.ingest_key}@127.0.0.1:5000/{service.id}"


def test_dsn_from_create_service_works_with_the_sdk(app, runner, live_server, sentry_init):
    app.config["BASE_URL"] = live_server
    result = runner.invoke(args=["create-service", "Geo API", "--platform", "java", "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    sentry_init(dsn=created["dsn"])
    sentry_sdk.capture_message("tile cache cold")
    sentry_sdk.flush(timeout=10)
    [occurrence] = stored_occurrences()
    assert occurrence.service_id == created["id"]
    assert occurrence.message == "tile cache cold"
