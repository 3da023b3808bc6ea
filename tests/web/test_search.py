"""The search language (app/reports/search.py): every kind of term through the API's ``q`` and the
dashboard's search box, which must list the same errors; a malformed search is a 400 naming the term."""
from __future__ import annotations

import html
import os
import re
from urllib.parse import quote

import pytest

from app.extensions import db
from app.models import ErrorLog
from app.triage import changes as triage
from tests.factories import ingest, make_service

PASSWORD = "correct horse battery"


def record(client, service, **fields) -> str:
    response = ingest(client, service, fields)
    assert response.status_code == 201, response.json
    return response.json["error_id"]


@pytest.fixture
def catalogue(app, client, service, lead):
    mobile = make_service("Mobile", platform="dart", slug="mobile")
    ids = {
        # Seen in production first, then in staging: its own environment is its last event's.
        "A": record(client, service, error_type="ConnectionError", message="connection reset by peer",
                    severity="high", environment="production", release="1.0", server_name="web-1",
                    user={"id": 7, "email": "ada@example.test"}, tags={"browser": "Firefox"}),
        "B": record(client, service, error_type="KeyError", message="'embedding'", severity="critical",
                    environment="production", release="2.0", user={"email": "bob@example.test"},
                    tags={"browser": "Chrome"}),
        "C": record(client, service, error_type="TimeoutError", message="upstream slow", severity="medium",
                    environment="staging", tags={"region": "eu-west-1"}),
        "D": record(client, mobile, error_type="ValueError", message="bad value", severity="low"),
    }
    assert record(client, service, error_type="ConnectionError", message="connection reset by peer",
                  severity="high", environment="staging") == ids["A"]
    errors = {name: db.session.get(ErrorLog, error_id) for name, error_id in ids.items()}
    for name in "ABC":  # routing gave them to the on-call lead; only D stays assigned
        triage.assign_error(errors[name], None, lead)
    triage.assign_error(errors["D"], lead, lead)
    triage.resolve_error(errors["B"], lead, "fixed")
    triage.set_status(errors["C"], "ignored", lead)
    return ids


def api_names(api, ids, query: str, extra: str = "") -> set[str]:
    response = api.get(f"/api/errors/?q={quote(query)}&per_page=100{extra}")
    assert response.status_code == 200, response.json
    found = {item["error_id"] for item in response.json["items"]}
    return {name for name, error_id in ids.items() if error_id in found}


def dashboard_names(browser, ids, query: str, extra: str = "") -> set[str]:
    response = browser.get(f"/errors?q={quote(query)}{extra}")
    assert response.status_code == 200, response.get_data(as_text=True)
    found = set(re.findall(r'class="error-title" href="/errors/([0-9a-f-]{36})"', response.get_data(as_text=True)))
    return {name for name, error_id in ids.items() if error_id in found}


@pytest.fixture
def browser(app, lead):
    browser = app.test_client()
    assert browser.post("/login", data={"email": lead.email, "password": PASSWORD}).status_code == 303
    return browser


SEARCHES = [
    ("", "ABCD"),
    ("is:unresolved", "AD"), ("is:resolved", "B"), ("is:ignored", "C"), ("is:snoozed", ""),
    ("is:assigned", "D"), ("is:unassigned", "ABC"), ("-is:resolved", "ACD"), ("-assigned:me", "ABC"),
    ("severity:high,critical", "AB"), ("severity:>=high", "AB"), ("level:<medium", "D"), ("severity:medium", "C"),
    ("severity:>critical", ""), ("service:mobile", "D"), ("service:django-ai,mobile", "ABCD"),
    ("env:production", "AB"), ("environment:staging", "AC"), ("-env:staging", "BD"),
    ("release:1.0", "A"), ("server:web-1", "A"),
    ("user:7", "A"), ("user:bob@example.test", "B"), ("user.email:ada@example.test", "A"), ("user:8", ""),
    ("assigned:me", "D"), ("assigned:none", "ABC"),
    ("browser:Firefox", "A"), ("!browser:Firefox", "BCD"), ("-browser:Firefox", "BCD"), ("region:eu-west-1", "C"),
    ('message:"connection reset"', "A"), ('"upstream slow"', "C"), ("timeout", "C"), ("EMBEDDING", "B"),
    ("type:KeyError", "B"), ("-timeout", "ABD"), ("connection peer", "A"), ("connection slow", ""),
    ("env:production severity:critical", "B"), ("is:unresolved env:staging", "A"),
    ("is:unresolved is:unassigned browser:Firefox connection", "A"),
]


