"""The quick tests that spare an event the scrubbing walk (app/ingest/clean_payload.py) against the walk
itself: on varied payloads, through the real normalisers, the event scrubbed with the ingest view's look at
the parsed tree, and with the text test, is the event the full walk gives."""
from __future__ import annotations

import copy
import dataclasses
import json
import random

import orjson
import pytest

from app.ingest.incoming import InvalidPayload
from app.ingest.scrubbing import FILTERED, ParsedPayload, check_parsed_payload, scrub_event, scrubber_for
from app.ingest.sources import NORMALISERS
from app.ingest.sources import sentry as sentry_source

pytestmark = pytest.mark.unit

SECRET_KEYS = ["password", "Api-Key", "X-Auth-Token", "sessionid", "client_secret", "Set-Cookie", "card[number]",
               "mysql_pwd", "privateKey", "bearer"]
PLAIN_KEYS = ["order_id", "path", "step", "user_name", "region", "attempt", "note", "filename", "key", "pass"]
CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "4242424242424242"]


def _escape_letters(text: str, rng: random.Random) -> str:
    """JSON text with some ASCII letters and digits inside strings written as \\u escapes, as a client's
    encoder may write them: the same JSON."""
    out, in_string, index = [], False, 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            width = 6 if text[index + 1] == "u" else 2
            out.append(text[index:index + width])
            index += width
            continue
        if char == '"':
            in_string = not in_string
        elif in_string and char.isalnum() and char.isascii() and rng.random() < 0.2:
            char = f"\\u{ord(char):04x}"
        out.append(char)
        index += 1
    return "".join(out)


def _value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(CARDS)
    if roll < 0.12:
        return int(rng.choice(CARDS).replace(" ", "").replace("-", ""))
    if roll < 0.2:
        return f"{rng.choice(PLAIN_KEYS + SECRET_KEYS)}={rng.choice(['x1', '', FILTERED, 'v w'])}&page=2"
    if roll < 0.25:
        return f"SELECT * FROM sessions WHERE token_id = {rng.randrange(10**6)}"
    if roll < 0.3:
        return [rng.choice(PLAIN_KEYS + SECRET_KEYS), rng.choice(["v", None, 7])]
    if roll < 0.34:
        return rng.choice(["pass\x00word", "41111111\x0011111111", "to\x00ken=1"])
    if roll < 0.5 and depth < 3:
        return {rng.choice(PLAIN_KEYS + SECRET_KEYS[:3]): _value(rng, depth + 1) for _ in range(rng.randrange(1, 4))}
    if roll < 0.6 and depth < 3:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))]
    return rng.choice(["ok", "button#token-submit", "/account/sessions", 1701234567890, 3.25, True, None,
                       "timeout after 30 s", "é and ünïcode", "a=1; b=2"])


def _payload(rng: random.Random) -> dict:
    keys = PLAIN_KEYS if rng.random() < 0.5 else PLAIN_KEYS + SECRET_KEYS
    extra = {rng.choice(keys): _value(rng) for _ in range(rng.randrange(0, 6))}
    payload = {"error_type": "ValueError", "message": rng.choice(["boom", "bad card 4111111111111111",
                                                                 "retry with token=abc", "timeout"]),
               "extra": extra, "tags": {rng.choice(keys): "v" for _ in range(rng.randrange(0, 3))}}
    if rng.random() < 0.5:
        payload["request"] = {"url": f"https://shop.example/pay?{rng.choice(keys)}=1",
                              "headers": {rng.choice(["Accept", "Authorization", "Cookie", "X-Api-Key"]): "v"}}
    if rng.random() < 0.3:
        payload["user"] = {rng.choice(keys): "u-1", "id": "7"}
    return payload


def _sentry_event(payload: dict) -> dict:
    return {"message": payload["message"], "extra": payload["extra"], "tags": payload["tags"],
            "request": payload.get("request"), "user": payload.get("user"),
            "exception": {"values": [{"type": "ValueError", "value": payload["message"]}]}}


def _events(text: str, tree: dict, source: str):
    try:
        if source == "sentry":
            made = [sentry_source.normalise(copy.deepcopy(tree), 1, event_id="a" * 32) for _ in range(3)]
        else:
            made = [NORMALISERS[source](copy.deepcopy(tree), 1) for _ in range(3)]
    except InvalidPayload:
        return None
    for incoming in made:
        incoming.raw_payload = text
    return made


SETTINGS = [scrubber_for(), scrubber_for(False), scrubber_for(True, ("order_id",), ("sessionid", "note"))]


@pytest.mark.parametrize("seed", range(12))
def test_the_quick_tests_give_what_the_full_walk_gives(seed):
    rng = random.Random(seed)
    compared = clean = 0
    for _ in range(60):
        payload = _payload(rng)
        source = rng.choice(["api", "generic", "sentry"])
        if source == "sentry":
            payload = _sentry_event(payload)
        text = json.dumps(payload, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.3:
            text = _escape_letters(text, rng)
        tree = orjson.loads(text)
        scrubber = rng.choice(SETTINGS)
        parsed = check_parsed_payload(scrubber, copy.deepcopy(tree), text)
        events = _events(text, tree, source)
        if events is None:
            continue
        by_tree, by_text, by_walk = events
        scrub_event(by_tree, scrubber, parsed)
        scrub_event(by_text, scrubber)
        scrub_event(by_walk, scrubber, ParsedPayload(scrubber, text, clean=False))  # the walk, always
        walked = dataclasses.asdict(by_walk)
        assert dataclasses.asdict(by_tree) == walked, text
        assert dataclasses.asdict(by_text) == walked, text
        compared += 1
        clean += parsed.clean
    assert compared > 30 and 0 < clean < compared  # both ways were taken


@pytest.mark.parametrize("text", [
    '{"extra": {"p\\u0061ssword": "hunter2"}}',
    '{"extra": {"note": "card 4111\\u00201111 1111 1111"}}',
    '{"extra": {"note": "\\u0034111111111111111"}}',
    '{"extra": {"pass\\u0000word": "hunter2"}}',
    '{"extra": {"url": "/x?access_t\\u006fken=abc"}}',
    '{"extra": {"headers": [["Authorization", "Bearer abc"]]}}',
    '{"extra": {"url": "/x?a=1&session_id=abc"}}',
])
def test_what_escapes_or_assignments_hide_is_not_taken_for_clean(text):
    scrubber = scrubber_for()
    assert not scrubber.clean_tree(orjson.loads(text), text)
    assert not scrubber.clean_text(text)
    incoming = NORMALISERS["api"]({"error_type": "E", "message": "m", **orjson.loads(text)}, 1)
    incoming.raw_payload = text
    scrub_event(incoming, scrubber, check_parsed_payload(scrubber, orjson.loads(text), text))
    assert FILTERED in orjson.dumps(incoming.extra).decode() or FILTERED in incoming.raw_payload


def test_a_clean_payload_is_clean_by_both_tests():
    text = orjson.dumps({"extra": {"note": "button#token-submit", "query": "SELECT 1 FROM sessions WHERE a = 1",
                                   "ts": 1701234567, "url": "/x?page=2"}}).decode()
    scrubber = scrubber_for()
    assert scrubber.clean_tree(orjson.loads(text), text) and scrubber.clean_text(text)
