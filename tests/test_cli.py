"""The bootstrap commands: create-admin, create-service, create-developer, create-token, revoke-token."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.extensions import db
from app.models import ApiToken, AuditEvent, Developer, Service
from app.triage import schedules
from app.accounts import developers as accounts
from app.accounts import tokens
from tests.factories import ApiClient, ingest, make_developer, make_service

ROOT = Path(__file__).resolve().parents[1]


def run(runner, *args):
    return runner.invoke(args=list(args))


def one_json_object(result) -> dict:
    """The command printed exactly one JSON object on stdout, and nothing else."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def developers() -> list[Developer]:
    return db.session.execute(db.select(Developer).order_by(Developer.id)).scalars().all()


# --- create-admin ------------------------------------------------------------------------------

def test_create_admin(runner):
    result = run(runner, "create-admin", "--email", "Root@Example.com", "--password", "s3cret-pass",
                 "--name", "Rita Root")
    assert result.exit_code == 0, result.output
    admin = accounts.developer_by_email("root@example.com")
    assert (admin.name, admin.role, admin.email) == ("Rita Root", "admin", "root@example.com")
    assert accounts.verify_password(admin, "s3cret-pass")
    assert "s3cret-pass" not in admin.password_hash
    assert str(admin.id) in result.stdout


def test_create_admin_json(runner):
    data = one_json_object(run(runner, "create-admin", "--email", "a@example.com", "--password", "pw", "--json"))
    assert data == {"id": data["id"], "email": "a@example.com", "role": "admin"}
    assert db.session.get(Developer, data["id"]).role == "admin"


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "not-an-email", "--password", "pw"], "e-mail"),
    (["--email", "a@example.com", "--password", ""], "password"),
    (["--email", "a@example.com", "--password", "   "], "password"),
])
def test_create_admin_bad_input(runner, args, message):
    result = run(runner, "create-admin", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert developers() == []


def test_create_admin_twice_with_one_email_fails(runner):
    run(runner, "create-admin", "--email", "a@example.com", "--password", "pw")
    result = run(runner, "create-admin", "--email", "A@example.com", "--password", "pw2", "--json")
    assert result.exit_code == 1
    assert one_json_object(result)["error"]["field"] == "email"
    assert len(developers()) == 1


def test_create_admin_requires_email_and_password(runner):
    assert run(runner, "create-admin", "--email", "a@example.com").exit_code == 2
    assert run(runner, "create-admin", "--password", "pw").exit_code == 2


# --- create-service ----------------------------------------------------------------------------

def test_create_service_prints_its_id_and_ingest_key(runner, client):
    result = run(runner, "create-service", "Geo API", "--platform", "java")
    assert result.exit_code == 0, result.output
    service = db.session.execute(db.select(Service)).scalar_one()
    assert (service.name, service.slug, service.platform) == ("Geo API", "geo-api", "java")
    assert f"id: {service.id}" in result.stdout
    assert f"ingest_key: {service.ingest_key}" in result.stdout
    # The printed key is the one that works.
    assert ingest(client, service, {"error_type": "X", "message": "y"}).status_code == 201


def test_create_service_json(runner, client):
    data = one_json_object(run(runner, "create-service", "Shop Web", "--platform", "javascript", "--json"))
    service = db.session.get(Service, data["id"])
    assert data["ingest_key"] == service.ingest_key and len(data["ingest_key"]) == 32
    assert data["slug"] == "shop-web" and data["platform"] == "javascript"
    assert data["dsn"].endswith(f"{data['ingest_key']}@127.0.0.1:5000/{data['id']}")
    response = client.post(f"/api/errors/?key={data['ingest_key']}", json={"error_type": "X", "message": "y"})
    assert response.status_code == 201


def test_create_service_with_a_lead(runner):
    lead = make_developer("Lena", email="lena@example.test", role="lead", password=None)
    data = one_json_object(run(runner, "create-service", "Billing", "--lead", "lena@example.test", "--json"))
    assert db.session.get(Service, data["id"]).lead_id == lead.id


@pytest.mark.parametrize(("args", "exit_code"), [
    (["Billing", "--platform", "cobol"], 2),
    (["   "], 1),
    (["Billing", "--lead", "nobody@example.test"], 1),
    ([], 2),
])
def test_create_service_bad_input(runner, args, exit_code):
    result = run(runner, "create-service", *args)
    assert result.exit_code == exit_code
    assert result.output.strip()
    assert db.session.execute(db.select(Service)).first() is None


def test_create_service_twice_with_one_name_fails(runner):
    make_service("Billing")
    result = run(runner, "create-service", "Billing", "--json")
    assert result.exit_code == 1
    error = one_json_object(result)["error"]
    assert error["field"] == "slug" and "billing" in error["message"]


# --- create-developer --------------------------------------------------------------------------

def test_create_developer_with_every_option(runner):
    make_service("AI API")
    make_service("Web")
    result = run(runner, "create-developer", "--name", "Dora Dev", "--email", "dora@example.com",
                 "--phone", "+4915100000001", "--role", "lead", "--services", "ai-api,web", "--max-load", "4",
                 "--on-call", "--json")
    assert result.exit_code == 0, result.output
    data = one_json_object(result)
    dora = db.session.get(Developer, data["id"])
    assert (dora.name, dora.email, dora.phone, dora.role, dora.max_load, dora.id in schedules.switched_on_ids()) == (
        "Dora Dev", "dora@example.com", "+4915100000001", "lead", 4, True)
    assert sorted(s.slug for s in dora.services) == ["ai-api", "web"]
    assert set(data["services"]) == {"ai-api", "web"} and data["on_call"] is True
    assert dora.password_hash is None  # no dashboard account unless a password is given


def test_create_developer_defaults(runner):
    result = run(runner, "create-developer", "--name", "Omar", "--email", "omar@example.com")
    assert result.exit_code == 0
    omar = accounts.developer_by_email("omar@example.com")
    assert (omar.role, omar.max_load, omar.id in schedules.switched_on_ids(), omar.services) == (
        "developer", 10, False, [])
    assert f"id {omar.id}" in result.stdout
    assert db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "developer.created")).scalar_one()