@pytest.mark.parametrize("query, expected", SEARCHES)
def test_the_api_and_the_dashboard_find_the_same_errors(api, browser, catalogue, query, expected):
    assert api_names(api, catalogue, query) == set(expected)
    # The dashboard lists open errors unless asked: status=all, as the API does with no status.
    extra = "" if query.split(":")[0] == "is" and query.split(":")[1] not in ("assigned", "unassigned") \
        else "&status=all"
    assert dashboard_names(browser, catalogue, query, extra) == set(expected)


def test_assigned_takes_a_developer_s_e_mail(api, browser, catalogue, lead):
    query = f"assigned:{lead.email}"
    assert api_names(api, catalogue, query) == dashboard_names(browser, catalogue, query, "&status=all") == {"D"}


def test_an_is_status_term_replaces_the_dashboard_s_default_open_filter(api, browser, catalogue):
    assert dashboard_names(browser, catalogue, "") == {"A", "D"}  # the default: open errors
    assert dashboard_names(browser, catalogue, "is:resolved") == {"B"}
    body = browser.get("/errors?q=is%3Aresolved").get_data(as_text=True)
    assert ">as searched</option>" in body
    # A status chosen in the filter still holds beside the search.
    assert dashboard_names(browser, catalogue, "is:resolved", "&status=open") == set()
    assert api_names(api, catalogue, "is:resolved", "&status=open") == set()
    # is:assigned is no status: the default still applies.
    assert dashboard_names(browser, catalogue, "is:unassigned") == {"A"}


def test_the_environment_filter_means_any_event_s_environment_as_env_does(api, browser, catalogue):
    assert api_names(api, catalogue, "", "&environment=production") == {"A", "B"}
    assert dashboard_names(browser, catalogue, "", "&status=all&environment=production") == {"A", "B"}


MALFORMED = [
    ("browser:", "'browser:' has no value"),
    ('message:"connection', "unclosed quote in 'message:\"connection'"),
    ('"connection reset', "unclosed quote"),
    ("severity:urgent", "'severity:urgent': severity must be among"),
    ("severity:>=", "'severity:>=': severity must be among"),
    ("is:pending", "'is:pending': is: takes"),
    ("service:billing", "'service:billing': unknown service 'billing'"),
    ("assigned:nobody@example.test", "'assigned:nobody@example.test': no developer with the e-mail"),
    ("x" * 501, "the search is 501 characters long; at most 500"),
    (" ".join(f"w{n}" for n in range(21)), "more than 20 terms (from 'w20' on)"),
    ("tag:" + "v" * 201, "is 201 characters long; at most 200 per value"),
    ("k" * 65 + ":v", "at most 64"),
]


@pytest.mark.parametrize("query, message", MALFORMED)
def test_a_malformed_search_is_a_400_naming_the_term(api, browser, catalogue, query, message):
    response = api.get(f"/api/errors/?q={quote(query)}")
    assert response.status_code == 400
    assert response.json["error"]["field"] == "q"
    assert message in response.json["error"]["message"]
    page = browser.get(f"/errors?q={quote(query)}")
    assert page.status_code == 400
    assert message in html.unescape(page.get_data(as_text=True))
    fragment = browser.get(f"/errors?q={quote(query)}", headers={"HX-Request": "true", "HX-Target": "error-table"})
    assert fragment.status_code == 400 and message in html.unescape(fragment.get_data(as_text=True))


def test_text_with_a_colon_that_is_no_key_is_free_text(api, client, service, catalogue):
    record(client, service, error_type="HTTPError", message="GET https://api.example.test/v1 failed: 502")
    assert api.get(f"/api/errors/?q={quote('failed: 502')}").status_code == 400  # "failed:" has no value
    found = api.get(f"/api/errors/?q={quote(chr(34) + 'failed: 502' + chr(34))}").json["items"]
    assert [item["error_type"] for item in found] == ["HTTPError"]


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL's planner")
def test_a_facet_term_is_a_semi_join_on_the_key_value_index(app, lead, catalogue):
    from sqlalchemy import func, select, text

    from app.reports import errors as queries

    filters = queries.parse_error_filters({"q": "env:production -browser:Firefox"}, current_developer_id=lead.id)
    query = queries._filtered(select(func.count()).select_from(ErrorLog), filters)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a four-row table would be read whole
    plan = "\n".join(db.session.execute(text(f"EXPLAIN {compiled}")).scalars())
    db.session.rollback()
    # Both terms read the index by (key, value), as joins (EXISTS and NOT EXISTS), not a subquery per error.
    assert plan.count("Index Only Scan using ix_error_facets_key_value_error") == 2, plan
    assert "Anti Join" in plan and "SubPlan" not in plan, plan
