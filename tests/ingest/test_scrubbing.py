"""Data scrubbing (app/ingest/scrubbing.py): Sentry's default rules, a service's settings, the raw payload."""
from __future__ import annotations

import orjson
import pytest

from app.ingest.incoming import MAX_NESTING, IncomingError
from app.ingest.scrubbing import FILTERED, luhn_valid, scrub_cards, scrub_event, scrubber_for
from app.ingest.settings import parse_settings

pytestmark = pytest.mark.unit


def _event(**fields) -> IncomingError:
    return IncomingError(service_id=1, source="api", error_type="E", message=fields.pop("message", "boom"),
                         **fields)


@pytest.mark.parametrize("key", [
    "password", "Password", "db_password", "passwd", "secret", "client_secret", "api_key", "apikey", "apiKey",
    "api-key", "X-Api-Key", "API KEY", "auth", "Authorization", "credentials", "mysql_pwd", "privatekey",
    "private_key", "token", "access_token", "csrftoken", "bearer", "session", "sessionid", "cookie", "Set-Cookie",
    "card[number]",
])
def test_sensitive_keys_as_sentry_matches_them(key):
    extra = {key: "value", "order_id": 42}
    scrub_event(_event(extra=extra))
    assert extra == {key: FILTERED, "order_id": 42}


@pytest.mark.parametrize("key", ["username", "email", "order_id", "filename", "api", "key", "pass"])
def test_plain_keys_are_kept(key):
    extra = {key: "value"}
    scrub_event(_event(extra=extra))
    assert extra == {key: "value"}


def test_whole_values_under_a_sensitive_key_go_and_null_stays():
    extra = {"credentials": {"user": "ada", "pin": 1234}, "token": None, "auth_enabled": True}
    scrub_event(_event(extra=extra))
    assert extra == {"credentials": FILTERED, "token": None, "auth_enabled": FILTERED}


def test_every_part_of_the_event_is_scrubbed():
    incoming = _event(
        message="charge of card 4111 1111 1111 1111 failed",
        request={"url": "https://shop.example/pay", "method": "POST",
                 "headers": {"Authorization": "Bearer abc", "Accept": "*/*", "X-Api-Key": "k-1"},
                 "cookies": {"sid": "s-1"}, "query_string": "step=2&access_token=t-1&page=3",
                 "data": {"card": {"number": "4242-4242-4242-4242"}, "new_password": "hunter2"}},
        user={"id": "u-7", "session_token": "st-1"},
        tags={"checkout": "v2", "session_id": "abc"},
        extra={"breadcrumbs": [{"category": "auth", "data": {"password": "p", "url": "/login"}}],
               "contexts": {"db": {"dsn_secret": "x", "host": "db"}}},
        exceptions=[{"type": "E", "value": "card 5555555555554444 declined", "module": None,
                     "frames": [{"function": "pay", "vars": {"password": "hunter2", "amount": 12}}]}],
    )
    assert scrub_event(incoming) == 13
    assert incoming.message == f"charge of card {FILTERED} failed"
    assert incoming.request["headers"] == {"Authorization": FILTERED, "Accept": "*/*", "X-Api-Key": FILTERED}
    assert incoming.request["cookies"] == FILTERED
    assert incoming.request["query_string"] == f"step=2&access_token={FILTERED}&page=3"
    assert incoming.request["data"] == {"card": {"number": FILTERED}, "new_password": FILTERED}
    assert incoming.user == {"id": "u-7", "session_token": FILTERED}
    assert incoming.tags == {"checkout": "v2", "session_id": FILTERED}
    assert incoming.extra["breadcrumbs"] == [{"category": "auth", "data": {"password": FILTERED, "url": "/login"}}]
    assert incoming.extra["contexts"] == {"db": {"dsn_secret": FILTERED, "host": "db"}}
    assert incoming.exceptions[0]["value"] == f"card {FILTERED} declined"
    assert incoming.exceptions[0]["frames"][0]["vars"] == {"password": FILTERED, "amount": 12}


def test_key_value_pairs_count_as_keys():
    extra = {"headers": [["Authorization", "Bearer abc"], ["Accept", "*/*"]], "query": [["token", "t"]]}
    scrub_event(_event(extra=extra))
    assert extra == {"headers": [["Authorization", FILTERED], ["Accept", "*/*"]], "query": [["token", FILTERED]]}


@pytest.mark.parametrize("number", ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
                                    "5555555555554444", "378282246310005", "6011111111111117",
                                    "2223003122003222"])
def test_card_numbers_are_filtered_inside_text(number):
    assert luhn_valid(number.replace(" ", "").replace("-", ""))
    assert scrub_cards(f"paid with {number}.") == f"paid with {FILTERED}."


@pytest.mark.parametrize("text", [
    "4111111111111112",  # fails the Luhn check
    "1733112000000",  # a millisecond timestamp: no vendor prefix
    "order 41111111111111110000 shipped",  # too long
    "4111 1111",
    "id 9876543210987654",
])
def test_digits_that_are_not_cards_are_kept(text):
    assert scrub_cards(text) is text


def test_numbers_that_are_not_strings_are_kept():
    extra = {"amount": 4111111111111111}
    scrub_event(_event(extra=extra))
    assert extra == {"amount": 4111111111111111}