@pytest.mark.parametrize(("args", "exit_code"), [
    (["--role", "boss"], 2),
    (["--max-load", "many"], 2),
    (["--max-load", "-1"], 1),
    (["--services", "ai-api,no-such"], 1),
    (["--email", "nope"], 1),
])
def test_create_developer_bad_input(runner, args, exit_code):
    make_service("AI API")
    base = {"--name": "Dora", "--email": "dora@example.com"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = run(runner, "create-developer", *[part for pair in base.items() for part in pair])
    assert result.exit_code == exit_code, result.output
    assert result.output.strip()
    assert developers() == []


def test_create_developer_bad_input_as_json(runner):
    result = run(runner, "create-developer", "--name", "Dora", "--email", "dora@example.com",
                 "--services", "ghost", "--json")
    assert result.exit_code == 1
    assert one_json_object(result)["error"] == {"message": "unknown service(s): ghost", "field": "services"}


def test_create_developer_twice_with_one_email_fails(runner):
    run(runner, "create-developer", "--name", "Dora", "--email", "dora@example.com")
    result = run(runner, "create-developer", "--name", "Dora 2", "--email", "DORA@example.com")
    assert result.exit_code == 1 and "exists already" in result.output
    assert len(developers()) == 1


# --- create-token ------------------------------------------------------------------------------

def test_create_token_prints_it_once_and_stores_only_its_hash(runner, client):
    dora = make_developer("Dora", email="dora@example.com", password=None)
    result = run(runner, "create-token", "--email", "dora@example.com")
    assert result.exit_code == 0
    token = result.stdout.split()[0]
    row = db.session.execute(db.select(ApiToken)).scalar_one()
    assert row.developer_id == dora.id
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.prefix, row.name)
    assert ApiClient(client, token).get("/api/errors/").status_code == 200


