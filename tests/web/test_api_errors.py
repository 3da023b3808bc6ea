"""The read side of the JSON API: the error list with its filters, sorts and pages; one error; its
occurrences; the stats and the unresolved critical errors."""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import ErrorLog
from app.triage import changes as triage
from tests.factories import make_developer, make_error, make_service

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ago(**delta) -> str:
    return iso(NOW - dt.timedelta(**delta))


@pytest.fixture
def lead(app, service):
    # Not on call, so routing assigns nothing by itself; no password: hashing one (scrypt) would
    # dominate these tests' time.
    return make_developer("Lena Lead", role="lead", services=[service], password=None)


@pytest.fixture
def catalogue(app, service, lead):
    """Five errors in two services, spread over time, severities, statuses, environments, assignees."""
    web = make_service("Laravel web", platform="php")
    dev = make_developer("Dora Dev", services=[service], password=None)
    errors = {
        "timeout": make_error(service, "ReadTimeout", "upstream 10.0.0.5 timed out", severity="high",
                              environment="production", timestamp=ago(hours=1)),
        "oom": make_error(service, "MemoryError", "worker out of memory", environment="production",
                          timestamp=ago(hours=30)),
        "typo": make_error(web, "ErrorException", "Undefined variable $total", severity="medium",
                           environment="staging", timestamp=ago(days=3)),
        "percent": make_error(web, "ValueError", "discount of 100% rejected", severity="low",
                              environment="production", timestamp=ago(minutes=5)),
        "info": make_error(web, "DeprecationWarning", "old API used", severity="info", timestamp=ago(days=10)),
    }
    # Repeat some so occurrence counts differ.
    for _ in range(3):
        make_error(service, "ReadTimeout", "upstream 10.0.0.9 timed out", severity="high", environment="production",
                   timestamp=ago(minutes=30))
    make_error(web, "ErrorException", "Undefined variable $total", severity="medium", environment="staging",
               timestamp=ago(days=2))
    triage.assign_error(errors["timeout"], dev, lead)
    triage.assign_error(errors["typo"], lead, lead)
    triage.resolve_error(errors["info"], lead, "fixed in 2.1")
    triage.set_status(errors["oom"], "ignored", lead)
    for error in errors.values():
        db.session.refresh(error)
    return {"web": web, "dev": dev, "errors": errors}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["error_id"] for item in response.json["items"]]


def names(catalogue, response) -> set[str]:
    by_id = {e.id: name for name, e in catalogue["errors"].items()}
    return {by_id[i] for i in ids(response)}


# --- list ----------------------------------------------------------------------------------------

def test_list_pages_newest_first_by_default(api, catalogue):
    body = api.get("/api/errors/").json
    assert set(body) == {"items", "total", "page", "per_page"}
    assert (body["total"], body["page"], body["per_page"]) == (5, 1, 25)
    expected = sorted(catalogue["errors"].values(), key=lambda e: e.last_seen, reverse=True)
    assert [i["error_id"] for i in body["items"]] == [e.id for e in expected]
    item = body["items"][0]
    assert set(item) >= {"error_id", "service", "error_type", "message", "severity", "status", "assigned_to",
                         "occurrence_count", "first_seen", "last_seen", "environment"}


def test_pagination(api, catalogue):
    pages = [api.get(f"/api/errors/?per_page=2&page={n}").json for n in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]
    assert all(p["total"] == 5 and p["per_page"] == 2 for p in pages)
    seen = [i["error_id"] for p in pages for i in p["items"]]
    assert len(set(seen)) == 5


FILTER_CASES = [
    ("severity=high", {"timeout"}),
    ("severity=critical,high", {"timeout", "oom"}),
    ("status=resolved", {"info"}),
    ("status=open", {"timeout", "typo", "percent"}),
    ("status=ignored,resolved", {"oom", "info"}),
    ("status=assigned", {"timeout", "typo"}),
    ("environment=staging", {"typo"}),
    ("environment=production", {"timeout", "oom", "percent"}),
    ("assigned_to=none", {"oom", "percent", "info"}),
    ("assigned_to=me", {"typo"}),
    ("q=TIMED OUT", {"timeout"}),
    ("q=memoryerror", {"oom"}),
    ("q=100%", {"percent"}),
    ("q=100_", set()),
    ("since=" + "{day}", {"timeout", "percent"}),
    ("until=" + "{day}", {"oom", "typo", "info"}),
    ("severity=medium&environment=staging&status=assigned", {"typo"}),
]


def test_filters(api, catalogue):
    # One catalogue for every case: building it runs the whole ingest path (and routing) ten times.
    for query, expected in FILTER_CASES:
        response = api.get("/api/errors/?" + query.replace("{day}", ago(hours=24)))
        assert names(catalogue, response) == expected, query
        assert response.json["total"] == len(expected), query


