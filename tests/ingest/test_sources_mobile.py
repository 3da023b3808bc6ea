"""POST /webhook/mobile/: Flutter/Dart errors, normalised."""
from __future__ import annotations

import pytest

from app.ingest.incoming import InvalidPayload
from app.ingest.sources.mobile import normalise

FLUTTER_STACK = """#0      int._throwFormatException (dart:core-patch/integers_patch.dart:195:5)
#1      int.parse (dart:core-patch/integers_patch.dart:50:14)
#2      CartPage._parseQuantity (package:shop_app/pages/cart_page.dart:88:16)
#3      CartPage.build.<anonymous closure> (package:shop_app/pages/cart_page.dart:42:20)
#4      _InkResponseState.handleTap (package:flutter/src/material/ink_well.dart:1170:21)
#5      GestureRecognizer.invokeCallback (package:flutter/src/gestures/recognizer.dart:351:24)
<asynchronous suspension>
"""

# What FlutterError.onError / PlatformDispatcher.onError hand to the app's reporter.
FLUTTER_EVENT = {
    "exception": "FormatException: Invalid radix-10 number (at character 1)",
    "stackTrace": FLUTTER_STACK,
    "library": "gesture library",
    "context": "while handling a gesture",
    "platform": "android",
    "appVersion": "2.3.1+45",
    "device": {"model": "Pixel 7", "osVersion": "14", "locale": "de_DE"},
    "user": {"id": "c-1009"},
    "environment": "production",
}


def test_flutter_error_with_a_dart_stack():
    incoming = normalise(dict(FLUTTER_EVENT), 6)
    assert incoming.source == "mobile" and incoming.platform == "dart"
    assert incoming.error_type == "FormatException"
    assert incoming.message == "Invalid radix-10 number (at character 1)"
    assert incoming.release == "2.3.1+45"
    assert incoming.tags == {"os": "android", "library": "gesture library"}
    assert incoming.extra == {"context": "while handling a gesture",
                              "device": {"model": "Pixel 7", "osVersion": "14", "locale": "de_DE"}}
    assert incoming.user == {"id": "c-1009"} and incoming.environment == "production"


def test_dart_frames_oldest_first_with_app_package_in_app():
    frames = normalise(dict(FLUTTER_EVENT), 6).frames
    assert [f["function"] for f in frames] == [
        "GestureRecognizer.invokeCallback", "_InkResponseState.handleTap", "CartPage.build.<anonymous closure>",
        "CartPage._parseQuantity", "int.parse", "int._throwFormatException"]
    assert [f["in_app"] for f in frames] == [False, False, True, True, False, False]
    assert frames[3]["module"] == "shop_app" and frames[3]["lineno"] == 88


def test_type_and_message_given_apart():
    incoming = normalise({"exception": "StateError", "message": "Bad state: No element",
                          "stackTrace": FLUTTER_STACK}, 6)
    assert (incoming.error_type, incoming.message) == ("StateError", "Bad state: No element")
    assert incoming.exceptions[-1]["type"] == "StateError"


def test_an_exception_text_that_is_a_sentence_is_a_flutter_error():
    incoming = normalise({"exception": "Null check operator used on a null value"}, 6)
    assert incoming.error_type == "FlutterError"
    assert incoming.message == "Null check operator used on a null value"
    assert incoming.exceptions == []


def test_message_alone_is_enough():
    incoming = normalise({"message": "RenderFlex overflowed by 42 pixels on the right."}, 6)
    assert incoming.error_type == "FlutterError"


def test_snake_case_stack_trace_key_is_accepted():
    incoming = normalise({"exception": "StateError", "stack_trace": FLUTTER_STACK}, 6)
    assert len(incoming.frames) == 6


def test_ios_platform_and_fatal_level():
    incoming = normalise({**FLUTTER_EVENT, "platform": "ios", "level": "fatal"}, 6)
    assert incoming.tags["os"] == "ios"
    assert incoming.severity == "critical"


@pytest.mark.parametrize(("data", "field"), [
    ({}, "exception"),
    ({"exception": {"type": "X"}}, "exception"),
    ({"exception": "X", "message": ["m"]}, "message"),
    ({"exception": "X", "stackTrace": ["#0"]}, "stackTrace"),
    ({"exception": "X", "device": "Pixel 7"}, "device"),
    ({"exception": "X", "appVersion": {"v": 1}}, "appVersion"),
    ({"exception": "X", "platform": ["android"]}, "platform"),
    ({"exception": "X", "timestamp": "soon"}, "timestamp"),
])
def test_bad_shapes_are_refused_naming_the_field(data, field):
    with pytest.raises(InvalidPayload) as caught:
        normalise(data, 6)
    assert caught.value.field == field
