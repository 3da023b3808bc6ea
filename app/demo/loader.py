"""The demo data set: a platform's six services, their team, and a week of errors.

Everything goes through the real paths: each event is the payload its source would post (from the
catalogue in ``app/demo/data/``, see ``app.demo.events``), run through that source's normaliser and
``record_errors``, which prepares the events and hands them to ``record_prepared`` in batches, as the
group-commit writer does with HTTP events; people and services through ``accounts``; assignment,
resolution and escalation through ``triage`` and ``escalation``; then the pattern analysis runs, as
the daily job would, so the patterns page shows the errors that share a signature. The demo can be
loaded again: existing services and people are kept, events are added.
"""
from __future__ import annotations

import random

import orjson
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.ingest.sources import NORMALISERS
from app.models import OPEN_STATUSES, Developer, ErrorEscalation, ErrorLog, Service
from app.models.types import utcnow
from app.accounts import developers as accounts
from app.demo.catalogue import CATALOGUE, SERVICES, TEAM, DemoError
from app.demo.events import demo_events, event_payload
from app.reports import patterns
from app.triage import escalation
from app.triage import changes as triage
from app.recording.record import RecordResult, raw_payload_text, record_errors

__all__ = ["CATALOGUE", "DEFAULT_EVENTS", "DEMO_PASSWORD", "SERVICES", "TEAM", "load_demo"]

DEMO_PASSWORD = "heartwatch-demo"
DEFAULT_EVENTS = 400
BATCH_SIZE = 100
REGRESSIONS = 3


# --- recording events ---------------------------------------------------------------------------

def _incoming(template: DemoError, payload: dict, service: Service, raw_limit: int) -> IncomingError:
    """The payload through its source's normaliser, exactly as the webhook and API views do."""
    incoming = NORMALISERS[template.source](payload, service.id)
    incoming.platform = incoming.platform or service.platform
    incoming.raw_payload = raw_payload_text(orjson.dumps(payload), raw_limit)
    return incoming


def _record(events: list[IncomingError]) -> list[RecordResult]:
    results: list[RecordResult] = []
    for start in range(0, len(events), BATCH_SIZE):
        results += record_errors(events[start:start + BATCH_SIZE])
    return results


# --- people and services ----------------------------------------------------------------------

def _ensure_services() -> tuple[dict[str, Service], int]:
    services, created = {}, 0
    for slug, name, platform, _releases in SERVICES:
        service = db.session.execute(select(Service).where(Service.slug == slug)).scalar_one_or_none()
        if service is None:
            service = accounts.create_service(name, platform, slug=slug)
            created += 1
        services[slug] = service
    return services, created


def _ensure_team(services: dict[str, Service], password: str) -> tuple[dict[str, Developer], int]:
    people, created = {}, 0
    shared_hash = None
    for person in TEAM:
        developer = accounts.developer_by_email(person.email)
        if developer is None:
            developer = accounts.create_developer(
                person.name, person.email, role=person.role, phone=person.phone,
                services=[services[s] for s in person.services], max_load=person.max_load,
                on_call=person.on_call, password=password if shared_hash is None else None)
            # Everyone shares the demo password: one scrypt hash (about 0.1 s each) serves them all.
            shared_hash = shared_hash or developer.password_hash
            developer.password_hash = shared_hash
            created += 1
        people[person.email] = developer
        for slug in person.lead_of:
            if services[slug].lead_id is None:
                services[slug].lead_id = developer.id
    db.session.commit()
    return people, created


# --- triage: what a team would have done during the week --------------------------------------

def _lead_for(error: ErrorLog, services_by_id: dict[int, Service], manager: Developer) -> Developer:
    service = services_by_id[error.service_id]
    return service.lead if service.lead is not None and service.lead.active else manager


