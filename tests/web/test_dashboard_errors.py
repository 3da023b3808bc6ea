"""The error list (filters, search, sort, pages, bulk actions) and the error detail with its forms."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest

from app.extensions import db
from app.models import AuditEvent, ErrorEscalation, ErrorLog, ErrorNotification
from app.models.types import utcnow
from app.reports import activity
from app.triage import changes as triage
from tests.factories import ingest, make_developer, make_service

PASSWORD = "correct horse battery"
XSS_MESSAGE = "<script>alert('message')</script><img src=x onerror=alert('img')>"


@pytest.fixture(autouse=True)
def no_overview_cache(app):
    app.config["DASHBOARD_CACHE_SECONDS"] = 0


def login(client, developer):
    response = client.post("/login", data={"email": developer.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def record(client, service, **fields) -> str:
    payload = {"error_type": "ValueError", "message": "bad value", **fields}
    response = ingest(client, service, payload)
    assert response.status_code == 201, response.json
    return response.json["error_id"]


HTMX_TABLE = {"HX-Request": "true", "HX-Target": "error-table"}
HTMX_TRIAGE = {"HX-Request": "true", "HX-Target": "triage"}


def row_titles(body: str) -> list[str]:
    return re.findall(r'class="error-title" href="/errors/[^"]+">([^<]+)</a>', body)


# --- the list ------------------------------------------------------------------------------------

@pytest.fixture
def catalogue(client, service, lead):
    """Errors of two services with every severity, status and environment the filters tell apart."""
    mobile = make_service("Mobile App", platform="dart")
    ids = {
        "KeyError": record(client, service, error_type="KeyError", message="'embedding'", severity="critical",
                           environment="production"),
        "TimeoutError": record(client, service, error_type="TimeoutError", message="upstream slow", severity="medium",
                               environment="staging"),
        "StateError": record(client, mobile, error_type="StateError", message="Bad state: no element", severity="high",
                             environment="production"),
        "OldError": record(client, service, error_type="OldError", message="long ago", severity="low",
                           timestamp=(utcnow() - dt.timedelta(days=3)).isoformat()),
    }
    error = db.session.get(ErrorLog, ids["TimeoutError"])
    triage.resolve_error(error, lead, "fixed")
    key_error = db.session.get(ErrorLog, ids["KeyError"])
    triage.assign_error(key_error, lead, lead)
    # Routing gives new errors to the on-call lead; this one stays nobody's.
    triage.assign_error(db.session.get(ErrorLog, ids["OldError"]), None, lead)
    return ids


def test_the_list_shows_open_errors_by_default_newest_first(client, lead, catalogue):
    login(client, lead)
    body = client.get("/errors").get_data(as_text=True)
    assert row_titles(body) == ["StateError", "KeyError", "OldError"]
    assert "TimeoutError" not in body  # resolved


@pytest.mark.parametrize("query, expected", [
    ("severity=critical", ["KeyError"]),
    ("status=resolved", ["TimeoutError"]),
    ("status=all&environment=staging", ["TimeoutError"]),
    ("service=mobile-app", ["StateError"]),
    ("assigned_to=me", ["KeyError"]),
    ("assigned_to=none", ["StateError", "OldError"]),
    ("range=24h", ["StateError", "KeyError"]),
    ("q=bad+state", ["StateError"]),
    ("status=all&sort=severity", ["OldError", "TimeoutError", "StateError", "KeyError"]),
    ("status=all&sort=-severity", ["KeyError", "StateError", "TimeoutError", "OldError"]),
])
def test_filters_search_and_sort_live_in_the_url(client, lead, catalogue, query, expected):
    login(client, lead)
    body = client.get(f"/errors?{query}").get_data(as_text=True)
    assert row_titles(body) == expected


def test_htmx_gets_only_the_table_and_the_page_keeps_the_filters(client, lead, catalogue):
    login(client, lead)
    fragment = client.get("/errors?severity=high", headers=HTMX_TABLE)
    body = fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert body.lstrip().startswith('<section id="error-table"')
    assert "<html" not in body and row_titles(body) == ["StateError"]
    full = client.get("/errors?severity=high").get_data(as_text=True)
    assert "<html" in full and '<option value="high" selected>' in full


def test_pages_of_the_list(client, lead, service):
    for n in range(30):
        record(client, service, error_type=f"Error{n:02d}", message=f"distinct message {n} " + "x" * n)
    login(client, lead)
    first = client.get("/errors?per_page=25").get_data(as_text=True)
    second = client.get("/errors?per_page=25&page=2").get_data(as_text=True)
    assert len(row_titles(first)) == 25 and len(row_titles(second)) == 5
    assert "page 1 of 2" in first and "/errors?per_page=25&amp;page=2" in first
    assert set(row_titles(first)).isdisjoint(row_titles(second))


@pytest.mark.parametrize("query", ["severity=bogus", "sort=nope", "page=0", "assigned_to=abc", "service=unknown"])
def test_a_bad_filter_is_explained_never_a_500(client, lead, catalogue, query):
    login(client, lead)
    response = client.get(f"/errors?{query}")
    assert response.status_code == 400
    assert "flash-error" in response.get_data(as_text=True)
    as_json = client.get(f"/errors?{query}", headers={"Accept": "application/json"})
    assert as_json.status_code == 400


def test_empty_list_says_so(client, lead):
    login(client, lead)
    assert "No open errors" in client.get("/errors").get_data(as_text=True)
    assert "No errors match these filters" in client.get("/errors?severity=high").get_data(as_text=True)


# --- bulk actions --------------------------------------------------------------------------------

def test_bulk_resolve_and_ignore(client, lead, catalogue):
    login(client, lead)
    response = client.post("/errors/bulk", data={"action": "resolve", "error_id": [catalogue["KeyError"],
                                                                                    catalogue["StateError"]],
                                                  "next": "/errors?severity=high"})
    assert response.status_code == 303 and response.headers["Location"] == "/errors?severity=high"
    assert db.session.get(ErrorLog, catalogue["KeyError"]).status == "resolved"
    assert db.session.get(ErrorLog, catalogue["StateError"]).status == "resolved"
    client.post("/errors/bulk", data={"action": "ignore", "error_id": catalogue["OldError"]})
    assert db.session.get(ErrorLog, catalogue["OldError"]).status == "ignored"


def test_bulk_assign_through_htmx_answers_with_the_refreshed_table(client, lead, service, catalogue):
    dev = make_developer("Dana Dev", services=[service])
    login(client, lead)
    response = client.post("/errors/bulk", headers=HTMX_TABLE,
                           data={"action": "assign", "developer_id": str(dev.id),
                                 "error_id": [catalogue["StateError"], catalogue["OldError"]],
                                 "next": "/errors?assigned_to=none"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 errors assigned to Dana Dev" in body  # the message travels out of band
    assert 'hx-swap-oob="innerHTML"' in body
    assert row_titles(body) == []  # nothing is unassigned any more
    assert {db.session.get(ErrorLog, i).assigned_to_id for i in (catalogue["StateError"], catalogue["OldError"])} \
        == {dev.id}


def test_bulk_action_a_developer_may_not_take_changes_nothing(client, service, lead, catalogue):
    dev = make_developer("Dana Dev", services=[service])
    login(client, dev)
    response = client.post("/errors/bulk", data={"action": "resolve",
                                                  "error_id": [catalogue["OldError"], catalogue["KeyError"]]})
    assert response.status_code == 403
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert db.session.get(ErrorLog, catalogue["OldError"]).status == "new"  # allowed alone, but not in this batch
    assert db.session.get(ErrorLog, catalogue["KeyError"]).status == "assigned"
    refused = client.post("/errors/bulk", data={"action": "assign", "developer_id": str(lead.id),
                                                 "error_id": catalogue["OldError"]})
    assert refused.status_code == 403
    taken = client.post("/errors/bulk", data={"action": "assign", "developer_id": "me",
                                               "error_id": catalogue["OldError"]})
    assert taken.status_code == 303
    assert db.session.get(ErrorLog, catalogue["OldError"]).assigned_to_id == dev.id


def test_bulk_without_selection_or_action_is_a_clear_400(client, lead, catalogue):
    login(client, lead)
    assert client.post("/errors/bulk", data={"action": "resolve"}).status_code == 400
    assert client.post("/errors/bulk", data={"action": "explode", "error_id": catalogue["OldError"]}).status_code == 400
    assert client.post("/errors/bulk", data={"action": "resolve", "error_id": "no-such-id"}).status_code == 400
    unknown = "00000000-0000-0000-0000-000000000000"
    assert client.post("/errors/bulk", data={"action": "resolve", "error_id": unknown}).status_code == 404


# --- the detail ----------------------------------------------------------------------------------

CHAINED_TRACE = """Traceback (most recent call last):
  File "/srv/app/db.py", line 10, in connect
    sock.connect(addr)
