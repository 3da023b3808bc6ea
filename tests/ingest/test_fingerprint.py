"""Grouping: which events are the same error."""
from __future__ import annotations

import random
import re

import pytest

from app.ingest.fingerprint import MASK_LIMIT, compute_fingerprint, culprit, mask_message
from app.ingest.incoming import IncomingError, error_chain
from app.ingest.stacktraces import make_frame
from bench.masking import random_message


def event(error_type="ValueError", message="bad value", frames=None, fingerprint=None, service_id=1):
    incoming = IncomingError(service_id=service_id, source="api", error_type=error_type, message=message,
                             fingerprint=fingerprint)
    if frames is not None:
        incoming.exceptions = error_chain(error_type, message, frames)
    return incoming


def app_frames(*lines, function="save", filename="/srv/app/orders/models.py"):
    return [make_frame(filename="/usr/lib/python3.11/threading.py", function="run", lineno=1000),
            make_frame(filename="/srv/app/orders/views.py", module="orders.views", function="create",
                       lineno=lines[0], in_app=True),
            make_frame(filename=filename, module="orders.models", function=function, lineno=lines[1], in_app=True)]


def test_fingerprint_is_a_stable_40_character_digest():
    first = compute_fingerprint(event())
    assert len(first) == 40 and int(first, 16) >= 0
    assert compute_fingerprint(event()) == first


def test_line_numbers_do_not_split_a_group():
    # An edit above the bug moves every line; it is still the same error.
    assert compute_fingerprint(event(frames=app_frames(10, 20))) == compute_fingerprint(event(frames=app_frames(14, 31)))


def test_message_does_not_split_a_group_with_frames():
    one = event(message="order 1 has no customer", frames=app_frames(10, 20))
    two = event(message="order 2 has no customer", frames=app_frames(10, 20))
    assert compute_fingerprint(one) == compute_fingerprint(two)


def test_a_different_in_app_function_is_a_different_error():
    assert compute_fingerprint(event(frames=app_frames(1, 2))) != compute_fingerprint(
        event(frames=app_frames(1, 2, function="delete")))


def test_a_different_type_is_a_different_error():
    assert compute_fingerprint(event(frames=app_frames(1, 2))) != compute_fingerprint(
        event("KeyError", frames=app_frames(1, 2)))


def test_library_frames_are_ignored_when_in_app_frames_exist():
    frames = app_frames(1, 2)
    changed = [make_frame(filename="/usr/lib/python3.11/socketserver.py", function="serve", lineno=5), *frames]
    assert compute_fingerprint(event(frames=frames)) == compute_fingerprint(event(frames=changed))


def test_library_only_stacks_group_by_their_call_path():
    frames = [make_frame(filename="node_modules/react-dom/cjs/react-dom.js", function="commitRoot", lineno=1),
              make_frame(filename="node_modules/react-dom/cjs/react-dom.js", function="flushSync", lineno=2)]
    moved = [dict(f, lineno=f["lineno"] + 100) for f in frames]
    assert compute_fingerprint(event("TypeError", frames=frames)) == compute_fingerprint(event("TypeError", frames=moved))
    assert compute_fingerprint(event("TypeError", frames=frames)) != compute_fingerprint(event("TypeError", frames=frames[:1]))


def test_bundle_hashes_and_hosts_in_browser_urls_do_not_split_a_group():
    def js(url):
        return [make_frame(filename=url, abs_path=url, function="OrderList", lineno=2, colno=10, in_app=True)]

    before = js("https://shop.example.com/static/js/main.4f3a2b1c.js")
    after = js("https://cdn.example.net/static/js/main.77e0d1aa.js?v=2")
    assert compute_fingerprint(event("TypeError", frames=before)) == compute_fingerprint(event("TypeError", frames=after))


def test_without_frames_the_masked_message_groups():
    one = event("TimeoutError", "request 4711 to 10.0.0.5 timed out after 30.5 s")
    two = event("TimeoutError", "request 815 to 10.0.0.9 timed out after 12 s")
    other = event("TimeoutError", "pool exhausted")
    assert compute_fingerprint(one) == compute_fingerprint(two)
    assert compute_fingerprint(one) != compute_fingerprint(other)


