"""SMS replies through Twilio's inbound webhook: ``ACK 1a2b3c4d`` or ``RESOLVE 1a2b3c4d`` (the error's
short reference, as Heartwatch's SMS shows it). The sender is the developer whose phone number it is;
the answer goes through app/triage/answers.py like every other channel's. The view checks Twilio's
signature (app/notify/inbound.py) and answers TwiML with the sentence returned here."""
from __future__ import annotations

from xml.sax.saxutils import escape

from app.triage import answers
from app.triage.changes import TriageError

VERBS = {"ACK": "acknowledge", "ACKNOWLEDGE": "acknowledge", "RESOLVE": "resolve"}
HELP = "Reply ACK <id> or RESOLVE <id>, with the id from Heartwatch's message."
UNKNOWN_SENDER = "This number is not a Heartwatch developer's: nothing was changed."


def handle_reply(sender: str, text: str) -> str:
    """Act on one SMS reply; returns what to text back."""
    words = (text or "").split()
    if len(words) != 2 or words[0].upper() not in VERBS:
        return HELP
    developer = answers.developer_by_phone(sender)
    if developer is None:
        return UNKNOWN_SENDER
    try:
        error = answers.find_error(words[1])
        return answers.answer(error, developer, VERBS[words[0].upper()], via="sms")
    except TriageError as exc:
        return f"Not done: {exc.message}."


def twiml(text: str) -> str:
    """Twilio's messaging answer: one message back to the sender."""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