ConnectionRefusedError: [Errno 111] Connection refused

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/app/views.py", line 42, in checkout
    order = load_order(order_id)
  File "/usr/lib/python3.11/site-packages/sqlalchemy/engine.py", line 300, in execute
    return self._run()
  File "/srv/app/orders.py", line 7, in load_order
    return db.fetch(order_id)
OperationalError: could not connect to server
"""


def test_detail_shows_the_chain_raised_first_and_the_newest_frame_first(client, lead, service):
    error_id = record(client, service, error_type="OperationalError", message="could not connect to server",
                      stack_trace=CHAINED_TRACE, platform="python")
    login(client, lead)
    body = client.get(f"/errors/{error_id}").get_data(as_text=True)
    raised = body.index(">OperationalError</span>")
    cause = body.index(">ConnectionRefusedError</span>")
    assert raised < cause and "Caused by" in body[raised:cause + 200]
    # Newest frame first: load_order (raised) above checkout (the oldest).
    assert body.index(">load_order</span>") < body.index(">checkout</span>")
    # The library frame between them is folded away.
    assert re.search(r'<details class="libframes"><summary>1 library frame</summary>', body)
    assert "Raw stack trace" in body and "The above exception was the direct cause" in body


def test_detail_shows_context_lines_with_the_current_line_marked(client, lead, service):
    frames = [
        {"filename": "vendor/lib.js", "function": "dispatch", "lineno": 5, "in_app": False},
        {"filename": "src/cart.js", "function": "total", "lineno": 12, "colno": 7, "in_app": True,
         "pre_context": ["function total(items) {", "  let sum = 0;"], "context_line": "  return items.price;",
         "post_context": ["}"]},
    ]
    error_id = record(client, service, error_type="TypeError", message="items is undefined", frames=frames)
    login(client, lead)
    body = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert '<ol class="context" start="10">' in body
    assert '<li class="current">  return items.price;</li>' in body
    in_app = re.search(r'<details class="frame in-app" open>\s*<summary>(.*?)</summary>', body, re.S)
    assert in_app and "src/cart.js" in in_app.group(1) and "in app" in in_app.group(1)


def test_detail_shows_request_user_tags_breadcrumbs_occurrences_and_a_small_chart(client, lead, service):
    payload = dict(error_type="KeyError", message="'sku'", request={"url": "https://shop.example/cart?id=3",
                                                                      "method": "POST"},
                   user={"id": "u-77", "email": "jo@example.org"}, tags={"browser": "Firefox 128"},
                   environment="production", release="shop@2.1.0",
                   extra={"breadcrumbs": {"values": [{"category": "http", "message": "GET /api/cart",
                                                      "timestamp": "2025-01-01T10:00:00Z"}]}})
    error_id = record(client, service, **payload)
    record(client, service, **payload)
    login(client, lead)
    body = client.get(f"/errors/{error_id}").get_data(as_text=True)
    for text in ("https://shop.example/cart?id=3", "u-77", "jo@example.org", "Firefox 128", "GET /api/cart",
                 "shop@2.1.0", "production", "2 received", "Event <strong>2</strong> of 2", "in the last 14 days, per day (UTC)"):
        assert text in body, text
    assert body.count("<rect ") == 14  # one bar per day


def test_occurrence_pages_come_as_a_fragment(client, lead, service):
    for n in range(12):
        record(client, service, message="same", tags={"n": str(n)})
    error_id = db.session.execute(db.select(ErrorLog.id)).scalar_one()
    login(client, lead)
    body = client.get(f"/errors/{error_id}/occurrences?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert body.lstrip().startswith('<section id="occurrences"') and "page 2 of 2" in body


def test_a_chosen_occurrence_is_shown(client, lead, service):
    error_id = record(client, service, message="first", tags={"which": "first-event"})
    record(client, service, message="first", tags={"which": "second-event"})
    first = db.session.execute(db.select(ErrorLog)).scalar_one()
    from app.models import ErrorOccurrence

    occurrences = db.session.execute(db.select(ErrorOccurrence).order_by(ErrorOccurrence.received_at)).scalars().all()
    login(client, lead)
    body = client.get(f"/errors/{first.id}?occurrence={occurrences[0].id}", follow_redirects=True).get_data(as_text=True)
    event_tags = body.split('<ul class="tags">', 1)[1].split("</ul>", 1)[0]  # the tag breakdowns show both
    assert "first-event" in event_tags and "second-event" not in event_tags
    assert error_id == first.id


def test_unknown_error_is_a_404_page(client, lead):
    login(client, lead)
    response = client.get("/errors/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "No error with id" in response.get_data(as_text=True)


RECORDED = Path(__file__).parent.parent / "ingest" / "recorded"


def test_java_frames_read_as_java_prints_them_and_suppressed_exceptions_are_marked(client, lead, service):
    # printStackTrace() of a real Java 17 run (tests/ingest/recorded/ReportExport.java).
    text = (RECORDED / "java17-report-export.txt").read_text()
    response = ingest(client, service, {"stack_trace": text, "level": "ERROR"}, path="/webhook/java/")
    assert response.status_code == 201, response.json
    login(client, lead)
    body = client.get(f"/errors/{response.json['error_id']}").get_data(as_text=True)
    assert '<span class="frame-fn">com.acme.export.ReportExport.export (ReportExport.java:36)</span>' in body
    assert "com.acme.export.ReportExport$Sink.close (ReportExport.java:17)" in body
    assert "ReportExport.java</span> in" not in body  # not the file alone
    heads = re.findall(r'<h3 class="exception-head">(.*?)</h3>', body, re.S)
    labels = [re.sub(r"<[^>]+>", "", head).split() for head in heads]
    assert [label[:2] for label in labels] == [["UncheckedIOException", "java.io"], ["Caused", "by"],
                                               ["Suppressed", "IOException"], ["Suppressed", "IllegalStateException"],
                                               ["Caused", "by"]]
    error = db.session.get(ErrorLog, response.json["error_id"])
    assert error.culprit == "com.acme.export.ReportExport.export (ReportExport.java:36)"


def test_frames_of_other_platforms_still_read_file_function_and_line(client, lead, service):
    payload = json.loads((RECORDED / "php82-invoice-trace.json").read_text())
    response = ingest(client, service, payload, path="/webhook/laravel/")
    assert response.status_code == 201, response.json
    login(client, lead)
    body = client.get(f"/errors/{response.json['error_id']}").get_data(as_text=True)
    assert re.search(r'InvoiceService.php</span> in <span class="frame-fn">App\\Billing\\InvoiceService-&gt;send</span>'
                     r' at line <span class="frame-line">20</span>', body)
    error = db.session.get(ErrorLog, response.json["error_id"])
    assert error.culprit.startswith("App\\Billing\\InvoiceService->send in /")


def test_local_variables_fold_under_their_frame_escaped(client, lead, service):
    frames = [{"filename": "app/cart.py", "function": "total", "lineno": 12, "in_app": True,
               "vars": {"items": ["'<b>sku</b>'", 3], "user": "'<script>alert(1)</script>'", "count": 2,
                        "paid": False, "note": None}}]
    error_id = record(client, service, error_type="TypeError", message="bad cart", frames=frames)
    login(client, lead)
    body = client.get(f"/errors/{error_id}").get_data(as_text=True)
    folded = re.search(r'<details class="frame-vars">\s*<summary>5 local variables</summary>(.*?)</details>', body, re.S)
    assert folded, body
    table = folded.group(1)
    assert "<script>alert" not in body and "<b>sku" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table and "&lt;b&gt;sku&lt;/b&gt;" in table
    for name, shown in (("count", "2"), ("paid", "false"), ("note", "null")):
        assert f'<th class="mono">{name}</th><td><code>{shown}</code></td>' in table


def test_client_data_is_escaped_everywhere_it_is_shown(client, lead, service):
    frames = [{"filename": "<img src=x onerror=alert('file')>.js", "function": "<script>f()</script>",
               "lineno": 1, "in_app": True, "context_line": "<script>alert('context')</script>"}]
    error_id = record(client, service, error_type="<b>Bold</b>", message=XSS_MESSAGE, frames=frames,
                      tags={"<i>tag</i>": "<img src=x onerror=alert('tag')>"},
                      user={"name": "<script>alert('user')</script>"},
                      request={"url": "javascript:alert('url')", "headers": {"X-Evil": "<svg onload=alert(1)>"}})
    login(client, lead)
    for path in (f"/errors/{error_id}", "/errors", "/", f"/overview/feed/{error_id}"):
        body = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in body, path
        assert "<img src=x" not in body and "<svg onload" not in body and "<b>Bold</b>" not in body, path
    detail = client.get(f"/errors/{error_id}").get_data(as_text=True)
    assert html.escape(XSS_MESSAGE, quote=False) in detail or "&lt;script&gt;alert(&#39;message&#39;)" in detail
    assert 'href="javascript:' not in detail


# --- triage forms ----------------------------------------------------------------------------------

@pytest.fixture
def new_error(client, service) -> ErrorLog:
    return db.session.get(ErrorLog, record(client, service, error_type="KeyError", message="'sku'"))


def test_assign_through_htmx_answers_with_the_panel_timeline_and_badges(client, lead, service, new_error):
    dev = make_developer("Dana Dev", services=[service], on_call=True)
    login(client, lead)
    response = client.post(f"/errors/{new_error.id}/assign", data={"developer_id": str(dev.id)}, headers=HTMX_TRIAGE)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="triage"')
    assert '<section id="timeline" class="card" hx-swap-oob="true">' in body
    assert 'id="error-badges" class="badges" hx-swap-oob="true"' in body
    assert "assigned it to <strong>Dana Dev</strong>" in body
    assert "Assigned to Dana Dev." in body  # the flash, out of band
    db.session.expire_all()
    assert new_error.assigned_to_id == dev.id and new_error.status == "assigned"


def test_forms_work_as_plain_posts_with_a_redirect_back(client, lead, new_error):
    login(client, lead)
    response = client.post(f"/errors/{new_error.id}/severity", data={"severity": "critical"})
    assert response.status_code == 303 and response.headers["Location"] == f"/errors/{new_error.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Severity set to critical." in page
    db.session.expire_all()
    assert new_error.severity == "critical"


def test_the_assign_list_puts_developers_of_the_service_first_with_their_load(client, lead, service, new_error):
    other_service = make_service("Billing")
    make_developer("Aaron Elsewhere", services=[other_service])
    make_developer("Zoe Knows", services=[service], max_load=4)
    login(client, lead)
    body = client.get(f"/errors/{new_error.id}").get_data(as_text=True)
    knows = body.index('<optgroup label="Know Django AI">')
    assert knows < body.index("Zoe Knows · 0/4") < body.index('<optgroup label="Others">') < body.index("Aaron Elsewhere")


def test_status_resolve_with_a_note_and_reopen(client, lead, new_error):
    login(client, lead)
    client.post(f"/errors/{new_error.id}/status", data={"status": "in_progress"})
    db.session.expire_all()
    assert new_error.status == "in_progress"
    response = client.post(f"/errors/{new_error.id}/resolve", data={"note": "fixed in shop@2.1.1"}, headers=HTMX_TRIAGE)
    body = response.get_data(as_text=True)
    assert "fixed in shop@2.1.1" in body and "Reopen" in body
    db.session.expire_all()
    assert new_error.status == "resolved" and new_error.resolution_note == "fixed in shop@2.1.1"
    client.post(f"/errors/{new_error.id}/status", data={"status": "new"})
    db.session.expire_all()
    assert new_error.status == "new" and not new_error.resolved


def test_escalate_with_a_reason_records_it(client, lead, service, new_error):
    admin = make_developer("Ada Admin", role="admin")
    login(client, lead)
    missing = client.post(f"/errors/{new_error.id}/escalate", data={"reason": "  "}, headers=HTMX_TRIAGE)
    assert missing.status_code == 400 and "needs a reason" in missing.get_data(as_text=True)
    response = client.post(f"/errors/{new_error.id}/escalate", data={"reason": "customers cannot pay",
                                                                     "to": str(admin.id)})
    assert response.status_code == 303
    escalation = db.session.execute(db.select(ErrorEscalation)).scalar_one()
    assert (escalation.reason, escalation.escalated_to_id, escalation.level) == ("customers cannot pay", admin.id, 1)
    page = client.get(f"/errors/{new_error.id}").get_data(as_text=True)
    assert "escalated it to level 1 (Ada Admin)" in page


def test_a_developer_is_refused_on_someone_elses_error_and_nothing_changes(client, lead, service, new_error):
    dev = make_developer("Dana Dev", services=[service])
    triage.assign_error(new_error, lead, lead)
    login(client, dev)
    page = client.get(f"/errors/{new_error.id}").get_data(as_text=True)
    assert "only they, leads, managers and admins work on it" in page
    assert 'action="/errors/' + new_error.id + '/resolve"' not in page
    before = db.session.execute(db.select(db.func.count()).select_from(AuditEvent)).scalar_one()
    for path, data in (("resolve", {"note": "mine now"}), ("status", {"status": "ignored"}),
                       ("severity", {"severity": "low"}), ("assign", {"developer_id": "me"}),
                       ("assign", {"developer_id": "none"}), ("escalate", {"reason": "help"})):
        plain = client.post(f"/errors/{new_error.id}/{path}", data=data)
        assert plain.status_code == 403, path
        htmx = client.post(f"/errors/{new_error.id}/{path}", data=data, headers=HTMX_TRIAGE)
        assert htmx.status_code == 403 and '<section id="triage"' in htmx.get_data(as_text=True), path
    db.session.expire_all()
    assert (new_error.status, new_error.severity, new_error.assigned_to_id) == ("assigned", "high", lead.id)
    assert db.session.execute(db.select(db.func.count()).select_from(AuditEvent)).scalar_one() == before


def test_a_developer_takes_an_unassigned_error_and_works_on_it(client, service, new_error):
    dev = make_developer("Dana Dev", services=[service])
    login(client, dev)
    page = client.get(f"/errors/{new_error.id}").get_data(as_text=True)
    assert "Assign to me" in page and '<optgroup' not in page
    client.post(f"/errors/{new_error.id}/assign", data={"developer_id": "me"})
    client.post(f"/errors/{new_error.id}/resolve", data={"note": "done"})
    db.session.expire_all()
    assert new_error.assigned_to_id == dev.id and new_error.status == "resolved"


def test_bad_form_values_are_400_with_the_reason(client, lead, new_error):
    login(client, lead)
    assert client.post(f"/errors/{new_error.id}/status", data={"status": "done"}).status_code == 400
    assert client.post(f"/errors/{new_error.id}/severity", data={"severity": "apocalyptic"}).status_code == 400
    assert client.post(f"/errors/{new_error.id}/assign", data={"developer_id": "99999"}).status_code == 400
    assert client.post(f"/errors/{new_error.id}/assign", data={"developer_id": "x1"}).status_code == 400
    resolved = client.post(f"/errors/{new_error.id}/resolve", data={})
    assert resolved.status_code == 303
    again = client.post(f"/errors/{new_error.id}/resolve", data={}, headers=HTMX_TRIAGE)
    assert again.status_code == 409 and "resolved already" in again.get_data(as_text=True)


def test_timeline_and_notifications_of_an_error(client, lead, service, new_error):
    db.session.add(ErrorNotification(error_id=new_error.id, recipient_id=lead.id, recipient=lead.email,
                                     channel="email", status="dead", retry_count=3,
                                     last_error="SMTP 550 <mailbox unavailable>", idempotency_key="k1"))
    db.session.commit()
    triage.assign_error(new_error, lead, lead)
    triage.resolve_error(new_error, lead, "deployed the fix")
    login(client, lead)
    body = client.get(f"/errors/{new_error.id}").get_data(as_text=True)
    timeline = body[body.index('<section id="timeline"'):body.index('id="error-notifications"')]
    assert timeline.index("resolved it") < timeline.index("assigned it to") < timeline.index("First seen")
    assert "deployed the fix" in timeline
    assert "Notified <strong>Lena Lead</strong> by email" in timeline
    assert "SMTP 550 &lt;mailbox unavailable&gt;" in body
    assert 'action="/notifications/' in body  # a lead may retry the dead delivery


def test_timeline_helper_names_people_and_orders_newest_first(client, lead, service, new_error):
    dev = make_developer("Dana Dev", services=[service])
    triage.assign_error(new_error, dev, lead)
    items = activity.timeline(new_error)
    assert items[0]["action"] == "error.assigned" and items[0]["names"][dev.id] == "Dana Dev"
    assert items[-1]["action"] == "first_seen"


@pytest.mark.parametrize("path, status", [
    ("/errors/abc%00", 404), ("/errors/not-an-id!", 404), ("/errors?q=a%00b", 400), ("/errors?environment=%00", 400),
    ("/notifications?recipient=%00", 400), ("/errors/{id}/occurrences?page=0", 200),
    ("/errors/{id}/occurrences?page=%C2%B2", 200), ("/errors/{id}?occurrence=%00", 400),
    ("/errors/{id}?occurrence=zzz", 200),
])
def test_odd_ids_and_parameters_are_a_clear_answer_never_a_500(client, lead, new_error, path, status):
    login(client, lead)
    assert client.get(path.format(id=new_error.id)).status_code == status


@pytest.mark.parametrize("data", [{"developer_id": "99999999999"}, {"developer_id": "²"}])
def test_odd_numbers_in_forms_are_a_400(client, lead, new_error, data):
    login(client, lead)
    assert client.post(f"/errors/{new_error.id}/assign", data=data).status_code == 400


def test_nul_bytes_in_forms_are_a_400_and_change_nothing(client, lead, new_error):
    login(client, lead)
    assert client.post(f"/errors/{new_error.id}/resolve", data={"note": "fixed\x00"}).status_code == 400
    db.session.expire_all()
    assert new_error.status != "resolved"
