"""POST /webhook/laravel/: what a Laravel exception reporter posts, normalised."""
from __future__ import annotations

import copy

import pytest

from app.ingest.incoming import InvalidPayload
from app.ingest.sources.laravel import normalise

# Shaped like Laravel's Handler::report() output for a duplicate-key insert: getTrace() entries
# (newest call first), the PDOException as "previous".
QUERY_EXCEPTION = {
    "exception": {
        "class": "Illuminate\\Database\\QueryException",
        "message": "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry 'ana@example.com' "
                   "for key 'users_email_unique' (SQL: insert into `users` (`email`) values (ana@example.com))",
        "code": "23000",
        "file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php",
        "line": 760,
        "trace": [
            {"file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php", "line": 720,
             "function": "runQueryCallback", "class": "Illuminate\\Database\\Connection", "type": "->"},
            {"file": "/var/www/html/app/Services/UserService.php", "line": 58,
             "function": "insert", "class": "Illuminate\\Database\\Connection", "type": "->"},
            {"file": "/var/www/html/app/Http/Controllers/UserController.php", "line": 31,
             "function": "register", "class": "App\\Services\\UserService", "type": "->"},
            {"function": "store", "class": "App\\Http\\Controllers\\UserController", "type": "->"},
            {"file": "/var/www/html/public/index.php", "line": 52, "function": "handle",
             "class": "Illuminate\\Foundation\\Http\\Kernel", "type": "->"},
        ],
        "previous": {
            "class": "PDOException",
            "message": "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry",
            "code": "23000",
            "file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php",
            "line": 745,
            "trace": [],
        },
    },
    "request": {"url": "https://api.example.com/api/users?ref=signup", "method": "POST", "ip": "10.1.2.3",
                "headers": {"accept": "application/json"}},
    "user": {"id": 17, "email": "ops@example.com"},
    "environment": "production",
    "level": "error",
    "release": "web-api@5.2.0",
    "tags": {"queue": "sync"},
    "timestamp": "2024-05-01 10:15:30",
    "tenant": "acme",
}


def payload(**changes):
    data = copy.deepcopy(QUERY_EXCEPTION)
    data.update(changes)
    return data


def test_exception_class_message_and_context():
    incoming = normalise(payload(), 3)
    assert incoming.source == "laravel" and incoming.platform == "php"
    assert incoming.error_type == "Illuminate\\Database\\QueryException"
    assert incoming.message.startswith("SQLSTATE[23000]: Integrity constraint violation")
    assert incoming.severity == "high"  # Monolog's "error"
    assert incoming.environment == "production" and incoming.release == "web-api@5.2.0"
    assert incoming.user == {"id": 17, "email": "ops@example.com"}
    assert incoming.endpoint == "POST /api/users"
    assert incoming.tags == {"queue": "sync"}
    assert incoming.timestamp.isoformat() == "2024-05-01T10:15:30+00:00"
    assert incoming.extra == {"exception_code": "23000", "tenant": "acme"}


def test_trace_array_becomes_frames_oldest_first_with_the_raise_location_last():
    frames = normalise(payload(), 3).frames
    # Each frame names the function its line is in: the raising line is in the function called last.
    assert [(f["function"], f["lineno"]) for f in frames] == [
        ("{main}", 52),
        ("Illuminate\\Foundation\\Http\\Kernel->handle", None),
        ("App\\Http\\Controllers\\UserController->store", 31),
        ("App\\Services\\UserService->register", 58),
        ("Illuminate\\Database\\Connection->insert", 720),
        ("Illuminate\\Database\\Connection->runQueryCallback", 760),
    ]
    # Application code is in-app, the framework under vendor/ is not.
    assert [f["in_app"] for f in frames] == [True, False, True, True, False, False]


def test_previous_exception_is_the_cause_first_in_the_chain():
    chain = normalise(payload(), 3).exceptions
    assert [e["type"] for e in chain] == ["PDOException", "QueryException"]
    assert chain[-1]["module"] == "Illuminate\\Database"


def test_trace_as_text_from_get_trace_as_string():
    text = ("#0 /var/www/html/app/Jobs/SendInvoice.php(44): App\\Billing\\Pdf->render()\n"
            "#1 /var/www/html/vendor/laravel/framework/src/Illuminate/Bus/Dispatcher.php(128): "
            "App\\Jobs\\SendInvoice->handle()\n"
            "#2 {main}")
    data = {"exception": {"class": "RuntimeException", "message": "font missing", "file": "/var/www/html/app/Billing/Pdf.php",
                          "line": 10, "trace": text}}
    frames = normalise(data, 3).frames
    assert [(f["function"], f["lineno"]) for f in frames] == [
        ("{main}", 128), ("App\\Jobs\\SendInvoice->handle", 44), ("App\\Billing\\Pdf->render", 10)]


def test_http_exception_code_feeds_the_status_rules():
    incoming = normalise({"exception": {"class": "Symfony\\Component\\HttpKernel\\Exception\\HttpException",
                                        "message": "Service Unavailable", "code": 503}}, 3)
    assert incoming.http_status == 503
    assert incoming.severity is None


def test_empty_message_falls_back_to_the_class():
    incoming = normalise({"exception": {"class": "App\\Exceptions\\QuotaExceeded", "message": ""}}, 3)
    assert incoming.message == "App\\Exceptions\\QuotaExceeded"


@pytest.mark.parametrize(("data", "field", "code"), [
    ({}, "exception", "missing_field"),
    ({"exception": "QueryException"}, "exception", "invalid_field"),
    ({"exception": {"message": "no class"}}, "exception.class", "missing_field"),
    ({"exception": {"class": 12}}, "exception.class", "invalid_field"),
    ({"exception": {"class": "  "}}, "exception.class", "missing_field"),
    ({"exception": {"class": "X", "trace": {"0": {}}}}, "exception.trace", "invalid_field"),
    ({"exception": {"class": "X"}, "level": "loud"}, "level", "invalid_field"),
    ({"exception": {"class": "X"}, "user": "ana"}, "user", "invalid_field"),
    ({"exception": {"class": "X"}, "request": "GET /"}, "request", "invalid_field"),
])
def test_bad_shapes_are_refused_naming_the_field(data, field, code):
    with pytest.raises(InvalidPayload) as caught:
        normalise(data, 3)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_hostile_trace_entries_do_not_break_the_event():
    data = {"exception": {"class": "X", "message": "m", "trace": [1, "two", None, {"line": "x"}],
                          "previous": "not an exception"}}
    incoming = normalise(data, 3)
    assert incoming.error_type == "X"
    assert [e["type"] for e in incoming.exceptions] == ["X"]
