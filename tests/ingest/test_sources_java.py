"""POST /webhook/java/: logstash-logback-encoder events and structured exceptions, normalised."""
from __future__ import annotations

import datetime as dt

import pytest

from app.ingest.incoming import InvalidPayload
from app.ingest.sources.java import normalise

SPRING_TRACE = """org.springframework.dao.DataIntegrityViolationException: could not execute statement; constraint [uk_place_name]
\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:276)
\tat com.acme.geo.service.PlaceService.save(PlaceService.java:88)
\tat com.acme.geo.web.PlaceController.create(PlaceController.java:41)
\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
\tat java.base/java.lang.Thread.run(Thread.java:833)
Caused by: org.hibernate.exception.ConstraintViolationException: could not execute statement
\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert(SQLStateConversionDelegate.java:109)
\t... 4 common frames omitted
Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique constraint "uk_place_name"
\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2713)
\t... 6 common frames omitted
"""

# What LogstashEncoder writes for log.error("Request processing failed", ex) with MDC set.
LOGSTASH_EVENT = {
    "@timestamp": "2024-05-01T12:15:30.123+02:00",
    "@version": "1",
    "message": "Request processing failed",
    "logger_name": "com.acme.geo.web.PlaceController",
    "thread_name": "http-nio-8080-exec-3",
    "level": "ERROR",
    "level_value": 40000,
    "stack_trace": SPRING_TRACE,
    "HOSTNAME": "geo-api-7d9f8",
    "traceId": "4bf92f3577b34da6",
    "requestUri": "/api/places",
}


def test_logstash_event_with_the_full_stack_trace_text():
    incoming = normalise(dict(LOGSTASH_EVENT), 5)
    assert incoming.source == "java" and incoming.platform == "java"
    assert incoming.error_type == "DataIntegrityViolationException"
    assert incoming.message == "could not execute statement; constraint [uk_place_name]"
    assert incoming.severity == "high"  # logback ERROR
    assert incoming.timestamp == dt.datetime(2024, 5, 1, 10, 15, 30, 123000, tzinfo=dt.timezone.utc)
    assert incoming.server_name == "geo-api-7d9f8"
    assert incoming.tags == {"logger_name": "com.acme.geo.web.PlaceController",
                             "thread_name": "http-nio-8080-exec-3"}
    # The log line's own message and the MDC fields are kept, nothing is dropped.
    assert incoming.extra == {"log_message": "Request processing failed", "traceId": "4bf92f3577b34da6",
                              "requestUri": "/api/places"}


def test_caused_by_chain_is_cause_first_and_frames_oldest_first():
    incoming = normalise(dict(LOGSTASH_EVENT), 5)
    assert [e["type"] for e in incoming.exceptions] == [
        "PSQLException", "ConstraintViolationException", "DataIntegrityViolationException"]
    frames = incoming.frames
    assert frames[0]["function"] == "run" and frames[-1]["function"] == "convertHibernateAccessException"
    in_app = [f["module"] for f in frames if f["in_app"]]
    assert in_app == ["com.acme.geo.web.PlaceController", "com.acme.geo.service.PlaceService"]
    assert [f["lineno"] for f in frames if f["in_app"]] == [41, 88]


@pytest.mark.parametrize(("level", "severity"), [
    ("SEVERE", "high"), ("ERROR", "high"), ("WARN", "medium"), ("WARNING", "medium"), ("INFO", "info"),
    ("DEBUG", "info"), ("FATAL", "critical"), ("TRACE", "info"),
])
def test_java_log_levels_map_to_severities(level, severity):
    assert normalise({**LOGSTASH_EVENT, "level": level}, 5).severity == severity


def test_log_event_without_a_stack_trace_is_named_after_its_logger():
    incoming = normalise({"message": "Geocoder quota at 95%", "logger_name": "com.acme.geo.Quota",
                          "level": "WARN"}, 5)
    assert incoming.error_type == "com.acme.geo.Quota"
    assert incoming.message == "Geocoder quota at 95%"
    assert incoming.exceptions == []


def test_structured_exception_with_elements_and_a_cause():
    data = {
        "exception": "java.lang.IllegalStateException",
        "message": "no route between tiles 12 and 40",
        "frames": [  # Throwable.getStackTrace(): newest first
            {"className": "com.acme.geo.routing.Router", "methodName": "route", "fileName": "Router.java",
             "lineNumber": 142},
            {"className": "com.acme.geo.web.RouteController", "methodName": "get", "fileName": "RouteController.java",
             "lineNumber": 27},
            {"className": "java.lang.Thread", "methodName": "run", "fileName": "Thread.java", "lineNumber": 833},
        ],
        "cause": {
            "exception": "java.net.SocketTimeoutException",
            "message": "Read timed out",
            "frames": [{"className": "java.net.SocketInputStream", "methodName": "socketRead0", "fileName": None,
                        "lineNumber": -2}],
        },
        "environment": "staging",
    }
    incoming = normalise(data, 5)
    assert incoming.error_type == "IllegalStateException"
    assert incoming.message == "no route between tiles 12 and 40"
    assert incoming.environment == "staging"
    assert [e["type"] for e in incoming.exceptions] == ["SocketTimeoutException", "IllegalStateException"]
    assert incoming.exceptions[-1]["module"] == "java.lang"
    assert [f["function"] for f in incoming.frames] == ["run", "get", "route"]
    assert incoming.exceptions[0]["frames"][0]["filename"] == "Native Method"


def test_at_timestamp_yields_to_an_explicit_timestamp():
    incoming = normalise({**LOGSTASH_EVENT, "timestamp": 1714558530}, 5)
    assert incoming.timestamp == dt.datetime(2024, 5, 1, 10, 15, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("data", "field"), [
    ({}, "message"),
    ({"logger_name": "x"}, "message"),
    ({"exception": {"class": "X"}}, "exception"),
    ({"exception": "X", "frames": "at X.y(X.java:1)"}, "frames"),
    ({"exception": "X", "frames": [], "cause": {"exception": "Y", "frames": 5}}, "cause.frames"),
    ({"message": {"text": "x"}}, "message"),
    ({"message": "x", "stack_trace": ["at a"]}, "stack_trace"),
    ({"message": "x", "@timestamp": "last tuesday"}, "@timestamp"),
    ({"message": "x", "timestamp": "last tuesday"}, "timestamp"),
    ({"message": "x", "level": "LOUD"}, "level"),
    ({"message": "x", "HOSTNAME": {"name": "h"}}, "HOSTNAME"),
])
def test_bad_shapes_are_refused_naming_the_field(data, field):
    with pytest.raises(InvalidPayload) as caught:
        normalise(data, 5)
    assert caught.value.field == field
