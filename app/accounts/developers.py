"""Developers, their accounts and on-call status (API tokens: app/accounts/tokens.py)."""
from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.ingest.incoming import InvalidPayload
from app.ingest.settings import IngestSettings, parse_settings, stored_settings
from app.models import ROLES, Developer, Service
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.recording.keys import forget_cached_keys, generate_ingest_key
from app.platform.refusal import Refused, column_text
from app.notify.channels.slack import slack_member_id as slack_member
from app.triage import oncall, permissions

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


class AccountError(Refused):
    """A request about accounts that cannot be carried out; ``field`` names the culprit."""


def hash_password(password: str) -> str:
    """A salted hash of the password: scrypt unless PASSWORD_HASH_METHOD says otherwise (the test
    suite picks a cheap one, since scrypt costs ~75 ms by design)."""
    from flask import current_app

    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def verify_password(developer: Developer, password: str) -> bool:
    return bool(developer.password_hash) and check_password_hash(developer.password_hash, password)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:100] or "service"


def create_service(name: str, platform: str = "other", *, slug: str | None = None,
                   lead: Developer | None = None, actor: Developer | None = None) -> Service:
    """A new service with a fresh ingest key."""
    name = column_text(name, Service.name, "name", refusal=AccountError, required="a service needs a name")
    slug = column_text(slug, Service.slug, "slug", refusal=AccountError) or slugify(name)
    if db.session.execute(select(Service.id).where(Service.slug == slug)).first():
        raise AccountError(f"a service with slug {slug!r} exists already", "slug")
    service = Service(name=name, slug=slug, platform=platform, ingest_key=generate_ingest_key(),
                      lead_id=lead.id if lead else None)
    db.session.add(service)
    db.session.flush()
    record_audit(actor, "service.created", "service", service.id, details={"name": name, "platform": platform})
    db.session.commit()
    return service


def rotate_ingest_key(service: Service, grace_hours: int, actor: Developer | None = None) -> Service:
    """A new ingest key; the old one keeps working for ``grace_hours`` so deployed clients can move."""
    import datetime as dt

    service.previous_ingest_key = service.ingest_key
    service.previous_key_expires_at = utcnow() + dt.timedelta(hours=grace_hours)
    service.ingest_key = generate_ingest_key()
    record_audit(actor, "service.key_rotated", "service", service.id)
    db.session.commit()
    forget_cached_keys()
    return service


def update_ingest_settings(service: Service, changes: dict, actor: Developer | None = None) -> IngestSettings:
    """Change a service's data scrubbing and in-app rules (admins only; absent fields are kept). Every field
    is checked (app/ingest/settings.py) before anything changes; ingest uses them from the next key lookup
    (at once in this process, within INGEST_KEY_CACHE_SECONDS in the others)."""
    if actor is not None and not permissions.can_manage_settings(actor):
        raise AccountError("only admins change a service's ingest settings", "ingest_settings", 403)
    try:
        settings = parse_settings(changes, stored_settings(service.ingest_settings))
    except InvalidPayload as exc:
        raise AccountError(exc.message, exc.field) from None
    service.ingest_settings = settings.as_json()
    record_audit(actor, "service.ingest_settings_changed", "service", service.id, details=settings.as_json())
    db.session.commit()
    forget_cached_keys()
    return settings


def services_by_slugs(slugs: list[str]) -> list[Service]:
    wanted = [s.strip() for s in slugs if s.strip()]
    if not wanted:
        return []
    found = db.session.execute(select(Service).where(Service.slug.in_(wanted))).scalars().all()
    missing = set(wanted) - {s.slug for s in found}
    if missing:
        raise AccountError(f"unknown service(s): {', '.join(sorted(missing))}", "services")
    return list(found)


def create_developer(name: str, email: str, *, role: str = "developer", phone: str | None = None,
                     services: list[Service] | None = None, max_load: int = 10, on_call: bool = False,
                     password: str | None = None, slack_member_id: str | None = None,
                     actor: Developer | None = None) -> Developer:
    """A developer (and dashboard account, when a password is given)."""
    email = (column_text(email, Developer.email, "email", refusal=AccountError,
                         required="a valid e-mail address is required")).lower()
    if not EMAIL.fullmatch(email):
        raise AccountError("a valid e-mail address is required", "email")
    name = column_text(name, Developer.name, "name", refusal=AccountError) or email
    phone = column_text(phone, Developer.phone, "phone", refusal=AccountError)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}", "role")
    if max_load < 0:
        raise AccountError("max load cannot be negative", "max_load")
    try:
        slack_member_id = slack_member(slack_member_id)
    except ValueError as exc:
        raise AccountError(str(exc), "slack_member_id") from None
    if db.session.execute(select(Developer.id).where(func.lower(Developer.email) == email)).first():
        raise AccountError(f"a developer with e-mail {email} exists already", "email")
    developer = Developer(name=name, email=email, role=role, phone=phone,
                          max_load=max_load, slack_member_id=slack_member_id,
                          password_hash=hash_password(password) if password else None)
    developer.services = list(services or [])
    db.session.add(developer)
    db.session.flush()
    if on_call:
        oncall.switch(developer, True)
    record_audit(actor, "developer.created", "developer", developer.id, details={"role": role})
    db.session.commit()
    return developer


def developer_by_email(email: str) -> Developer | None:
    return db.session.execute(
        select(Developer).where(func.lower(Developer.email) == (email or "").strip().lower())
    ).scalar_one_or_none()


def set_on_call(developer: Developer, on_call: bool, actor: Developer | None) -> Developer:
    """Switch a developer's on-call switch (the default schedule's switch layer, app/triage/oncall.py):
    their own, or anyone's for leads, managers and admins."""
    if actor is not None and not permissions.can_change_on_call(actor, developer):
        raise AccountError("only leads, managers and admins change another developer's on-call status",
                           status=403)
    if oncall.switch(developer, on_call):
        record_audit(actor, "developer.on_call" if on_call else "developer.off_call", "developer",
                     developer.id, details={"on_call": on_call})
    db.session.commit()
    return developer


def ensure_admin(email: str | None, password: str | None) -> tuple[Developer | None, str | None]:
    """The first admin, created when no admin exists: from the settings, or with a generated
    one-time password that is returned so it can be printed once (and must be changed at the
    first sign-in)."""
    if db.session.execute(select(Developer.id).where(Developer.role == "admin")).first():
        return None, None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    admin = create_developer("Administrator", email or "admin@localhost", role="admin", password=password,
                             max_load=0)
    if generated:
        admin.must_change_password = True
        db.session.commit()
    return admin, generated