def test_create_token_json(runner, client):
    make_developer("Dora", email="dora@example.com", password=None)
    data = one_json_object(run(runner, "create-token", "--email", "dora@example.com", "--json"))
    assert ApiClient(client, data["token"]).get("/api/developers/").status_code == 200
    # A second token is a new one; both work.
    again = one_json_object(run(runner, "create-token", "--email", "dora@example.com", "--json"))
    assert again["token"] != data["token"]
    assert ApiClient(client, data["token"]).get("/api/developers/").status_code == 200


def test_create_token_for_an_unknown_developer_fails(runner):
    result = run(runner, "create-token", "--email", "ghost@example.com")
    assert result.exit_code == 1 and "ghost@example.com" in result.output
    result = run(runner, "create-token", "--email", "ghost@example.com", "--json")
    assert result.exit_code == 1 and one_json_object(result)["error"]["field"] == "email"
    assert db.session.execute(db.select(ApiToken)).first() is None


# --- revoke-token ------------------------------------------------------------------------------

def _token_id(token: str) -> int:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return db.session.execute(db.select(ApiToken.id).where(ApiToken.token_hash == digest)).scalar_one()


def test_revoke_token_by_id_refuses_it_at_once(runner, client):
    dora = make_developer("Dora", email="dora@example.com", password=None)
    token, kept = tokens.create_api_token(dora), tokens.create_api_token(dora)
    result = run(runner, "revoke-token", str(_token_id(token)))
    assert result.exit_code == 0, result.output
    assert "1 token of dora@example.com revoked" in result.stdout
    assert ApiClient(client, token).get("/api/errors/").status_code == 401
    assert ApiClient(client, kept).get("/api/errors/").status_code == 200


def test_revoke_token_json(runner, client):
    dora = make_developer("Dora", email="dora@example.com", password=None)
    token_id = _token_id(tokens.create_api_token(dora))
    data = one_json_object(run(runner, "revoke-token", str(token_id), "--json"))
    assert data == {"revoked": [token_id], "developer_id": dora.id}
    # Revoking it again is no error and revokes nothing more.
    assert one_json_object(run(runner, "revoke-token", str(token_id), "--json")) == {
        "revoked": [], "developer_id": dora.id}


def test_revoke_all_tokens_of_an_email(runner, client):
    dora = make_developer("Dora", email="dora@example.com", password=None)
    omar = make_developer("Omar", email="omar@example.com", password=None)
    doras = [tokens.create_api_token(dora) for _ in range(2)]
    omars = tokens.create_api_token(omar)
    data = one_json_object(run(runner, "revoke-token", "--all", "--email", "Dora@example.com", "--json"))
    assert sorted(data["revoked"]) == sorted(_token_id(t) for t in doras) and data["developer_id"] == dora.id
    assert all(ApiClient(client, t).get("/api/errors/").status_code == 401 for t in doras)
    assert ApiClient(client, omars).get("/api/errors/").status_code == 200


@pytest.mark.parametrize(("args", "field"), [
    (["999999"], "token_id"), ([], "token_id"), (["--all"], "email"), (["--all", "--email", "ghost@example.com"], "email"),
    (["1", "--all", "--email", "dora@example.com"], "token_id"),
])
def test_revoke_token_refuses_unclear_or_unknown_targets(runner, args, field):
    make_developer("Dora", email="dora@example.com", password=None)
    result = run(runner, "revoke-token", *args, "--json")
    assert result.exit_code == 1 and one_json_object(result)["error"]["field"] == field
    plain = run(runner, "revoke-token", *args)
    assert plain.exit_code == 1 and "Error" in plain.output


# --- the real command line ---------------------------------------------------------------------

def test_flask_command_line_end_to_end(tmp_path):
    """``flask --app wsgi`` on a fresh database file: migrate, then the create commands with --json."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "HEARTWATCH_INSTANCE_PATH": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]

    def flask_json(*args):
        done = subprocess.run([*flask, *args, "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    upgrade = subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr
    service = flask_json("create-service", "Geo API", "--platform", "java")
    assert set(service) >= {"id", "ingest_key"}
    developer = flask_json("create-developer", "--name", "Dora", "--email", "dora@example.com",
                           "--services", "geo-api", "--on-call")
    token = flask_json("create-token", "--email", "dora@example.com")
    assert developer["services"] == ["geo-api"] and token["token"].startswith("hw_")
