"""Personal API tokens in the domain: listed, revoked by their owner or an admin, last use to the minute."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import event

from app.accounts import tokens
from app.extensions import db
from app.models import ApiToken, AuditEvent
from tests.factories import ApiClient, make_developer, make_token

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def dev(app):
    return make_developer("Dora Dev", password=None)


def token_row(secret: str) -> ApiToken:
    db.session.expire_all()
    return db.session.execute(db.select(ApiToken).where(ApiToken.token_hash == tokens._token_hash(secret))
                              ).scalar_one()


class TokenWrites:
    """Counts the UPDATE statements on api_tokens the app sends, on any connection."""

    def __init__(self):
        self.count = 0

    def __call__(self, _conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            self.count += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self)


def test_a_created_token_finds_its_developer(dev):
    secret = tokens.create_api_token(dev, "laptop")
    assert secret.startswith(tokens.TOKEN_PREFIX)
    assert tokens.developer_for_token(secret).id == dev.id


def test_tokens_of_lists_a_developers_own_tokens_newest_first_revoked_included(dev):
    other = make_developer("Omar Other", password=None)
    first, second = make_token(dev), make_token(dev)
    make_token(other)
    tokens.revoke_token(token_row(first), dev)
    listed = tokens.tokens_of(dev)
    assert [t.token_hash for t in listed] == [tokens._token_hash(second), tokens._token_hash(first)]
    assert listed[1].revoked_at is not None and listed[0].revoked_at is None


def test_a_revoked_token_finds_nobody_at_once(dev):
    secret = make_token(dev)
    tokens.revoke_token(token_row(secret), dev)
    assert tokens.developer_for_token(secret) is None
    assert db.session.execute(db.select(AuditEvent.action).where(AuditEvent.action == "token.revoked")).scalar_one()


def test_revoking_twice_changes_nothing(dev):
    row = token_row(make_token(dev))
    first = tokens.revoke_token(row, dev).revoked_at
    assert tokens.revoke_token(row, dev).revoked_at == first
    assert len(db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "token.revoked")).all()) == 1


def test_someone_elses_token_is_not_found_for_a_developer_but_an_admin_revokes_it(dev):
    other = make_developer("Omar Other", password=None)
    admin = make_developer("Ada Admin", role="admin", password=None)
    lead = make_developer("Lena Lead", role="lead", password=None)
    row = token_row(make_token(other))
    for refused in (dev, lead):
        with pytest.raises(tokens.TokenError) as caught:
            tokens.token_for(row.id, refused)
        assert caught.value.status == 404
        with pytest.raises(tokens.TokenError):
            tokens.revoke_token(row, refused)
    tokens.revoke_token(tokens.token_for(row.id, admin), admin)
    assert token_row_by_id(row.id).revoked_at is not None


def token_row_by_id(token_id: int) -> ApiToken:
    db.session.expire_all()
    return db.session.get(ApiToken, token_id)


def test_revoke_all_tokens_revokes_only_the_active_ones(dev):
    kept_revoked = token_row(make_token(dev))
    tokens.revoke_token(kept_revoked, None)
    a, b = make_token(dev), make_token(dev)
    revoked = tokens.revoke_all_tokens(dev, None)
    assert {t.id for t in revoked} == {token_row(a).id, token_row(b).id}
    assert tokens.developer_for_token(a) is None and tokens.developer_for_token(b) is None


def test_last_use_is_written_once_a_minute_at_most(client, dev):
    secret = make_token(dev)
    api = ApiClient(client, secret)
    assert token_row(secret).last_used_at is None
    with TokenWrites() as writes:
        with time_machine.travel(T0, tick=False):
            assert api.get("/api/tokens/").status_code == 200
        with time_machine.travel(T0 + dt.timedelta(seconds=30), tick=False):
            assert api.get("/api/tokens/").status_code == 200
            assert api.get("/api/developers/").status_code == 200
        assert writes.count == 1
        assert token_row(secret).last_used_at == T0
        with time_machine.travel(T0 + dt.timedelta(seconds=61), tick=False):
            assert api.get("/api/tokens/").status_code == 200
        assert writes.count == 2
    assert token_row(secret).last_used_at == T0 + dt.timedelta(seconds=61)


def test_the_conditional_update_writes_nothing_when_another_request_just_did(dev):
    secret = make_token(dev)
    row = token_row(secret)
    with time_machine.travel(T0, tick=False):
        tokens._note_use(row)
    # A request that read the row before that write still holds the old value: the WHERE refuses it.
    stale = token_row(secret)
    stale.last_used_at = None
    db.session.expunge(stale)
    with TokenWrites() as writes, time_machine.travel(T0 + dt.timedelta(seconds=10), tick=False):
        tokens._note_use(stale)
    assert writes.count == 1
    assert token_row(secret).last_used_at == T0
