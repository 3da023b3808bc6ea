"""app/platform/sql.py: the array literal the facet writer binds reads back as the strings it was given."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.extensions import db
from app.platform.sql import pg_array_text

pytestmark = pytest.mark.integration

AWKWARD = ["plain", "", "NULL", "null", "with space", " padded ", 'a "quoted" word', "back\\slash", "\\",
           '\\"', "comma,inside", "{braces}", "semi;colon", "tab\there", "line\nbreak", "ünïcødé ☃", "'single'",
           "é" * 200]


def test_array_literal_reads_back_as_the_same_strings(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    got = db.session.execute(text("SELECT CAST(:values AS varchar[])"), {"values": pg_array_text(AWKWARD)}).scalar()
    assert got == AWKWARD
    assert db.session.execute(text("SELECT CAST(:values AS varchar[])"), {"values": pg_array_text([])}).scalar() == []


def test_array_literal_quotes_every_element():
    # Unquoted, NULL would be a null and an empty element a syntax error.
    assert pg_array_text(["NULL", "", 'say "hi"', "a\\b"]) == '{"NULL","","say \\"hi\\"","a\\\\b"}'
