"""Personal API tokens: created (shown once), looked up on every API request, listed, revoked.

Only a token's SHA-256 is stored. A revoked token is refused from the next request on, since every
request looks its hash up again. When a token was last used is written at most once a minute per
token, by a conditional UPDATE, so busy clients cost no write per request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import ApiToken, Developer
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import Refused, column_text
from app.triage import permissions

TOKEN_PREFIX = "hw_"
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class TokenError(Refused):
    """A token request that cannot be carried out; ``status`` is the HTTP status to answer with."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(developer: Developer, name: str = "api") -> str:
    """A new personal token; only its SHA-256 is stored, so this is the one time it is seen.

    A token is 32 random bytes, so a fast hash is enough (no dictionary to guess from),
    and lookups stay one indexed query.
    """
    name = column_text(name, ApiToken.name, "name", refusal=TokenError) or "api"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(developer_id=developer.id, name=name, token_hash=_token_hash(token),
                            prefix=token[:10]))
    record_audit(developer, "token.created", "developer", developer.id, details={"name": name})
    db.session.commit()
    return token


def developer_for_token(token: str | None) -> Developer | None:
    """The active developer owning a valid, unrevoked token; notes that the token was used."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or not row.developer.active:
        return None
    _note_use(row)
    return row.developer


def _note_use(row: ApiToken) -> None:
    now = utcnow()
    cutoff = now - LAST_USED_RESOLUTION
    # The row was just read: when it says "used within the minute" there is nothing to write. Otherwise
    # the WHERE decides, so of concurrent requests only one writes, and no value is read back first.
    if row.last_used_at is not None and row.last_used_at >= cutoff:
        return
    # In a short transaction of its own: the request's session keeps its objects (no commit expires
    # them) and a request that fails later still counts as a use.
    with db.engine.begin() as connection:
        connection.execute(
            update(ApiToken).where(ApiToken.id == row.id,
                                   or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < cutoff))
            .values(last_used_at=now))


def tokens_of(developer: Developer) -> list[ApiToken]:
    """A developer's tokens, revoked ones included, newest first."""
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.developer_id == developer.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).scalars())


def token_for(token_id: int, actor: Developer) -> ApiToken:
    """The token with this id, when ``actor`` may manage it; else a 404 (a developer does not
    learn which ids are someone else's)."""
    row = db.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None or not permissions.can_manage_token(actor, row):
        raise TokenError(f"no token with id {token_id}", status=404)
    return row


def revoke_token(token: ApiToken, actor: Developer | None) -> ApiToken:
    """Revoke a token (its owner or an admin; ``actor`` None is the CLI). Revoking twice changes nothing."""
    _revoke(token, actor)
    db.session.commit()
    return token


def _revoke(token: ApiToken, actor: Developer | None) -> None:
    if actor is not None and not permissions.can_manage_token(actor, token):
        raise TokenError(f"no token with id {token.id}", status=404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(actor, "token.revoked", "developer", token.developer_id,
                     details={"token_id": token.id, "name": token.name})


def revoke_all_tokens(developer: Developer, actor: Developer | None) -> list[ApiToken]:
    """Revoke every token of a developer that is not revoked yet; returns those."""
    revoked = [t for t in tokens_of(developer) if t.revoked_at is None]
    for token in revoked:
        _revoke(token, actor)
    db.session.commit()
    return revoked
