"""The OpenAPI part for what Slack and Twilio post back (app/web/inbound.py): their own wire formats,
signed their own way, so written by hand. docs/oncall.md says how to set up the Slack app and the number."""
from __future__ import annotations

from app.notify.channels.slack import ANSWER_BUTTONS
from app.web.openapi_ingest import STR, error_response, json_content, ref

FORM = "application/x-www-form-urlencoded"
SLACK_HEADERS = [
    {"name": "X-Slack-Request-Timestamp", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"},
     "description": "Unix time of the request; more than five minutes away from Heartwatch's clock is refused."},
    {"name": "X-Slack-Signature", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^v0=[0-9a-f]{64}$"},
     "description": "`v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`, keyed by SLACK_SIGNING_SECRET."},
]
SLACK_REFUSALS = {
    "401": error_response("No signature, a wrong one, or a timestamp more than five minutes off: nothing is done."),
    "413": error_response("The body is larger than 256 KiB."),
    "503": error_response("SLACK_SIGNING_SECRET is not set: Slack's answers are off."),
}
REPLY = {
    "type": "object", "required": ["response_type", "text"],
    "properties": {"response_type": {"type": "string", "enum": ["ephemeral", "in_channel"]},
                   "replace_original": {"type": "boolean"}, "text": STR},
}


def paths() -> dict:
    actions = ", ".join(f"`{action_id}` ({label})" for action_id, label, _ in ANSWER_BUTTONS)
    return {
        "/webhook/slack/actions/": {"post": {
            "tags": ["on-call"], "summary": "Slack interactivity: a click on an answer button", "security": [],
            "description": "Slack's Interactivity Request URL. The form's one field, `payload`, is the JSON of a "
                           f"`block_actions` interaction; the buttons are {actions}, each with the error id as "
                           "its `value`. The clicker is the developer whose Slack member id is `user.id`. The "
                           "answer is an empty 200 at once; the message is then updated in place through the "
                           "payload's `response_url` (or the clicker is told, privately, why nothing was done).",
            "parameters": SLACK_HEADERS,
            "requestBody": {"required": True, "content": {FORM: {"schema": {
                "type": "object", "required": ["payload"],
                "properties": {"payload": {**STR, "description": "JSON of the interaction (`type`, `user`, "
                                                                 "`actions`, `message`, `response_url`, ...)."}}}}}},
            "responses": {"200": {"description": "Taken (empty body)."},
                          "400": error_response("`payload` is not a JSON object."), **SLACK_REFUSALS},
        }},
        "/webhook/slack/commands/": {"post": {
            "tags": ["on-call"], "summary": "The /heartwatch slash command", "security": [],
            "description": "`/heartwatch ack <error id>` and `/heartwatch resolve <error id>` (the id's first eight "
                           "characters are enough), `/heartwatch oncall <service slug or name>`; anything else "
                           "answers the usage. Slack's slash-command form (`command`, `text`, `user_id`, "
                           "`response_url`, ...).",
            "parameters": SLACK_HEADERS,
            "requestBody": {"required": True, "content": {FORM: {"schema": {
                "type": "object", "required": ["command", "text", "user_id"],
                "properties": {"command": STR, "text": STR, "user_id": STR, "response_url": STR}}}}},
            "responses": {"200": {"description": "What Slack shows: to the team when something was done, else "
                                                 "only to whoever typed it.", "content": json_content(ref("SlackReply"))},
                          **SLACK_REFUSALS},
        }},
        "/webhook/twilio/sms/": {"post": {
            "tags": ["on-call"], "summary": "An SMS reply (Twilio's incoming-message webhook)", "security": [],
            "description": "`ACK <error id>` or `RESOLVE <error id>` (the first eight characters, as the SMS shows "
                           "them), from a developer's phone number (`From`). The signature covers the public URL "
                           "(HEARTWATCH_BASE_URL and this path) and every parameter.",
            "parameters": [{"name": "X-Twilio-Signature", "in": "header", "required": True, "schema": STR,
                            "description": "Base64 HMAC-SHA1 of the URL followed by each POST parameter, sorted by "
                                           "name, as name and value; keyed by TWILIO_AUTH_TOKEN."}],
            "requestBody": {"required": True, "content": {FORM: {"schema": {
                "type": "object", "required": ["From", "Body"], "properties": {"From": STR, "Body": STR}}}}},
            "responses": {"200": {"description": "TwiML: one message back to the sender, saying what was done "
                                                 "or why nothing was.",
                                  "content": {"text/xml": {"schema": STR}}},
                          "403": error_response("No signature or a wrong one: nothing is done."),
                          "413": error_response("The body is larger than 256 KiB."),
                          "503": error_response("TWILIO_AUTH_TOKEN is not set.")},
        }},
    }


SCHEMAS = {"SlackReply": REPLY}
