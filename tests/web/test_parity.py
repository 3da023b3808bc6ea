"""The JSON API and the dashboard forms give the same answer for the same user.

One table of (role, action, object) cases: each is carried out through the API (with the user's token)
and through the dashboard form (signed in as the user) on fresh, identical objects; both must be
allowed or both refused (with the same status), and leave the same state behind. The expected answer
of each case is written out too, so the table is also the rules' specification.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.accounts import developers as accounts
from app.extensions import db
from app.models import ErrorEscalation, ErrorLog, ErrorNotification
from app.triage import changes as triage
from app.triage import schedules
from tests.factories import ApiClient, make_developer, make_error, make_token

PASSWORD = "correct horse battery"
ROLES = ("developer", "lead", "manager", "admin")
ASSIGNEES = ("nobody", "actor", "someone else")
ERROR_ACTIONS = ("assign to self", "assign to other", "unassign", "change status", "change severity", "resolve",
                 "resolve in next release", "snooze", "escalate", "escalate with to")
OTHER_ACTIONS = ("on-call self", "on-call other", "retry notification")


def expected_allowed(role: str, action: str, assignee: str | None) -> bool:
    """The rules of app/triage/permissions.py, written out once more as the table's expectation."""
    if role != "developer":
        return True
    if action in ("assign to other", "unassign", "escalate with to", "on-call other", "retry notification"):
        return False
    if action == "on-call self":
        return True
    return assignee in ("nobody", "actor")


CASES = [pytest.param(role, action, assignee, id=f"{role}-{action}-{assignee}".replace(" ", "_"))
         for role in ROLES for action in ERROR_ACTIONS for assignee in ASSIGNEES]
CASES += [pytest.param(role, action, None, id=f"{role}-{action}".replace(" ", "_"))
          for role in ROLES for action in OTHER_ACTIONS]


@dataclass
class World:
    """The people of a case; nobody is on call, so routing assigns nothing by itself."""

    service: object
    actor: object
    someone: object  # the assignee of errors that are "someone else's"
    other: object  # whom "assign to other" and "on-call other" are about
    manager: object  # whom "escalate with to" names

    def label(self, developer_id: int | None) -> str | None:
        names = {self.actor.id: "actor", self.someone.id: "someone", self.other.id: "other",
                 self.manager.id: "manager"}
        return None if developer_id is None else names.get(developer_id, f"developer {developer_id}")


@pytest.fixture
def world(app, service):
    def build(role: str) -> World:
        actor = make_developer(f"Actor {role}", role=role, services=[service])
        return World(service, actor, make_developer("Sam Someone", services=[service], password=None),
                     make_developer("Olga Other", services=[service], password=None),
                     make_developer("Mia Manager", role="manager", password=None))
    return build


_serial = iter(range(1, 10**6))


def fresh_error(world: World, assignee: str) -> ErrorLog:
    error = make_error(world.service, f"ParityError{next(_serial)}", "the same every time", severity="medium",
                       release="1.2.3")
    owner = {"nobody": None, "actor": world.actor, "someone else": world.someone}[assignee]
    if owner is not None:
        triage.assign_error(error, owner, None)
    return error


def fresh_notification(world: World) -> ErrorNotification:
    error = fresh_error(world, "nobody")
    row = ErrorNotification(error_id=error.id, recipient_id=world.someone.id, recipient=world.someone.email,
                            channel="email", status="failed", subject="[medium] ParityError", body="body",
                            last_error="connection refused", idempotency_key=f"{error.id}:parity")
    db.session.add(row)
    db.session.commit()
    return row


def prepare(world: World, action: str, assignee: str | None):
    """Fresh objects for one run of a case (a person switched off call); returns what the action is about."""
    if action in ERROR_ACTIONS:
        return fresh_error(world, assignee)
    if action == "retry notification":
        return fresh_notification(world)
    target = world.actor if action == "on-call self" else world.other
    accounts.set_on_call(target, False, None)
    return target