def test_filter_by_service_id_or_slug(api, catalogue, service):
    web = catalogue["web"]
    assert names(catalogue, api.get(f"/api/errors/?service={service.id}")) == {"timeout", "oom"}
    assert names(catalogue, api.get(f"/api/errors/?service={web.slug}")) == {"typo", "percent", "info"}
    assert len(ids(api.get(f"/api/errors/?service={service.slug},{web.id}"))) == 5


def test_filter_by_assignee_id(api, catalogue):
    assert names(catalogue, api.get(f"/api/errors/?assigned_to={catalogue['dev'].id}")) == {"timeout"}


def test_time_filters_accept_an_offset_sent_unencoded(api, catalogue):
    # "+02:00" in a query string arrives as " 02:00" unless the client encoded it.
    moment = (NOW - dt.timedelta(hours=24)).astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    plain = api.get("/api/errors/?since=" + moment)
    encoded = api.get("/api/errors/?since=" + moment.replace("+", "%2B"))
    assert names(catalogue, plain) == names(catalogue, encoded) == {"timeout", "percent"}


def test_sorts(api, catalogue):
    for sort, key in [("last_seen", "last_seen"), ("first_seen", "first_seen"), ("occurrences", "occurrence_count"),
                      ("severity", "severity_level")]:
        for reverse in (False, True):
            got = ids(api.get(f"/api/errors/?sort={'-' if reverse else ''}{sort}"))
            values = [getattr(db.session.get(ErrorLog, i), key) for i in got]
            assert len(got) == 5 and values == sorted(values, reverse=reverse), (sort, reverse)
            assert len(set(values)) > 1, sort  # the catalogue tells the orders apart


@pytest.mark.parametrize(("query", "field"), [
    ("severity=urgent", "severity"),
    ("status=done", "status"),
    ("service=no-such-service", "service"),
    ("assigned_to=bob", "assigned_to"),
    ("assigned_to=0", "assigned_to"),
    ("since=last+week", "since"),
    ("until=2024-13-45", "until"),
    ("sort=name", "sort"),
    ("sort=--last_seen", "sort"),
    ("page=0", "page"),
    ("page=x", "page"),
    ("per_page=0", "per_page"),
    ("per_page=101", "per_page"),
    ("per_page=-5", "per_page"),
])
def test_bad_filters_are_400_naming_the_parameter(api, query, field):
    response = api.get(f"/api/errors/?{query}")
    assert response.status_code == 400
    assert response.json["error"]["field"] == field


def test_an_unknown_service_id_just_matches_nothing(api, service):
    make_error(service)
    assert api.get("/api/errors/?service=999999").json["total"] == 0


# --- one error and its occurrences ---------------------------------------------------------------

def test_detail_has_the_latest_occurrence_its_frames_and_the_count(api, service):
    trace = ('Traceback (most recent call last):\n  File "/srv/app/predict.py", line 12, in run\n    step()\n'
             '  File "/srv/app/model.py", line {line}, in step\n    raise KeyError("input")\nKeyError: \'input\'\n')
    make_error(service, "KeyError", "'input'", stack_trace=trace.format(line=40), timestamp=ago(minutes=20),
               tags={"n": "1"})
    error = make_error(service, "KeyError", "'input'", stack_trace=trace.format(line=44), timestamp=ago(minutes=5),
                       tags={"n": "2"})
    make_error(service, "KeyError", "'input'", stack_trace=trace.format(line=41), timestamp=ago(minutes=10),
               tags={"n": "3"})
    body = api.get(f"/api/errors/{error.id}/").json
    assert body["error_id"] == error.id and body["occurrence_count"] == 3
    assert body["fingerprint"] == error.fingerprint
    latest = body["latest_occurrence"]
    assert latest["tags"] == {"n": "2"}  # newest by the event's own time, not arrival
    assert [(f["function"], f["lineno"], f["in_app"]) for f in latest["frames"]] == [("run", 12, True),
                                                                                    ("step", 44, True)]
    assert latest["exceptions"][-1]["type"] == "KeyError"
    assert body["culprit"] == "step in /srv/app/model.py"


@pytest.mark.parametrize("error_id", ["00000000-0000-0000-0000-000000000000", "nope", "x" * 300])
def test_unknown_error_is_a_json_404(api, error_id):
    for url in (f"/api/errors/{error_id}/", f"/api/errors/{error_id}/occurrences/"):
        response = api.get(url)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_occurrences_page_newest_first(api, service):
    for minutes in (50, 10, 30, 40, 20):
        error = make_error(service, "KeyError", "x", timestamp=ago(minutes=minutes), tags={"m": str(minutes)})
    first = api.get(f"/api/errors/{error.id}/occurrences/?per_page=2").json
    second = api.get(f"/api/errors/{error.id}/occurrences/?per_page=2&page=2").json
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    assert [o["tags"]["m"] for o in first["items"] + second["items"]] == ["10", "20", "30", "40"]
    assert all(o["error_id"] == error.id for o in first["items"])
    assert api.get(f"/api/errors/{error.id}/occurrences/?per_page=1000").status_code == 400


