"""What Slack sends to an app, built as Slack's documentation describes it: an interaction is a form
with one field, ``payload``, the JSON of a ``block_actions`` event; a slash command is a form of its
fields; both are signed with the app's signing secret (``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signed_headers(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def block_actions(message: dict, action_id: str, value: str, *, user_id: str, response_url: str) -> bytes:
    """The body Slack posts when someone clicks a button of ``message`` (as Slack stored it)."""
    button = next(e for block in _blocks(message) if block.get("type") == "actions"
                  for e in block["elements"] if e.get("action_id") == action_id)
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "lena", "name": "lena", "team_id": "T0HEART"},
        "api_app_id": "A0HEARTW", "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1712345678.000100", "channel_id": "C0INCIDENTS",
                      "is_ephemeral": False},
        "trigger_id": "1234567890.0987654321.abcdef", "team": {"id": "T0HEART", "domain": "heartwatch"},
        "enterprise": None, "is_enterprise_install": False,
        "channel": {"id": "C0INCIDENTS", "name": "incidents"},
        "message": {"type": "message", "subtype": "bot_message", "ts": "1712345678.000100", **message},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "b1", "text": button["text"], "value": value,
                     "type": "button", "action_ts": "1712345680.123456", **({"style": button["style"]}
                                                                           if "style" in button else {})}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def slash_command(text: str, *, user_id: str, response_url: str) -> bytes:
    return urllib.parse.urlencode({
        "token": "legacy-verification-token", "team_id": "T0HEART", "team_domain": "heartwatch",
        "channel_id": "C0INCIDENTS", "channel_name": "incidents", "user_id": user_id, "user_name": "lena",
        "command": "/heartwatch", "text": text, "api_app_id": "A0HEARTW", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": "1234567890.0987654321.abcdef",
    }).encode()


def _blocks(message: dict) -> list[dict]:
    blocks = list(message.get("blocks") or [])
    for attachment in message.get("attachments") or []:
        blocks += attachment.get("blocks") or []
    return blocks


def buttons(message: dict) -> dict[str, str]:
    """action id -> value of every button of a message."""
    return {e["action_id"]: e.get("value") for block in _blocks(message) if block.get("type") == "actions"
            for e in block["elements"]}
