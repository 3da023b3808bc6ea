"""The live feed over a real websocket: sign-in and Origin checks, rows for new events, and the
Procfile's own web command (one process with threads; two processes with Redis)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import requests
from simple_websocket import Client, ConnectionError as HandshakeRefused

from app.extensions import db
from tests.factories import make_developer, make_service
from tests.served import Served, procfile_web_command

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]
FEED_WAIT = 10  # seconds a message may take before the test gives up (a hang, not a speed check)


class BrowserLikeClient(Client):
    """simple_websocket's client as a browser behaves: Host with the port (the Origin check compares
    the two), and a first message that came in the same packet as the handshake answer is read
    (the client would otherwise hold it until the next frame arrives)."""

    def handshake(self):
        self.host = f"{self.host}:{self.port}"
        super().handshake()
        self._handle_events()


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/feed/ws"


def signed_in_session(base: str, email: str) -> requests.Session:
    """A browser-like session: the sign-in form's CSRF token (when the app checks them), then the post."""
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = session.post(f"{base}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return session


def open_feed(base: str, session: requests.Session, origin: str | None = None) -> Client:
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws = BrowserLikeClient.connect(ws_url(base), headers={"Cookie": cookie, "Origin": origin or base})
    hello = ws.receive(timeout=FEED_WAIT)  # the server says it is subscribed
    assert hello is not None and 'data-state="live"' in hello
    return ws


def post_error(base: str, service, **fields) -> str:
    answer = requests.post(f"{base}/api/errors/", json={"error_type": "ValueError", "message": "boom", **fields},
                           headers={"X-Api-Key": service.ingest_key, "Connection": "close"}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["error_id"]


def receive_rows(ws: Client, count: int) -> str:
    """Messages until ``count`` feed rows arrived (several events may come in one message)."""
    received = ""
    deadline = time.monotonic() + FEED_WAIT
    while received.count('class="feed-item') < count:
        message = ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        assert message is not None, f"feed rows missing; got {received!r}"
        received += message
    return received


# --- the websocket route, on the test server -------------------------------------------------------

def test_a_signed_in_page_receives_a_row_for_each_new_error(live_server, service, lead):
    session = signed_in_session(live_server, lead.email)
    ws = open_feed(live_server, session)
    try:
        error_id = post_error(live_server, service, error_type="PaymentTimeout", message="gateway slow",
                              severity="critical")
        message = receive_rows(ws, 1)
        assert '<ul id="feed-list" hx-swap-oob="afterbegin">' in message
        assert f'data-error-id="{error_id}"' in message and "PaymentTimeout" in message
        assert ">new</span>" in message
    finally:
        ws.close()


def test_feed_rows_escape_what_clients_sent(live_server, service, lead):
    session = signed_in_session(live_server, lead.email)
    ws = open_feed(live_server, session)
    try:
        post_error(live_server, service, error_type="<img src=x onerror=alert(1)>",
                   message="<script>alert('feed')</script>")
        message = receive_rows(ws, 1)
        assert "<script>" not in message and "<img src=x" not in message
        assert "&lt;script&gt;" in message
    finally:
        ws.close()


def test_the_feed_refuses_a_visitor_who_is_not_signed_in(live_server):
    with pytest.raises(HandshakeRefused) as refused:
        BrowserLikeClient.connect(ws_url(live_server), headers={"Origin": live_server})
    assert refused.value.status_code == 401


def test_the_feed_waits_for_a_generated_password_to_be_replaced(live_server, lead):
    lead.must_change_password = True
    db.session.commit()
    session = signed_in_session(live_server, lead.email)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    try:
        ws = BrowserLikeClient.connect(ws_url(live_server), headers={"Cookie": cookie, "Origin": live_server})
    except HandshakeRefused as refused:
        assert refused.status_code == 403
    else:
        ws.close()
        pytest.fail("the live feed opened before the generated password was replaced")


@pytest.mark.parametrize("origin", ["http://evil.example", None, "null"])
def test_the_feed_refuses_another_origin(live_server, lead, origin):
    session = signed_in_session(live_server, lead.email)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    headers = {"Cookie": cookie}
    if origin:
        headers["Origin"] = origin
    with pytest.raises(HandshakeRefused) as refused:
        BrowserLikeClient.connect(ws_url(live_server), headers=headers)
    assert refused.value.status_code == 403


def test_origins_listed_in_the_settings_are_allowed(app, live_server, lead):
    app.config["FEED_ALLOWED_ORIGINS"] = ["https://ops.example"]
    session = signed_in_session(live_server, lead.email)
    open_feed(live_server, session, origin="https://ops.example").close()


def test_a_burst_about_one_error_never_repeats_its_row_in_a_message(live_server, service, lead):
    from app.platform import feed

    session = signed_in_session(live_server, lead.email)
    ws = open_feed(live_server, session)
    try:
        error_id = post_error(live_server, service, error_type="Flood", message="again")
        for _ in range(30):
            feed.publish({"type": "error.created", "error_id": error_id, "service_id": service.id,
                          "severity": "high", "status": "new"})
        messages = [receive_rows(ws, 1)]
        while (more := ws.receive(timeout=0.5)) is not None:
            messages.append(more)
        # However the burst was split into reads, each message has one row for the error.
        assert all(m.count('class="feed-item') == 1 for m in messages)
    finally:
        ws.close()


# --- the Procfile's web command ----------------------------------------------------------------------

@pytest.fixture
def procfile_data(app):
    service = make_service("Billing API", platform="python")
    developer = make_developer("Pia Procfile", email="pia@example.test", role="lead", services=[service])
    db.session.commit()
    return service, developer


def _database_url(app) -> str:
    return str(db.engine.url.render_as_string(hide_password=False))


def test_procfile_web_one_process_many_threads_feeds_every_open_page(app, tmp_path, procfile_data):
    """The embedded default: no Redis, one gunicorn process (WEB_CONCURRENCY=1) with threads."""
    service, developer = procfile_data
    served = Served(tmp_path, _database_url(app), workers=1, redis_url=None)
    sockets = []
    try:
        assert procfile_web_command() == "gunicorn -c gunicorn.conf.py wsgi:app"
        sockets = [open_feed(served.base, signed_in_session(served.base, developer.email)) for _ in range(3)]
        error_id = post_error(served.base, service, error_type="ProcfileError", message="through gunicorn")
        for ws in sockets:
            assert f'data-error-id="{error_id}"' in receive_rows(ws, 1)
    finally:
        for ws in sockets:
            ws.close()
        served.stop()


@pytest.mark.parametrize("through", ["redis", "postgres"])
def test_procfile_web_two_processes_share_the_feed(app, tmp_path, procfile_data, through):
    """Scale-out: two gunicorn processes, sharing the feed through Redis, or through PostgreSQL's
    LISTEN/NOTIFY without Redis; every socket sees every event, whichever process took the ingest (new
    connections each time, so both processes take some)."""
    redis_url = os.environ.get("REDIS_URL")
    if through == "redis" and not redis_url:
        pytest.skip("REDIS_URL not set")
    if through == "postgres" and db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    service, developer = procfile_data
    served = Served(tmp_path, _database_url(app), workers=2, redis_url=redis_url if through == "redis" else None)
    sockets = []
    try:
        sockets = [open_feed(served.base, signed_in_session(served.base, developer.email)) for _ in range(4)]
        error_ids = [post_error(served.base, service, error_type=f"ScaledError{n}", message=f"event {n}")
                     for n in range(6)]
        for ws in sockets:
            rows = receive_rows(ws, len(error_ids))
            for error_id in error_ids:
                assert f'data-error-id="{error_id}"' in rows
        workers = {int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)",
                                                  (tmp_path / "gunicorn-2.log").read_text())}
        assert len(workers) == 2
    finally:
        for ws in sockets:
            ws.close()
        served.stop()
        if through == "redis":
            import redis

            client = redis.Redis.from_url(redis_url)
            queued = list(client.scan_iter("huey.*heartwatch*"))
            if queued:
                client.delete(*queued)
