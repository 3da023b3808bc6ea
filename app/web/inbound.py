"""What Slack and Twilio post back: Slack's button clicks and slash command, and SMS replies.

HTTP only: each request proves where it came from (app/notify/inbound.py) before its form is read,
then one function of app/notify acts. A bad or stale signature is a 401 (Slack) or 403 (Twilio) and
changes nothing."""
from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, jsonify, request

from app.notify import inbound, slack_answers, sms_answers
from app.web.errors import ApiError, register_json_errors

bp = Blueprint("inbound", __name__)
register_json_errors(bp)
MAX_BODY = 256 * 1024


def _raw_body() -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
    # Read before the form is parsed: the signature covers the bytes exactly as sent.
    return request.get_data(cache=True)


def _slack_checked() -> None:
    inbound.check_slack(current_app.config.get("SLACK_SIGNING_SECRET"), request.headers, _raw_body(), time.time())


@bp.post("/slack/actions/")
def slack_actions():
    _slack_checked()
    try:
        payload = json.loads(request.form.get("payload") or "")
    except ValueError:
        raise ApiError(400, "payload must be the JSON of an interaction", field="payload") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "payload must be a JSON object", field="payload")
    if payload.get("type") == "block_actions":
        slack_answers.handle_block_actions(payload)
    # Slack wants an empty 200 at once; the message is updated through its response_url.
    return "", 200


@bp.post("/slack/commands/")
def slack_command():
    _slack_checked()
    return jsonify(slack_answers.handle_command(request.form))


@bp.post("/twilio/sms/")
def twilio_sms():
    _raw_body()
    query = request.query_string.decode("latin-1")
    # Twilio signs the URL it called: the public one, which a proxy in front may hide from request.url.
    url = current_app.config["BASE_URL"] + request.path + (f"?{query}" if query else "")
    inbound.check_twilio(current_app.config.get("TWILIO_AUTH_TOKEN"), url, list(request.form.items(multi=True)),
                         request.headers.get("X-Twilio-Signature"))
    text = sms_answers.handle_reply(request.form.get("From", ""), request.form.get("Body", ""))
    return Response(sms_answers.twiml(text), mimetype="text/xml")