def test_the_walk_is_bounded():
    deep = inner = {}
    for _ in range(MAX_NESTING + 5):
        inner["child"] = {}
        inner = inner["child"]
    inner["password"] = "hidden"
    scrub_event(_event(extra={"deep": deep}))
    assert "hidden" not in orjson.dumps(deep).decode()


def test_the_raw_payload_keeps_nothing_that_was_scrubbed():
    body = {"error_type": "E", "message": "m", "request": {"headers": [["Cookie", "sid=1"]]},
            "extra": {"api_key": "k-1", "note": "card 4111111111111111"}, "tags": {"ok": "yes"}}
    incoming = _event(raw_payload=orjson.dumps(body).decode())
    scrub_event(incoming)
    stored = orjson.loads(incoming.raw_payload)
    assert stored["request"]["headers"] == [["Cookie", FILTERED]]
    assert stored["extra"] == {"api_key": FILTERED, "note": f"card {FILTERED}"}
    assert stored["tags"] == {"ok": "yes"}


def test_a_raw_payload_with_nothing_to_scrub_is_kept_as_sent():
    raw = '{"message":  "plain",\n "tags": {"a": "b"}}'
    incoming = _event(raw_payload=raw)
    scrub_event(incoming)
    assert incoming.raw_payload is raw


def test_a_raw_payload_cut_at_its_limit_is_scrubbed_as_text():
    raw = '{"extra": {"password": "hunter2", "card": "4111111111111111", "nested": {"token": 12'
    incoming = _event(raw_payload=raw + "…[truncated]")
    scrub_event(incoming)
    assert "hunter2" not in incoming.raw_payload and "4111111111111111" not in incoming.raw_payload
    assert '"token":"[Filtered]"' in incoming.raw_payload


def test_a_service_adds_keys_and_safe_fields():
    settings = parse_settings({"sensitive_fields": ["iban"], "safe_fields": ["author", "session_count"]})
    extra = {"iban": "DE89", "payer_iban": "DE12", "author": "ada", "session_count": 3, "sessionid": "s"}
    scrub_event(_event(extra=extra), settings.scrubber)
    assert extra == {"iban": FILTERED, "payer_iban": FILTERED, "author": "ada", "session_count": 3,
                     "sessionid": FILTERED}


def test_scrubbing_off_still_filters_credential_headers_and_cookies():
    scrubber = scrubber_for(enabled=False)
    incoming = _event(message="card 4111111111111111",
                      request={"headers": {"Authorization": "Bearer abc", "Accept": "*/*"}, "cookies": "sid=1"},
                      extra={"password": "kept"},
                      raw_payload='{"request": {"headers": {"authorization": "Bearer abc"}}, "password": "kept"}')
    scrub_event(incoming, scrubber)
    assert incoming.request == {"headers": {"Authorization": FILTERED, "Accept": "*/*"}, "cookies": FILTERED}
    assert incoming.extra == {"password": "kept"}
    assert incoming.message == "card 4111111111111111"
    assert orjson.loads(incoming.raw_payload) == {"request": {"headers": {"authorization": FILTERED}},
                                                  "password": "kept"}


def test_assignments_inside_text_lose_their_values():
    scrubber = scrubber_for()
    assert scrubber.text("GET /login?next=/cart&access_token=abc#top") == f"GET /login?next=/cart&access_token={FILTERED}#top"
    assert scrubber.text("sid=1; session=abc; theme=dark") == f"sid=1; {FILTERED.join(['session=', ''])}; theme=dark"
    assert scrubber.text("{'QUERY_STRING': 'a=1&password=x'}") == f"{{'QUERY_STRING': 'a=1&password={FILTERED}'}}"
    for text in ("x == 1", "token= ", "a=b&c=d"):
        assert scrubber.text(text) is text
    extra = {"url": "https://shop.example/pay?card=1&apikey=k-1"}
    scrub_event(_event(extra=extra))
    assert extra == {"url": f"https://shop.example/pay?card=1&apikey={FILTERED}"}


def test_with_a_clean_whole_raw_payload_only_derived_text_is_checked():
    raw = orjson.dumps({"message": "timeout", "extra": {"note": "button#token-submit", "url": "/account/sessions"}})
    incoming = _event(message="timeout card 4111111111111111", raw_payload=raw.decode(),
                      extra={"note": "button#token-submit", "url": "/account/sessions",
                             "user_report": {"comments": "my password is x", "password": "x"},
                             "log_message": "retry with token=abc"})
    assert scrubber_for().clean_text(incoming.raw_payload)
    scrub_event(incoming)
    assert incoming.raw_payload == raw.decode()
    assert incoming.message == f"timeout card {FILTERED}"
    assert incoming.extra == {"note": "button#token-submit", "url": "/account/sessions",
                              "user_report": {"comments": "my password is x", "password": FILTERED},
                              "log_message": f"retry with token={FILTERED}"}


@pytest.mark.parametrize("raw", [
    '{"extra": {"Api-Key": "k"}}', '{"headers": [["X-Auth", "k"]]}', '{"url": "/x?session_id=1"}',
    '{"note": "paid 4111 1111 1111 1111"}', '{"extra": {"ok": 1}, "note": "x"}…[truncated]',
])
def test_a_raw_payload_with_anything_to_filter_is_not_clean(raw):
    extra = {"password": "p"}
    incoming = _event(raw_payload=raw, extra=extra)
    scrub_event(incoming)
    assert extra == {"password": FILTERED}