def test_occurrences_of_one_error_only(api, service):
    mine = make_error(service, "KeyError", "x")
    make_error(service, "ValueError", "y")
    assert api.get(f"/api/errors/{mine.id}/occurrences/").json["total"] == 1


# --- stats and critical ----------------------------------------------------------------------------

def test_stats(api, catalogue, service):
    body = api.get("/api/errors/stats/").json
    assert body["total"] == 5 and body["open"] == 3
    assert body["by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 1, "info": 1}
    assert body["by_status"] == {"new": 1, "assigned": 2, "in_progress": 0, "resolved": 1, "ignored": 1}
    by_service = {row["service"]: row for row in body["by_service"]}
    assert by_service[service.slug]["errors"] == 2 and by_service[service.slug]["open"] == 1
    assert by_service[catalogue["web"].slug]["errors"] == 3 and by_service[catalogue["web"].slug]["open"] == 2
    assert body["window_hours"] == 24
    # Occurrences in the last 24 hours: timeout (1 + 3 repeats) and percent.
    assert sum(row["occurrences"] for row in body["occurrences_per_hour"]) == 5
    assert all(len(row["hour"]) == 16 for row in body["occurrences_per_hour"])
    assert body["avg_resolution_seconds"] >= 0
    wider = api.get("/api/errors/stats/?hours=720").json
    assert sum(row["occurrences"] for row in wider["occurrences_per_hour"]) == 9


@pytest.mark.parametrize("hours", ["0", "abc", "100000"])
def test_stats_window_is_validated(api, hours):
    response = api.get(f"/api/errors/stats/?hours={hours}")
    assert response.status_code == 400 and response.json["error"]["field"] == "hours"


def test_critical_lists_only_open_critical_errors(api, service, lead):
    open_one = make_error(service, "MemoryError", "oom")
    closed = make_error(service, "OutOfMemoryError", "heap")
    make_error(service, "ValueError", "not critical")
    triage.resolve_error(closed, lead)
    body = api.get("/api/errors/critical/").json
    assert [item["error_id"] for item in body["items"]] == [open_one.id]
    assert body["total"] == 1


def test_critical_total_counts_every_match_not_the_500_listed(api, service):
    # Rows straight into the table: 503 events through ingest would take far longer than the check needs.
    from sqlalchemy import insert

    from app.models import SEVERITY_LEVEL

    rows = [{"id": f"00000000-0000-4000-8000-{n:012d}", "service_id": service.id, "fingerprint": f"{n:064x}",
             "severity": "critical", "severity_level": SEVERITY_LEVEL["critical"], "error_type": "MemoryError",
             "message": f"worker {n} out of memory", "status": "new", "resolved": False,
             "first_seen": NOW - dt.timedelta(seconds=n), "last_seen": NOW - dt.timedelta(seconds=n)}
            for n in range(503)]
    db.session.execute(insert(ErrorLog), rows)
    db.session.commit()
    body = api.get("/api/errors/critical/").json
    assert len(body["items"]) == 500
    assert body["items"][0]["error_id"] == rows[0]["id"]
    assert body["total"] == 503


def test_nul_characters_in_parameters_match_nothing_rather_than_fail(api, catalogue):
    for query in ("q=%00", "environment=prod%00", "service=%00", "status=new%00"):
        response = api.get(f"/api/errors/?{query}")
        assert response.status_code in (200, 400), query
    assert api.get("/api/errors/?environment=staging%00").json["total"] == 1
    assert api.get("/api/errors/%00/").status_code == 404
    assert api.get("/api/notifications/?channel=%00").json["total"] == 0


def test_a_full_page_costs_a_fixed_number_of_queries(api, app, lead):
    from sqlalchemy import event

    services = [make_service(f"Service {n}") for n in range(10)]
    developers = [make_developer(f"Dev {n}", password=None) for n in range(6)]
    for n in range(30):
        triage.assign_error(make_error(services[n % 10], f"Error{n}", "m"), developers[n % 6], lead)
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        body = api.get("/api/errors/?per_page=100").json
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(body["items"]) == 30
    assert {item["service"] for item in body["items"]} == {s.slug for s in services}
    assert {item["assigned_to"]["id"] for item in body["items"]} == {d.id for d in developers}
    # Authentication, the count, the page, its services and assignees: never one query per row.
    assert len(statements) <= 10
