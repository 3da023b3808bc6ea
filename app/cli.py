"""Bootstrap commands: ``flask --app wsgi <command>``. Create commands and revoke-token take --json
and then print exactly one JSON object, for scripts."""
from __future__ import annotations

import json

import click
from flask import Flask, current_app

from app.models import PLATFORMS, ROLES
from app.accounts import developers as accounts
from app.accounts import passwords, tokens
from app.platform.refusal import Refused
from app.recording.dsn import dsn_for


def _emit(as_json: bool, data: dict, text: str) -> None:
    click.echo(json.dumps(data) if as_json else text)


def _fail(exc: Refused, as_json: bool):
    if as_json:
        click.echo(json.dumps({"error": {"message": exc.message, "field": exc.field}}))
        raise SystemExit(1)
    raise click.ClickException(exc.message)


def register_commands(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--name", default="Administrator")
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def create_admin(email, password, name, as_json):
        """Create an admin account."""
        if not password.strip():
            # An admin without a password could never sign in, and would block ensure_admin.
            _fail(accounts.AccountError("the admin needs a password", "password"), as_json)
        try:
            admin = accounts.create_developer(name, email, role="admin", password=password, max_load=0)
        except accounts.AccountError as exc:
            _fail(exc, as_json)
        _emit(as_json, {"id": admin.id, "email": admin.email, "role": "admin"},
              f"admin {admin.email} created (id {admin.id})")

    @app.cli.command("set-password")
    @click.option("--email", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                  help="asked for (twice, hidden) when not given")
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def set_password(email, password, as_json):
        """Set a developer's dashboard password (the dashboard's rules apply); every session they
        have ends."""
        developer = accounts.developer_by_email(email)
        if developer is None:
            _fail(accounts.AccountError(f"no developer with e-mail {email}", "email"), as_json)
        try:
            passwords.set_password(developer, password, None, reason="set from the command line")
        except accounts.AccountError as exc:
            _fail(exc, as_json)
        _emit(as_json, {"id": developer.id, "email": developer.email},
              f"password of {developer.email} set; their sessions have ended")

    @app.cli.command("create-service")
    @click.argument("name")
    @click.option("--platform", type=click.Choice(PLATFORMS), default="other", show_default=True)
    @click.option("--slug", default=None, help="URL-safe name (default: from NAME)")
    @click.option("--lead", "lead_email", default=None, help="e-mail of the service's lead developer")
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def create_service(name, platform, slug, lead_email, as_json):
        """Create a service and print its id, ingest key and DSN."""
        lead = accounts.developer_by_email(lead_email) if lead_email else None
        if lead_email and lead is None:
            _fail(accounts.AccountError(f"no developer with e-mail {lead_email}", "lead"), as_json)
        try:
            service = accounts.create_service(name, platform, slug=slug, lead=lead)
        except accounts.AccountError as exc:
            _fail(exc, as_json)
        data = {"id": service.id, "slug": service.slug, "platform": service.platform,
                "ingest_key": service.ingest_key, "dsn": dsn_for(service)}
        _emit(as_json, data, "\n".join(f"{k}: {v}" for k, v in data.items()))

    @app.cli.command("create-developer")
    @click.option("--name", required=True)
    @click.option("--email", required=True)
    @click.option("--phone", default=None)
    @click.option("--role", type=click.Choice(ROLES), default="developer", show_default=True)
    @click.option("--services", default="", help="comma-separated service slugs")
    @click.option("--max-load", type=int, default=10, show_default=True)
    @click.option("--on-call", is_flag=True)
    @click.option("--password", default=None, help="lets the developer sign in to the dashboard")
    @click.option("--slack-member", default=None, help="Slack member id to mention")
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def create_developer(name, email, phone, role, services, max_load, on_call, password, slack_member, as_json):
        """Create a developer (a lead, manager or admin too)."""
        try:
            known = accounts.services_by_slugs(services.split(","))
            developer = accounts.create_developer(name, email, role=role, phone=phone, services=known,
                                                  max_load=max_load, on_call=on_call, password=password,
                                                  slack_member_id=slack_member)
        except accounts.AccountError as exc:
            _fail(exc, as_json)
        _emit(as_json, {"id": developer.id, "email": developer.email, "role": developer.role,
                        "services": [s.slug for s in developer.services], "on_call": on_call},
              f"developer {developer.email} created (id {developer.id})")

    @app.cli.command("create-token")
    @click.option("--email", required=True)
    @click.option("--name", default="api", show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def create_token(email, name, as_json):
        """Create a personal API token; it is printed once and stored only as a hash."""
        developer = accounts.developer_by_email(email)
        if developer is None:
            _fail(accounts.AccountError(f"no developer with e-mail {email}", "email"), as_json)
        token = tokens.create_api_token(developer, name)
        _emit(as_json, {"token": token, "developer_id": developer.id},
              f"{token}\n(shown once: keep it; use it as 'Authorization: Bearer <token>')")

    @app.cli.command("revoke-token")
    @click.argument("token_id", type=int, required=False)
    @click.option("--all", "revoke_all", is_flag=True, help="every token of the developer given by --email")
    @click.option("--email", default=None)
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def revoke_token(token_id, revoke_all, email, as_json):
        """Revoke a personal API token by id, or all of a developer's with --all --email."""
        from app.extensions import db
        from app.models import ApiToken

        if revoke_all == (token_id is not None):
            _fail(tokens.TokenError("give a token id, or --all with --email", "token_id"), as_json)
        if revoke_all:
            developer = accounts.developer_by_email(email or "")
            if developer is None:
                _fail(accounts.AccountError(f"no developer with e-mail {email}", "email"), as_json)
            revoked = [t.id for t in tokens.revoke_all_tokens(developer, None)]
        else:
            row = db.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
            if row is None:
                _fail(tokens.TokenError(f"no token with id {token_id}", "token_id", status=404), as_json)
            developer = row.developer
            revoked = [row.id] if row.revoked_at is None else []
            tokens.revoke_token(row, None)
        _emit(as_json, {"revoked": revoked, "developer_id": developer.id},
              f"{len(revoked)} token{'s' if len(revoked) != 1 else ''} of {developer.email} revoked")

    @app.cli.command("demo")
    @click.option("--errors", "count", type=int, default=400, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def demo(count, as_json):
        """Load a realistic demo (six services, a team, errors over 7 days) through the ingest path."""
        from app.demo.loader import load_demo

        summary = load_demo(count)
        _emit(as_json, summary, "\n".join(f"{k}: {v}" for k, v in summary.items()))

    @app.cli.command("check")
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def check(as_json):
        """Each dependency's state, as GET /readyz gives it; exit status 1 when not ready (deploy scripts)."""
        from app.jobs import queue_of
        from app.platform.health import readiness

        state = readiness(queue_of(current_app))
        lines = [f"{state['status']}"] + [
            f"  {name}: {'ok' if part['ok'] else 'FAILING'}"
            + "".join(f", {k} {v}" for k, v in part.items() if k not in ("ok",)) for name, part in state["checks"].items()]
        _emit(as_json, state, "\n".join(lines))
        if not state["ready"]:
            raise SystemExit(1)

    @app.cli.command("bootstrap")
    def bootstrap():
        """Make sure an admin exists (ADMIN_EMAIL/ADMIN_PASSWORD, or a generated password printed
        once) and, on PostgreSQL, the events' partitions of today and the next days; say where
        Heartwatch listens and how to sign in."""
        from app.extensions import db
        from app.models import partitions
        from app.models.types import utcnow

        partitions.ensure_days(db.engine, utcnow().date())
        admin, generated = accounts.ensure_admin(current_app.config["ADMIN_EMAIL"],
                                                 current_app.config["ADMIN_PASSWORD"])
        url = current_app.config["BASE_URL"]
        click.echo(f"Heartwatch: {url}")
        if admin is not None and generated:
            click.echo(f"Sign in as {admin.email} with the one-time password: {generated}")
            click.echo("(Heartwatch asks for a password of your own at the first sign-in)")
            click.echo("(shown only now; create more users with `make admin` or the dashboard)")
        elif admin is not None:
            click.echo(f"Sign in as {admin.email} with ADMIN_PASSWORD.")
        else:
            click.echo("Sign in with your admin account (create another: flask --app wsgi create-admin).")
