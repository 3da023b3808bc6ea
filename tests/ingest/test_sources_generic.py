"""POST /webhook/generic/: a message is enough; any known stack-trace format is recognised."""
from __future__ import annotations

import pytest

from app.ingest.incoming import InvalidPayload
from app.ingest.sources.generic import normalise

CELERY_TRACEBACK = """Traceback (most recent call last):
  File "/srv/ai-api/venv/lib/python3.11/site-packages/celery/app/trace.py", line 477, in trace_task
    R = retval = fun(*args, **kwargs)
  File "/srv/ai-api/jobs/export.py", line 31, in export_report
    payload = json.dumps(rows)
  File "/usr/lib/python3.11/json/__init__.py", line 231, in dumps
    return _default_encoder.encode(obj)
TypeError: Object of type Decimal is not JSON serializable
"""

NODE_STACK = """Error: connect ECONNREFUSED 10.0.0.5:6379
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)
    at RedisClient.connect (/srv/notifier/node_modules/redis/dist/index.js:40:11)
    at Worker.start (/srv/notifier/src/worker.js:18:9)"""

PHP_TEXT = """PHP Fatal error:  Uncaught Error: Call to undefined method App\\Cart::total() in /var/www/app/Checkout.php:22
Stack trace:
#0 /var/www/app/routes.php(14): App\\Checkout->pay()
#1 {main}
  thrown in /var/www/app/Checkout.php on line 22"""


def test_message_alone_is_enough():
    incoming = normalise({"message": "nightly backup failed"}, 2)
    assert incoming.source == "generic"
    assert (incoming.error_type, incoming.message) == ("Error", "nightly backup failed")
    assert incoming.exceptions == []


def test_python_traceback_is_detected_and_names_the_type():
    incoming = normalise({"message": "report export crashed", "stack_trace": CELERY_TRACEBACK,
                          "environment": "production", "tags": {"queue": "reports"}}, 2)
    assert incoming.error_type == "TypeError"
    assert incoming.message == "report export crashed"
    assert [f["function"] for f in incoming.frames] == ["trace_task", "export_report", "dumps"]
    assert [f["in_app"] for f in incoming.frames] == [False, True, False]
    assert incoming.environment == "production" and incoming.tags == {"queue": "reports"}


def test_node_stack_under_the_stacktrace_spelling():
    incoming = normalise({"message": "notifier down", "stacktrace": NODE_STACK}, 2)
    assert incoming.error_type == "Error"
    assert [f["function"] for f in incoming.frames][-1] == "TCPConnectWrap.afterConnect [as oncomplete]"
    assert [f["in_app"] for f in incoming.frames] == [True, False, False]


def test_php_fatal_error_text():
    incoming = normalise({"message": "checkout broke", "stack_trace": PHP_TEXT}, 2)
    assert incoming.error_type == "Error"
    assert any(f["function"] == "App\\Checkout->pay" for f in incoming.frames)


def test_explicit_type_wins_over_the_parsed_one():
    incoming = normalise({"message": "m", "error_type": "ExportError", "stack_trace": CELERY_TRACEBACK}, 2)
    assert incoming.error_type == "ExportError"
    assert incoming.exceptions[-1]["type"] == "ExportError"


def test_type_field_spelled_type():
    assert normalise({"message": "m", "type": "CronMissed"}, 2).error_type == "CronMissed"


def test_unrecognised_text_is_kept_without_frames():
    incoming = normalise({"message": "m", "stack_trace": "something odd happened\nand more"}, 2)
    assert incoming.stack_trace == "something odd happened\nand more"
    assert incoming.frames == []


def test_frames_given_as_a_list():
    incoming = normalise({"message": "m", "frames": [{"filename": "job.sh", "function": "main", "lineno": 3}]}, 2)
    assert [(f["filename"], f["lineno"]) for f in incoming.frames] == [("job.sh", 3)]


def test_optional_fields_and_unknown_ones():
    incoming = normalise({"message": "disk 91% full", "severity": "warning", "endpoint": "cron:cleanup",
                          "release": "ops@1", "host_group": "db"}, 2)
    assert incoming.severity == "medium"
    assert incoming.endpoint == "cron:cleanup"
    assert incoming.extra == {"host_group": "db"}


@pytest.mark.parametrize(("data", "field"), [
    ({}, "message"),
    ({"message": ""}, "message"),
    ({"message": {"text": "x"}}, "message"),
    ({"message": "m", "stack_trace": {"frames": []}}, "stack_trace"),
    ({"message": "m", "stacktrace": ["x"]}, "stack_trace"),
    ({"message": "m", "error_type": ["X"]}, "error_type"),
    ({"message": "m", "frames": "x"}, "frames"),
    ({"message": "m", "severity": "whenever"}, "severity"),
    ({"message": "m", "event_id": "abc"}, "event_id"),
])
def test_bad_shapes_are_refused_naming_the_field(data, field):
    with pytest.raises(InvalidPayload) as caught:
        normalise(data, 2)
    assert caught.value.field == field
