"""Answers from Slack: the Acknowledge, Resolve and Assign to me buttons on Heartwatch's messages
(``block_actions`` payloads) and the ``/heartwatch`` slash command.

The views check Slack's signature (app/notify/inbound.py) and hand the parsed request here. Whoever
clicked or typed is the developer whose Slack member id is theirs (set on their preferences or by a
lead); the action goes through app/triage/answers.py like every other channel's. A button's message is
updated in place through the payload's ``response_url`` (after commit, by a job: Slack wants its answer
within three seconds), keeping the buttons while the error is open and saying what was done.
"""
from __future__ import annotations

import copy
import json
import logging

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import ErrorLog, Service
from app.notify.channels.base import TransportError, http_post
from app.notify.channels.slack import ANSWER_BUTTONS, escape
from app.platform import hooks
from app.triage import answers, oncall
from app.triage.changes import TriageError

log = logging.getLogger("heartwatch.notify")
BUTTONS = {action_id: answer for action_id, _, answer in ANSWER_BUTTONS}
STATUS_BLOCK = "hw_status"
NOT_LINKED = ("Your Slack account is not linked to a Heartwatch developer: add your Slack member id "
              "on your Heartwatch preferences page.")
COMMAND_HELP = ("Usage: `/heartwatch ack <error id>` (the first 8 characters are enough), "
                "`/heartwatch resolve <error id>`, `/heartwatch oncall <service>`.")


def _reply(url: str | None, body: dict) -> None:
    if url:
        hooks.after_commit("chat_reply", url=url, body=body)


def _note(text: str) -> dict:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def handle_block_actions(payload: dict) -> None:
    """A click on one of the answer buttons: act as the clicker and update the message (or tell them why not)."""
    response_url = payload.get("response_url") if isinstance(payload.get("response_url"), str) else None
    action = next((a for a in payload.get("actions") or [] if isinstance(a, dict) and a.get("action_id") in BUTTONS),
                  None)
    if action is None:
        return  # "Open in Heartwatch" is a link: Slack tells us of the click, there is nothing to do
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    developer = answers.developer_by_slack_user(str(user.get("id") or ""))
    if developer is None:
        _reply(response_url, _note(NOT_LINKED))
        return
    error_id = str(action.get("value") or "")[:36]
    error = db.session.get(ErrorLog, error_id) if error_id else None
    if error is None:
        _reply(response_url, _note("That error is gone from Heartwatch."))
        return
    try:
        sentence = answers.answer(error, developer, BUTTONS[action["action_id"]], via="slack")
    except TriageError as exc:
        _reply(response_url, _note(f"Not done: {exc.message}."))
        return
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    _reply(response_url, updated_message(message, sentence, error.is_open))


def updated_message(message: dict, sentence: str, still_open: bool) -> dict:
    """The clicked message as it should read now: what was done in its last line, the answer buttons
    kept only while the error is open."""
    attachments = copy.deepcopy(message.get("attachments") or [])
    blocks = copy.deepcopy(message.get("blocks") or [])

    def rework(items: list) -> list:
        kept = []
        for block in items:
            if not isinstance(block, dict) or block.get("block_id") == STATUS_BLOCK:
                continue
            if block.get("type") == "actions" and not still_open:
                block["elements"] = [e for e in block.get("elements") or [] if e.get("action_id") not in BUTTONS]
                if not block["elements"]:
                    continue
            kept.append(block)
        kept.append({"type": "context", "block_id": STATUS_BLOCK,
                     "elements": [{"type": "mrkdwn", "text": escape(sentence)}]})
        return kept

    if attachments and isinstance(attachments[0], dict) and attachments[0].get("blocks"):
        attachments[0]["blocks"] = rework(attachments[0]["blocks"])
    else:
        blocks = rework(blocks)
    body: dict = {"replace_original": True, "text": message.get("text") or sentence}
    if attachments:
        body["attachments"] = attachments
    if blocks:
        body["blocks"] = blocks
    return body


def handle_command(form) -> dict:
    """``/heartwatch ack|resolve <error>`` and ``/heartwatch oncall <service>``: the answer Slack shows."""
    words = (form.get("text") or "").split()
    verb = words[0].lower() if words else ""
    if verb in ("ack", "acknowledge", "resolve") and len(words) == 2:
        developer = answers.developer_by_slack_user(form.get("user_id"))
        if developer is None:
            return _note(NOT_LINKED)
        try:
            error = answers.find_error(words[1])
            sentence = answers.answer(error, developer, "resolve" if verb == "resolve" else "acknowledge",
                                      via="slack")
        except TriageError as exc:
            return _note(f"Not done: {exc.message}.")
        return {"response_type": "in_channel",
                "text": f"{escape(sentence)} ({escape(error.error_type)} in {escape(error.service.name)}, "
                        f"`{answers.short_ref(error.id)}`)"}
    if verb == "oncall" and len(words) >= 2:
        name = " ".join(words[1:])[:120]
        service = db.session.execute(select(Service).where(or_(Service.slug == name.lower(),
                                                               func.lower(Service.name) == name.lower()))
                                     .limit(1)).scalar_one_or_none()
        if service is None:
            return _note(f"No service {escape(name)}.")
        people = oncall.on_call_for(service)
        who = ", ".join(escape(d.name) for d in people) or "nobody"
        lead = f" Lead: {escape(service.lead.name)}." if service.lead else ""
        return _note(f"On call for {escape(service.name)} now: {who}.{lead}")
    return _note(COMMAND_HELP)


def post_reply(url: str, body: dict) -> bool:
    """POST a reply to a response_url (through the outbound guard: it came in a request)."""
    try:
        answer = http_post(url, json.dumps(body).encode(), {"Content-Type": "application/json"}, 10)
    except TransportError as exc:
        log.warning("Slack response_url: %s", exc)
        return False
    if not 200 <= answer.status < 300:
        log.warning("Slack response_url answered %s", answer.status)
    return 200 <= answer.status < 300
