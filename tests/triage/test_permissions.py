"""app/triage/permissions.py: the one home of the role rules, importing none of the services that ask it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.triage import permissions
from tests.factories import make_developer, make_error

ROOT = Path(__file__).resolve().parents[2]
# What the rules may read: the models, the session (for the services a lead knows), SQLAlchemy itself.
ALLOWED_IMPORTS = {"__future__", "typing", "app.models", "app.extensions", "sqlalchemy"}


def test_permissions_imports_no_service_even_inside_functions():
    tree = ast.parse((ROOT / "app" / "triage" / "permissions.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


def test_the_moved_rules_are_no_longer_defined_in_the_services():
    for path, name in (("app/triage/changes.py", "may_work_on"), ("app/accounts/developers.py", "can_change_on_call"),
                       ("app/triage/oncall.py", "_may_plan")):
        tree = ast.parse((ROOT / path).read_text())
        assert name not in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}, path


@pytest.fixture
def people(app, service):
    return {role: make_developer(f"A {role}", role=role, services=[service], password=None)
            for role in ("developer", "lead", "manager", "admin")}


def test_only_supervisors_direct_an_escalation(people, service):
    error = make_error(service, "DirectedError", "m")
    target = people["manager"]
    assert permissions.can_escalate_to(people["developer"], error, None)
    assert not permissions.can_escalate_to(people["developer"], error, target)
    for role in ("lead", "manager", "admin"):
        assert permissions.can_escalate_to(people[role], error, target)


def test_a_developer_hands_over_only_their_own_on_call(people):
    dev, other = people["developer"], make_developer("Omar Other", password=None)
    assert permissions.can_override_on_call(dev, dev, None)
    assert permissions.can_override_on_call(dev, other, dev)  # their own hand-over to someone
    assert not permissions.can_override_on_call(dev, other, None)
    assert not permissions.can_override_on_call(dev, dev, other)  # taking over someone else's shift
    assert permissions.can_override_on_call(people["lead"], other, dev)


def test_editable_services(people, service):
    assert permissions.editable_service_ids(people["admin"]) is None
    assert permissions.editable_service_ids(people["lead"]) == {service.id}
    assert permissions.editable_service_ids(people["developer"]) == set()
