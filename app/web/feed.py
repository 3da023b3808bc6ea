"""The live feed's websocket: every event about an error, rendered as a row the overview prepends.

The socket is opened by the htmx ws extension; each message is HTML with an out-of-band swap, so
the page needs no code to place rows. Only signed-in users connect, and only from the dashboard's
own origin: the session cookie goes with the handshake, so another site could otherwise open the
feed in a signed-in browser (flask-sock does not check Origin).
"""
from __future__ import annotations

import logging
import queue
from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from app.extensions import db, sock
from app.models import ErrorLog
from app.triage.kinds import is_routable
from app.platform import feed
from app.web.errors import error_response

bp = Blueprint("feed", __name__)
log = logging.getLogger("heartwatch.feed")
# A burst (a deploy gone wrong) must not become thousands of messages per open page: events waiting
# are read together, one row per error, the newest few sent as one message.
MAX_ROWS_PER_MESSAGE = 20
MAX_EVENTS_PER_READ = 500


def origin_allowed(origin: str | None) -> bool:
    """The dashboard's own origin (this host, or the configured base URL) or one listed in
    ``FEED_ALLOWED_ORIGINS``."""
    if not origin:
        return False
    origin = origin.rstrip("/")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https"):
        return False
    if parts.netloc == request.host:
        return True
    base = urlsplit(current_app.config["BASE_URL"])
    if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
        return True
    return origin in current_app.config.get("FEED_ALLOWED_ORIGINS", [])


@bp.before_request
def check_handshake():
    # Refused before the upgrade: the browser sees a failed handshake and the socket never opens.
    if not current_user.is_authenticated:
        return error_response(401, "sign in to open the live feed")
    if current_user.must_change_password:  # as every dashboard page: a generated password is replaced first
        return error_response(403, "choose a new password first")
    if not origin_allowed(request.headers.get("Origin")):
        return error_response(403, "the live feed opens only from the dashboard", "Origin")
    return None


def _read_burst(subscription: queue.Queue, first: dict) -> list[dict]:
    events = [first]
    while len(events) < MAX_EVENTS_PER_READ:
        try:
            events.append(subscription.get_nowait())
        except queue.Empty:
            break
    latest: dict[str, dict] = {}
    for event in events:  # one row per error: its latest event
        error_id = event.get("error_id")
        if isinstance(error_id, str) and 0 < len(error_id) <= 36:
            latest.pop(error_id, None)
            latest[error_id] = event
    return list(latest.values())[-MAX_ROWS_PER_MESSAGE:][::-1]


def render_events(events: list[dict]) -> str | None:
    """The message for a list of feed events (newest first); None when none of the errors exists here
    (another installation sharing the Redis server, or the error was deleted)."""
    try:
        rows = []
        for event in events:
            error = db.session.get(ErrorLog, event["error_id"])
            if error is not None and is_routable(error):  # security reports have their own page
                rows.append((error, str(event.get("type") or "error.created")))
        return render_template("partials/_feed_message.html", rows=rows) if rows else None
    finally:
        db.session.remove()  # hand the connection back: the socket may stay open for hours


@sock.route("/ws", bp=bp)
def live(ws):
    subscription = feed.subscribe()
    db.session.remove()
    try:
        # Subscribed: from now on nothing is missed, so the page may say it is live.
        ws.send(render_template("partials/_feed_status.html"))
        while ws.connected:
            try:
                first = subscription.get(timeout=1.0)
            except queue.Empty:
                continue
            message = render_events(_read_burst(subscription, first))
            if message:
                ws.send(message)
    finally:
        feed.unsubscribe(subscription)
