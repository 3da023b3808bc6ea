"""Severity: the payload's (any common synonym), else the configurable rules."""
from __future__ import annotations

import json

import pytest

from app.ingest.incoming import IncomingError, InvalidPayload
from app.ingest.severity import DEFAULT_RULES, classify, load_rules, normalise_severity


def event(error_type="ValueError", severity=None, http_status=None, platform=None):
    return IncomingError(service_id=1, source="api", error_type=error_type, message="m", severity=severity,
                         http_status=http_status, platform=platform)


@pytest.mark.parametrize(("given", "expected"), [
    ("fatal", "critical"), ("FATAL", "critical"), ("emergency", "critical"), ("emerg", "critical"),
    ("alert", "critical"), ("critical", "critical"), ("CRITICAL", "critical"),
    ("error", "high"), ("ERROR", "high"), ("err", "high"), ("SEVERE", "high"), ("high", "high"),
    ("warning", "medium"), ("WARN", "medium"), ("medium", "medium"),
    ("notice", "low"), ("low", "low"),
    ("info", "info"), ("INFO", "info"), ("debug", "info"), ("trace", "info"), ("FINE", "info"),
    (" Error ", "high"),
    (0, "critical"), (3, "high"), (4, "medium"), (5, "low"), (7, "info"),
    ("log", "info"), ("LOG", "info"),  # the JavaScript SDKs' SeverityLevel 'log'
    (10, "info"), (20, "info"), (30, "medium"), (40, "high"), (50, "critical"),  # Python logging levels
])
def test_payload_severity_synonyms(given, expected):
    assert normalise_severity(given) == expected


@pytest.mark.parametrize("given", ["urgent", "", 8, -1, True, None, ["error"], {"level": "error"}, 3.0])
def test_unknown_severity_is_a_400_naming_the_field(given):
    with pytest.raises(InvalidPayload) as caught:
        normalise_severity(given, field="level")
    assert caught.value.field == "level"


def test_the_payload_severity_wins_over_every_rule():
    assert classify(event("OutOfMemoryError", severity="low")) == "low"


@pytest.mark.parametrize(("error_type", "expected"), [
    ("MemoryError", "critical"),
    ("java.lang.OutOfMemoryError", "critical"),
    ("PDOException", "critical"),
    ("Doctrine\\DBAL\\Exception\\DatabaseError", "critical"),
    ("django.db.utils.OperationalError", "critical"),
    ("ValidationError", "medium"),
    ("Symfony\\Component\\HttpKernel\\Exception\\NotFoundHttpException", "low"),
    ("requests.exceptions.ReadTimeout", "high"),
    ("psycopg2.errors.DeadlockDetected", "critical"),
    ("java.net.ConnectionResetException", "high"),
])
def test_exception_type_rules(error_type, expected):
    assert classify(event(error_type)) == expected


@pytest.mark.parametrize(("status", "expected"), [
    (500, "high"), (503, "high"), (404, "low"), (401, "low"), (403, "low"), (429, "medium"), (422, "medium"),
])
def test_http_status_rules(status, expected):
    assert classify(event("HTTPError", http_status=status)) == expected


def test_platform_rule_then_the_default():
    assert classify(event("TypeError", platform="javascript")) == "medium"
    assert classify(event("TypeError", platform="python")) == "high"


def test_type_rules_come_before_status_rules():
    assert classify(event("ValidationError", http_status=500)) == "medium"


def test_configured_rules_replace_the_keys_they_name():
    rules = load_rules(json.dumps({"types": {"PaymentDeclined": "critical"}, "default": "warning",
                                   "platform": {"dart": "LOW"}}))
    assert classify(event("PaymentDeclined"), rules) == "critical"
    # "types" was replaced as a whole: the built-in MemoryError rule is gone, type_contains is kept.
    assert classify(event("MemoryError"), rules) == "medium"
    assert classify(event("ReadTimeout"), rules) == "high"
    assert classify(event("StateError", platform="dart"), rules) == "low"
    assert load_rules(None) == load_rules("")
    assert load_rules(None)["types"] == DEFAULT_RULES["types"]


@pytest.mark.parametrize("setting", [
    "{not json",
    "[1, 2]",
    json.dumps({"default": "urgent"}),
    json.dumps({"types": {"X": "boom"}}),
    json.dumps({"types": ["X"]}),
    json.dumps({"colours": {}}),
])
def test_a_bad_rules_setting_fails_loudly(setting):
    with pytest.raises(RuntimeError, match="SEVERITY_RULES"):
        load_rules(setting)