def state(world: World, action: str, subject) -> tuple:
    db.session.expire_all()
    if action in ERROR_ACTIONS:
        error = db.session.get(ErrorLog, subject.id)
        escalations = db.session.execute(db.select(ErrorEscalation).where(ErrorEscalation.error_id == error.id)
                                         .order_by(ErrorEscalation.level)).scalars()
        return (world.label(error.assigned_to_id), error.status, error.severity, error.resolved,
                error.resolution_note, error.resolved_in_release_id is not None, error.snooze_per_hour, [(e.level, world.label(e.escalated_to_id)) for e in escalations])
    if action == "retry notification":
        row = db.session.get(ErrorNotification, subject.id)
        return row.status, row.retry_count
    return (subject.id in schedules.switched_on_ids(),)


def call_api(api: ApiClient, world: World, action: str, subject) -> int:
    if action == "retry notification":
        return api.post(f"/api/notifications/{subject.id}/retry/").status_code
    if action.startswith("on-call"):
        return api.post(f"/api/developers/{subject.id}/on-call/", json={"on_call": True}).status_code
    url = f"/api/errors/{subject.id}/"
    requests = {
        "assign to self": ("post", "assign/", {"developer_id": world.actor.id}),
        "assign to other": ("post", "assign/", {"developer_id": world.other.id}),
        "unassign": ("patch", "", {"assigned_to": None}),
        "change status": ("patch", "", {"status": "in_progress"}),
        "change severity": ("patch", "", {"severity": "critical"}),
        "resolve": ("post", "resolve/", {"note": "fixed in 1.2.4"}),
        "resolve in next release": ("post", "resolve/", {"note": "fixed in 1.2.4", "in_next_release": True}),
        "snooze": ("post", "snooze/", {"minutes": 60, "per_hour": 20}),
        "escalate": ("post", "escalate/", {"reason": "customers are blocked"}),
        "escalate with to": ("post", "escalate/", {"reason": "customers are blocked", "to": world.manager.id}),
    }
    method, tail, body = requests[action]
    return getattr(api, method)(url + tail, json=body).status_code


def submit_form(browser, world: World, action: str, subject) -> int:
    if action == "retry notification":
        return browser.post(f"/notifications/{subject.id}/retry").status_code
    if action.startswith("on-call"):
        return browser.post(f"/developers/{subject.id}/on-call", data={"on_call": "1"}).status_code
    forms = {
        "assign to self": ("assign", {"developer_id": "me"}),
        "assign to other": ("assign", {"developer_id": str(world.other.id)}),
        "unassign": ("assign", {"developer_id": "none"}),
        "change status": ("status", {"status": "in_progress"}),
        "change severity": ("severity", {"severity": "critical"}),
        "resolve": ("resolve", {"note": "fixed in 1.2.4"}),
        "resolve in next release": ("resolve", {"note": "fixed in 1.2.4", "in_next_release": "1"}),
        "snooze": ("snooze", {"minutes": "60", "per_hour": "20"}),
        "escalate": ("escalate", {"reason": "customers are blocked"}),
        "escalate with to": ("escalate", {"reason": "customers are blocked", "to": str(world.manager.id)}),
    }
    path, data = forms[action]
    return browser.post(f"/errors/{subject.id}/{path}", data=data).status_code


def outcome(status: int) -> str:
    # A form that worked redirects back (303); the API answers 200 or 201. A refusal is a 4xx either way.
    return "allowed" if status in (200, 201, 303) else f"refused {status}"


@pytest.mark.parametrize(("role", "action", "assignee"), CASES)
def test_api_and_dashboard_agree(app, world, role, action, assignee):
    people = world(role)
    api = ApiClient(app.test_client(), make_token(people.actor))
    browser = app.test_client()
    assert browser.post("/login", data={"email": people.actor.email, "password": PASSWORD}).status_code == 303
    # Both sets of objects exist before either runs, so neither run sees the other's effects (an
    # on-call switch is about a person, who is switched off again before each run).
    api_subject, form_subject = prepare(people, action, assignee), prepare(people, action, assignee)
    api_status = call_api(api, people, action, api_subject)
    api_state = state(people, action, api_subject)
    if action.startswith("on-call"):
        prepare(people, action, assignee)
    form_status = submit_form(browser, people, action, form_subject)
    form_state = state(people, action, form_subject)

    assert outcome(api_status) == outcome(form_status), (api_status, form_status)
    assert api_state == form_state
    expected = "allowed" if expected_allowed(role, action, assignee) else "refused 403"
    assert outcome(api_status) == expected
