"""Runtime settings: defaults from the environment, changes validated, stored and audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.platform import settings
from app.platform.settings import SettingError
from tests.factories import make_developer


def test_defaults_come_from_the_configuration(app):
    app.config["THRESHOLD_ERRORS_PER_HOUR"] = 250
    values = settings.current()
    assert values["threshold_errors_per_hour"] == 250
    assert values["notify_retry_delays_minutes"] == [1, 4, 16]
    assert values["sms_severities"] == ["critical"]
    assert values["daily_summary_time"] == "08:00"
    assert values["interval_escalation_minutes"] == 15


def test_a_change_wins_over_the_default_is_audited_and_can_be_reset(app):
    admin = make_developer("Admin", role="admin")
    assert settings.update_setting("threshold_critical_per_hour", "75", admin) == 75
    assert settings.get("threshold_critical_per_hour") == 75
    described = {d["key"]: d for d in settings.describe()}
    assert described["threshold_critical_per_hour"]["changed"] and described["threshold_critical_per_hour"]["default"] == 50
    audit = db.session.execute(select(AuditEvent).where(AuditEvent.action == "settings.changed")).scalar_one()
    assert audit.details == {"from": 50, "to": 75} and audit.actor_id == admin.id

    assert settings.reset_setting("threshold_critical_per_hour", admin) == 50
    assert settings.get("threshold_critical_per_hour") == 50


@pytest.mark.parametrize("key, value", [
    ("threshold_errors_per_hour", "many"), ("threshold_errors_per_hour", 0), ("threshold_errors_per_hour", True),
    ("notify_retry_delays_minutes", "1, soon"), ("notify_retry_delays_minutes", ""),
    ("daily_summary_time", "8 am"), ("daily_summary_time", "24:00"), ("sms_severities", "critical, urgent"),
    ("no_such_setting", 1),
])
def test_bad_values_are_refused_with_the_field(app, key, value):
    with pytest.raises(SettingError) as refused:
        settings.update_setting(key, value, None)
    assert refused.value.field in (key, "key") and refused.value.message


def test_lists_and_times_are_normalised(app):
    assert settings.update_setting("notify_retry_delays_minutes", "2; 10 ,30", None) == [2, 10, 30]
    assert settings.update_setting("daily_summary_time", "7:30", None) == "07:30"
    assert settings.update_setting("sms_severities", "HIGH,critical", None) == ["high", "critical"]
