"""The demo data set: six services, a team, a week of errors, loaded through the real ingest path."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from app.extensions import db
from app.models import (SEVERITIES, AuditEvent, Developer, ErrorEscalation, ErrorLog, ErrorOccurrence, ErrorPattern,
                        Service)
from app.triage import schedules
from app.models.types import utcnow
from app.demo.loader import CATALOGUE, DEMO_PASSWORD, SERVICES, TEAM, load_demo

# The source each service's events come through: each service's natural payload and normaliser.
SOURCE_OF = {"django-ai": "api", "laravel-web": "laravel", "java-geo": "java", "react-frontend": "frontend",
             "angular-admin": "frontend", "mobile": "mobile"}


def _occurrences_by_service() -> dict[str, int]:
    rows = db.session.execute(
        select(Service.slug, func.count(ErrorOccurrence.id))
        .join(ErrorOccurrence, ErrorOccurrence.service_id == Service.id).group_by(Service.slug)).all()
    return dict(rows)


def test_demo_loads_every_service_through_its_own_source(app):
    summary = load_demo(400)

    assert summary["events"] == 400
    by_service = _occurrences_by_service()
    assert set(by_service) == {slug for slug, *_ in SERVICES}
    assert sum(by_service.values()) == 400
    assert all(count >= 20 for count in by_service.values()), by_service
    platforms = dict(db.session.execute(select(Service.slug, Service.platform)).all())
    assert platforms == {slug: platform for slug, _name, platform, _r in SERVICES}

    sources = db.session.execute(
        select(Service.slug, ErrorOccurrence.source).join(Service, Service.id == ErrorOccurrence.service_id)
        .distinct()).all()
    assert set(sources) == set(SOURCE_OF.items())
    errors = db.session.execute(select(func.count()).select_from(ErrorLog)).scalar_one()
    assert 40 <= errors <= 60
    assert summary["errors"] == errors == len(CATALOGUE)


def test_demo_stack_traces_are_parsed_into_frames(app):
    load_demo(200)
    # Every error of a platform whose payloads carry a stack has parsed frames, with in-app ones.
    errors = db.session.execute(select(ErrorLog)).scalars().all()
    with_frames = 0
    for error in errors:
        occurrence = db.session.execute(
            select(ErrorOccurrence).where(ErrorOccurrence.error_id == error.id).limit(1)).scalar_one()
        frames = occurrence.exceptions[-1]["frames"] if occurrence.exceptions else []
        if frames:
            with_frames += 1
            assert all(set(f) >= {"filename", "function", "lineno", "in_app"} for f in frames)
    assert with_frames >= len(errors) - 5
    chained = db.session.execute(
        select(ErrorOccurrence.exceptions).join(ErrorLog, ErrorLog.id == ErrorOccurrence.error_id)
        .where(ErrorLog.error_type == "IllegalStateException").limit(1)).scalar_one()
    assert [e["type"] for e in chained] == ["NoSuchFileException", "UncheckedIOException", "IllegalStateException"]
    culprits = set(db.session.execute(select(ErrorLog.culprit)).scalars())
    assert "com.example.geo.routing.DistanceCalculator.haversine (DistanceCalculator.java:38)" in culprits
    assert "OrderTotal.fromJson in shop_app" in culprits


def test_demo_has_every_severity_and_a_team_at_work(app):
    summary = load_demo(400)

    severities = set(db.session.execute(select(ErrorLog.severity).distinct()).scalars())
    assert severities == set(SEVERITIES)
    statuses = dict(db.session.execute(select(ErrorLog.status, func.count()).group_by(ErrorLog.status)).all())
    assert statuses.get("resolved", 0) >= 2
    assert statuses.get("in_progress", 0) >= 1
    assert statuses.get("ignored", 0) >= 1
    assigned = db.session.execute(
        select(func.count()).select_from(ErrorLog).where(ErrorLog.assigned_to_id.is_not(None))).scalar_one()
    assert assigned >= 5
    regressions = db.session.execute(
        select(func.count()).select_from(ErrorLog).where(ErrorLog.regression_count > 0)).scalar_one()
    assert regressions == summary["regressions"] >= 1
    assert db.session.execute(select(func.count()).select_from(ErrorEscalation)).scalar_one() >= 1
    # Each change went through the triage services, which leave an audit trail.
    actions = set(db.session.execute(select(AuditEvent.action).distinct()).scalars())
    assert {"error.assigned", "error.resolved", "error.regressed", "error.escalated"} <= actions


def test_demo_events_spread_over_the_past_week(app):
    load_demo(400)
    now = utcnow()
    times = db.session.execute(select(ErrorOccurrence.timestamp)).scalars().all()
    assert min(times) >= now - dt.timedelta(days=7, minutes=5)
    assert min(times) < now - dt.timedelta(days=6)
    assert max(times) > now - dt.timedelta(hours=6)
    days = {(now - t).days for t in times}
    assert days == set(range(7))


def test_demo_team_can_sign_in_and_every_service_has_a_lead(app, client):
    summary = load_demo(60)

    services = db.session.execute(select(Service)).scalars().all()
    assert all(s.lead is not None and s.lead.role == "lead" for s in services)
    people = db.session.execute(select(Developer)).scalars().all()
    assert {p.role for p in people} == {"manager", "lead", "developer"}
    switched = schedules.switched_on_ids()
    assert any(p.id in switched for p in people) and not all(p.id in switched for p in people)
    mei = next(p for p in people if p.email == "mei.chen@example.com")
    assert {s.slug for s in mei.services} == {"react-frontend", "angular-admin"}

    assert summary["password"] == DEMO_PASSWORD
    for person in TEAM:
        assert person.email in summary["accounts"]
    wrong = client.post("/login", data={"email": TEAM[1].email, "password": "not-the-demo-password"})
    assert not wrong.location
    response = client.post("/login", data={"email": TEAM[1].email, "password": summary["password"]})
    assert response.status_code in (302, 303) and "/login" not in response.location


def test_demo_runs_twice_without_duplicating_services_or_people(app):
    first = load_demo(120)
    second = load_demo(120)

    assert first["services_created"] == 6 and first["accounts_created"] == len(TEAM)
    assert second["services_created"] == 0 and second["accounts_created"] == 0
    assert db.session.execute(select(func.count()).select_from(Service)).scalar_one() == 6
    assert db.session.execute(select(func.count()).select_from(Developer)).scalar_one() == len(TEAM)
    assert sum(_occurrences_by_service().values()) == 240
    # The same errors again: grouped with the first run's, not new ones.
    assert db.session.execute(select(func.count()).select_from(ErrorLog)).scalar_one() == len(CATALOGUE)


def test_demo_command_prints_the_sign_in_accounts(runner):
    result = runner.invoke(args=["demo", "--errors", "80", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["events"] == 80
    assert summary["password"] == DEMO_PASSWORD
    assert "miriam.adeyemi@example.com (manager)" in summary["accounts"]
    assert summary["sign_in"].endswith("/login")


def test_demo_shows_patterns_of_errors_that_share_a_signature(app, client):
    summary = load_demo(400)

    rows = db.session.execute(select(ErrorPattern)).scalars().all()
    assert summary["patterns"] == len(rows) >= 3
    across = {p.normalised_message: p.affected_services for p in rows}
    assert across["Cannot read properties of undefined (reading '<value>')"] == ["angular-admin", "react-frontend"]
    assert across["Failed to fetch"] == ["angular-admin", "react-frontend"]
    database = next(m for m in across if m.startswith("connection to server at"))
    assert '"<value>" (<ip>), port <n> failed' in database
    admin = next(p for p in TEAM if p.role == "manager")
    assert client.post("/login", data={"email": admin.email, "password": DEMO_PASSWORD}).status_code == 303
    page = client.get("/patterns").get_data(as_text=True)
    assert "Failed to fetch" in page and "(&lt;ip&gt;), port &lt;n&gt;" in page
