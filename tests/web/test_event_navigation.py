"""An error's events one at a time: first, older, newer and latest, "event N of M", a link per event,
its stored JSON as a file; the API and the dashboard page give the same answers, and each step reads
the (error_id, timestamp, id) index however many events the error has."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import event, insert, text

from app.extensions import db
from app.models import ErrorOccurrence
from app.reports import events
from tests.factories import ApiClient, make_error, make_token

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def api(client, lead):
    return ApiClient(client, make_token(lead))


@pytest.fixture
def signed_in(client, lead):
    response = client.post("/login", data={"email": lead.email, "password": PASSWORD})
    assert response.status_code == 303
    return client


@pytest.fixture
def error(app, service):
    """One error with five events; two of them at the same second (the id orders those)."""
    moments = [START, START + dt.timedelta(minutes=1), START + dt.timedelta(minutes=1),
               START + dt.timedelta(minutes=5), START + dt.timedelta(hours=2)]
    found = None
    for n, moment in enumerate(moments):
        found = make_error(service, "KeyError", "'user_id'", timestamp=iso(moment), tags={"n": str(n)})
    return found


def chronological(error_id: str) -> list[str]:
    return list(db.session.execute(db.select(ErrorOccurrence.id).where(ErrorOccurrence.error_id == error_id)
                                   .order_by(ErrorOccurrence.timestamp, ErrorOccurrence.id)).scalars())


def nav_links(body: str) -> dict[str, str | None]:
    nav = re.search(r'<nav class="event-nav".*?</nav>', body, re.S).group(0)
    links = {}
    for rel in ("first", "prev", "next", "last"):
        found = re.search(rf'rel="{rel}" href="/errors/[^/]+/events/([^"#]+)#event"', nav)
        links[rel] = found.group(1) if found else None
    links["count"] = re.search(r"Event <strong>([\d,]+)</strong> of ([\d,]+)", nav).groups()
    return links


def test_the_api_walks_every_event_from_the_latest_to_the_first(api, error):
    order = chronological(error.id)
    seen, current = [], order[-1]
    while current:
        answer = api.get(f"/api/errors/{error.id}/occurrences/{current}/")
        assert answer.status_code == 200, answer.json
        body = answer.json
        assert body["occurrence_id"] == current and body["total"] == 5
        assert body["first_id"] == order[0] and body["latest_id"] == order[-1]
        seen.append((body["position"], current))
        if body["next_id"]:
            assert api.get(f"/api/errors/{error.id}/occurrences/{body['next_id']}/").json["previous_id"] == current
        current = body["previous_id"]
    assert seen == [(5 - n, occurrence_id) for n, occurrence_id in enumerate(reversed(order))]


def test_the_page_shows_the_same_place_and_links_as_the_api(signed_in, api, error):
    for occurrence_id in chronological(error.id):
        place = api.get(f"/api/errors/{error.id}/occurrences/{occurrence_id}/").json
        response = signed_in.get(f"/errors/{error.id}/events/{occurrence_id}")
        assert response.status_code == 200
        links = nav_links(response.get_data(as_text=True))
        assert links["count"] == (str(place["position"]), str(place["total"]))
        assert links["prev"] == place["previous_id"] and links["next"] == place["next_id"]
        # First and latest are links unless this is that event.
        assert links["first"] == (place["first_id"] if place["first_id"] != occurrence_id else None)
        assert links["last"] == (place["latest_id"] if place["latest_id"] != occurrence_id else None)
        assert f'"n": "{place["tags"]["n"]}"' not in response.get_data(as_text=True)  # tags are shown as a list
        assert f'<span class="tag-value">{place["tags"]["n"]}</span>' in response.get_data(as_text=True)


def test_the_error_page_shows_the_latest_event_with_only_older_links(signed_in, error):
    order = chronological(error.id)
    links = nav_links(signed_in.get(f"/errors/{error.id}").get_data(as_text=True))
    assert links["count"] == ("5", "5") and links["next"] is None and links["last"] is None
    assert links["prev"] == order[-2] and links["first"] == order[0]
    assert 'data-key="h"' in signed_in.get(f"/errors/{error.id}").get_data(as_text=True)


def test_the_old_event_link_leads_to_the_event_page(signed_in, error):
    first = chronological(error.id)[0]
    response = signed_in.get(f"/errors/{error.id}?occurrence={first}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/errors/{error.id}/events/{first}")


def test_an_event_of_another_error_is_a_404_in_the_api_and_on_the_page(signed_in, api, error, service):
    other = make_error(service, "TypeError", "other")
    foreign = chronological(other.id)[0]
    for path in (f"/errors/{error.id}/events/{foreign}", f"/errors/{error.id}/events/{foreign}/download",
                 f"/errors/{error.id}/events/zzz", f"/errors/{error.id}/events/{'a' * 80}"):
        assert signed_in.get(path).status_code == 404, path
    for path in (f"/api/errors/{error.id}/occurrences/{foreign}/", f"/api/errors/{error.id}/occurrences/{foreign}/download/",
                 f"/api/errors/{error.id}/occurrences/{'a' * 80}/"):
        answer = api.get(path)
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found", path


def test_an_event_downloads_as_the_same_json_file_from_the_page_and_the_api(signed_in, api, error):
    occurrence_id = chronological(error.id)[1]
    page = signed_in.get(f"/errors/{error.id}/events/{occurrence_id}/download")
    answer = api.get(f"/api/errors/{error.id}/occurrences/{occurrence_id}/download/")
    for response in (page, answer):
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.headers["Content-Disposition"] == f'attachment; filename="event-{occurrence_id}.json"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert page.get_data() == answer.get_data()
    stored = page.get_json()
    assert stored["occurrence_id"] == occurrence_id and stored["tags"]["n"] in ("1", "2")
    assert stored["raw_payload"] is None or "'user_id'" in stored["raw_payload"]
    place = api.get(f"/api/errors/{error.id}/occurrences/{occurrence_id}/").json
    assert {k: v for k, v in stored.items() if k != "raw_payload"} == \
        {k: v for k, v in place.items() if k not in ("position", "total", "first_id", "previous_id", "next_id",
                                                      "latest_id")}
    body = signed_in.get(f"/errors/{error.id}/events/{occurrence_id}").get_data(as_text=True)
    assert f'href="/errors/{error.id}/events/{occurrence_id}/download" download' in body


def test_the_download_keeps_the_body_the_event_came_in(signed_in, client, service, lead):
    response = client.post("/api/errors/", json={"error_type": "KeyError", "message": "raw one", "tags": {"x": "1"}},
                           headers={"X-Api-Key": service.ingest_key})
    assert response.status_code == 201
    body = response.json
    stored = signed_in.get(f"/errors/{body['error_id']}/events/{body['occurrence_id']}/download").get_json()
    assert stored["raw_payload"].replace(": ", ":").count('"message":"raw one"') == 1


# --- fifty thousand events -------------------------------------------------------------------------

def many_events(error, count: int) -> list[str]:
    """``count`` more events of ``error`` written in bulk (the ingest would take minutes), the error's
    count kept as the ingest keeps it."""
    ids = sorted(str(uuid.uuid4()) for _ in range(count))
    rows = [{"id": ids[n], "error_id": error.id, "service_id": error.service_id, "source": "api",
             "timestamp": START - dt.timedelta(seconds=count - n // 2), "received_at": START, "severity": "high",
             "message": "'user_id'"} for n in range(count)]
    for start in range(0, count, 5000):
        db.session.execute(insert(ErrorOccurrence), rows[start:start + 5000])
    error.occurrence_count += count
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # what autovacuum does after a while
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE error_occurrences"))
    return ids


def statements_of(call) -> list[tuple[str, object]]:
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return result, seen


# The index, or on PostgreSQL its copy in each day partition (app/models/partitions.py) that the plan reads.
ORDER_INDEX = re.compile(r"ix_error_occurrences_error_timestamp_id|error_occurrences_\w+_error_id_timestamp_id_idx")


def plan(statement: str, parameters, *, without_seq_scan: bool = False) -> str:
    connection = db.session.connection()
    if db.engine.dialect.name != "postgresql":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(" ".join(str(part) for part in row) for row in rows)
    if without_seq_scan:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    connection.exec_driver_sql("RESET enable_seqscan")
    return "\n".join(row[0] for row in rows)


def test_each_step_among_fifty_thousand_events_reads_the_index_alone(api, error):
    many_events(error, 50_000)
    order = chronological(error.id)
    assert len(order) == 50_005
    middle = db.session.get(ErrorOccurrence, order[25_000])
    place, statements = statements_of(lambda: events.place(error, middle))
    assert (place.previous_id, place.next_id, place.first_id, place.latest_id) == \
        (order[24_999], order[25_001], order[0], order[-1])
    assert (place.number, place.total) == (25_001, 50_005)
    assert len(statements) == 5
    for statement, parameters in statements:
        # With this one error filling the table, PostgreSQL may rather count the newer half by a sequential
        # scan; what matters is that the index serves every statement as one range, without a sort.
        counting = "count(" in statement.lower()
        explained = plan(statement, parameters, without_seq_scan=counting)
        assert ORDER_INDEX.search(explained), explained
        assert "OFFSET" not in statement.upper() or parameters[-1] == 0  # SQLite's LIMIT 1 says OFFSET 0
        assert "Sort" not in explained and "TEMP B-TREE" not in explained, explained
        assert "Seq Scan" not in explained and not re.search(r"\bSCAN error_occurrences\b(?! USING)", explained), \
            explained
        if counting:
            assert "Index Only Scan" in explained or "COVERING INDEX" in explained, explained
    answer = api.get(f"/api/errors/{error.id}/occurrences/{order[0]}/")
    assert (answer.json["position"], answer.json["previous_id"], answer.json["next_id"]) == (1, None, order[1])