MASKED = [
    ("user 42 not found", "user <n> not found"),
    ("no row 3fa85f64-5717-4562-b3fc-2c963f66afa6", "no row <uuid>"),
    ("mail to ana.lopez+shop@example.co.uk bounced", "mail to <email> bounced"),
    ("segfault at 0x7ffd5e8c", "segfault at <hex>"),
    ("object deadbeefcafe01 missing", "object <hex> missing"),
    ("Duplicate entry 'ana@example.com' for key 'users_email_unique'",
     "Duplicate entry '<value>' for key '<value>'"),
    ('column "price" is null', 'column "<value>" is null'),
]


@pytest.mark.parametrize(("message", "masked"), MASKED)
def test_masking_of_variable_parts(message, masked):
    assert mask_message(message) == masked


# Masked messages are part of stored fingerprints: whatever mask_message becomes, it must give what these
# seven substitutions, one after the other, give (each one sees the tokens the earlier ones left).
_SEVEN_PASSES = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"), "<email>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b[0-9a-fA-F]{12,}\b"), "<hex>"),
    (re.compile(r"'[^'\n]{0,200}'"), "'<value>'"),
    (re.compile(r"\"[^\"\n]{0,200}\""), "\"<value>\""),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]


def seven_passes(message: str) -> str:
    text = (message or "")[:MASK_LIMIT]
    for pattern, replacement in _SEVEN_PASSES:
        text = pattern.sub(replacement, text)
    return text.strip()


def test_addresses_read_as_one_token_where_people_read_the_mask():
    message = "could not connect to 10.0.0.5:5432 (from 192.168.10.200)"
    assert mask_message(message, addresses=True) == "could not connect to <ip>:<n> (from <ip>)"
    assert mask_message("version 1.2.3.4.5 of 3.14", addresses=True) == "version <n>.<n>.<n> of <n>"
    # What fingerprints hash stays as it was stored.
    assert mask_message(message) == seven_passes(message) == "could not connect to <n>.<n>:<n> (from <n>.<n>)"


def test_masking_gives_what_the_seven_substitutions_give():
    rng = random.Random(20261201)
    messages = [message for message, _ in MASKED] + [random_message(rng) for _ in range(10_000)]
    differ = [m for m in messages if mask_message(m) != seven_passes(m)]
    assert differ == []


def test_masking_is_bounded_on_hostile_input():
    text = "'" + "a" * 100_000
    assert len(mask_message(text)) <= MASK_LIMIT


def test_client_fingerprint_wins():
    one = event("ValueError", "a", frames=app_frames(1, 2), fingerprint=["checkout", "payment-declined"])
    two = event("KeyError", "b", fingerprint=["checkout", "payment-declined"])
    assert compute_fingerprint(one) == compute_fingerprint(two)
    assert compute_fingerprint(one) != compute_fingerprint(event("ValueError", "a", frames=app_frames(1, 2)))


def test_client_fingerprint_never_collides_with_a_computed_one():
    computed = event("ValueError", "a")
    same_parts = event("x", "y", fingerprint=["ValueError", "a"])
    assert compute_fingerprint(computed) != compute_fingerprint(same_parts)


def test_default_marker_extends_the_computed_fingerprint():
    plain = event(frames=app_frames(1, 2))
    per_tenant = event(frames=app_frames(1, 2), fingerprint=["{{ default }}", "tenant-7"])
    other_tenant = event(frames=app_frames(1, 2), fingerprint=["{{ default }}", "tenant-8"])
    assert len({compute_fingerprint(plain), compute_fingerprint(per_tenant), compute_fingerprint(other_tenant)}) == 3


def test_culprit_is_the_newest_in_app_frame():
    assert culprit(event(frames=app_frames(1, 2))) == "save in orders.models"
    assert culprit(event()) is None


def test_culprit_of_a_jvm_error_reads_as_java_prints_the_frame():
    from pathlib import Path

    from app.ingest.sources.java import normalise as java_event

    # printStackTrace() of a real Java 17 run (tests/ingest/recorded/RouteImport.java).
    text = (Path(__file__).parent / "recorded" / "java17-route-import.txt").read_text()
    assert culprit(java_event({"stack_trace": text}, 1)) == "RouteImport.planRoute (RouteImport.java:20)"
    kotlin = event(frames=app_frames(1, 2))
    kotlin.platform = "kotlin"
    assert culprit(kotlin).startswith("orders.models.save (")