def _triage(error_ids: list[str], services_by_id: dict[int, Service], manager: Developer,
            rng: random.Random) -> dict:
    """Resolve stale errors, assign and start work on others, ignore noise, escalate critical ones."""
    errors = list(db.session.execute(
        select(ErrorLog).where(ErrorLog.id.in_(error_ids)).order_by(ErrorLog.last_seen, ErrorLog.id)
    ).scalars())
    open_errors = [e for e in errors if e.status in OPEN_STATUSES]
    counts = {"resolved": [], "assigned": 0, "in_progress": 0, "ignored": 0, "escalated": 0}
    if not open_errors:
        return counts

    # The quietest errors (seen last longest ago) are the ones a team has fixed by now.
    to_resolve = open_errors[:max(1, len(open_errors) // 6)]
    notes = ["Fixed in the next release.", "Config corrected on the servers.", "Guard added; covered by a test.",
             "Upstream outage, nothing to change on our side."]
    for error in to_resolve:
        lead = _lead_for(error, services_by_id, manager)
        triage.resolve_error(error, lead, note=rng.choice(notes))
        counts["resolved"].append(error.id)

    remaining = [e for e in open_errors if e not in to_resolve]
    noise = [e for e in remaining if e.severity == "info"][:1]
    for error in noise:
        triage.set_status(error, "ignored", _lead_for(error, services_by_id, manager),
                          note="Noise from scanners and browsers; nothing to fix.")
        counts["ignored"] += 1

    candidates = [e for e in remaining if e not in noise]
    rng.shuffle(candidates)
    for error in candidates[:max(1, len(candidates) // 3)]:
        lead = _lead_for(error, services_by_id, manager)
        service = services_by_id[error.service_id]
        team = sorted((d for d in service.developers if d.role == "developer" and d.active), key=lambda d: d.id)
        assignee = rng.choice(team) if team else lead
        triage.assign_error(error, assignee, lead, reason="picked up in triage")
        counts["assigned"] += 1
        if rng.random() < 0.4:
            triage.set_status(error, "in_progress", assignee)
            counts["in_progress"] += 1

    escalated_already = set(db.session.execute(
        select(ErrorEscalation.error_id).where(ErrorEscalation.error_id.in_(error_ids))).scalars())
    critical = [e for e in remaining if e.severity == "critical" and e.is_open and e.id not in escalated_already]
    for error in critical[:2]:
        escalation.escalate_error(error, None, "Critical and unresolved for more than an hour", automatic=True)
        counts["escalated"] += 1
    return counts


# --- the whole demo ---------------------------------------------------------------------------

def load_demo(count: int = DEFAULT_EVENTS, *, password: str = DEMO_PASSWORD, seed: int = 2024) -> dict:
    """Load the demo: six services, their team, ``count`` events over the past week, then triage.

    Returns a summary for people: where and how to sign in (every demo account shares
    ``password``), the ingest keys, and what was recorded. Safe to run again: services and
    people that exist are kept, events and triage are added.
    """
    if count < 1:
        raise ValueError("the demo needs at least one event")
    rng = random.Random(seed)
    now = utcnow()
    raw_limit = current_app.config["MAX_RAW_PAYLOAD_BYTES"]
    services, services_created = _ensure_services()
    people, people_created = _ensure_team(services, password)

    # Some events are kept back to arrive after triage, as regressions of resolved errors.
    regression_events = min(REGRESSIONS, count // 50)
    main_count = count - regression_events
    timed = demo_events(main_count, rng, now)
    results = _record([_incoming(e.error, e.payload, services[e.error.service], raw_limit) for e in timed])
    template_of: dict[str, DemoError] = {}
    for event, result in zip(timed, results, strict=True):
        template_of.setdefault(result.error_id, event.error)

    manager = people[TEAM[0].email]
    services_by_id = {s.id: s for s in services.values()}
    done = _triage(sorted(template_of), services_by_id, manager, rng)

    regressed = 0
    if regression_events and done["resolved"]:
        again = done["resolved"][-regression_events:]
        late = [_incoming(template_of[eid], event_payload(template_of[eid], rng, None, now),
                          services[template_of[eid].service], raw_limit) for eid in again]
        regressed = sum(1 for r in _record(late) if r.regressed)
        main_count += len(late)

    found = patterns.analyze_patterns()
    base = current_app.config["BASE_URL"]
    demo_service_ids = [s.id for s in services.values()]
    total_errors = db.session.execute(
        select(func.count()).select_from(ErrorLog).where(ErrorLog.service_id.in_(demo_service_ids))).scalar_one()
    return {
        "sign_in": f"{base}/login",
        "password": password,
        "accounts": ", ".join(f"{p.email} ({p.role})" for p in TEAM),
        "ingest_keys": ", ".join(f"{slug}={s.ingest_key}" for slug, s in services.items()),
        "services_created": services_created,
        "accounts_created": people_created,
        "events": main_count,
        "errors": total_errors,
        "resolved": len(done["resolved"]) - regressed,
        "assigned": done["assigned"],
        "in_progress": done["in_progress"],
        "ignored": done["ignored"],
        "escalated": done["escalated"],
        "regressions": regressed,
        "patterns": found["patterns"],
    }
