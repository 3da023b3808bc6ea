"""In-app frames (app/ingest/in_app.py): the defaults every parser uses, and a service's own prefixes."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.ingest.fingerprint import compute_fingerprint, culprit
from app.ingest.in_app import apply_in_app, is_library, rules_for
from app.ingest.incoming import IncomingError
from app.ingest.sources import NORMALISERS
from app.ingest.sources.sentry import normalise as sentry_normalise
from app.ingest.stacktraces import make_frame, parse_java_stack_trace

pytestmark = pytest.mark.unit

# printStackTrace() of a real Java 17 run of recorded/OrderLookup.java: HikariCP 5.1.0 and the PostgreSQL
# JDBC driver 42.7.13 against a PostgreSQL 15 without the table.
HIKARI_TRACE = (Path(__file__).resolve().parent / "recorded" / "java17-hikari-postgres.txt").read_text()


@pytest.mark.parametrize("module, path", [
    ("org.postgresql.jdbc.PgStatement", None), ("com.zaxxer.hikari.pool.ProxyPreparedStatement", None),
    ("com.mysql.cj.jdbc.ClientPreparedStatement", None), ("oracle.jdbc.driver.OracleStatement", None),
    ("org.mariadb.jdbc.ClientPreparedStatement", None), ("com.microsoft.sqlserver.jdbc.SQLServerStatement", None),
    ("org.hibernate.engine.jdbc.spi.SqlExceptionHelper", None), ("org.springframework.web.FrameworkServlet", None),
    ("io.netty.channel.AbstractChannelHandlerContext", None), ("com.fasterxml.jackson.databind.ObjectMapper", None),
    ("java.lang.Thread", None), ("javax.servlet.http.HttpServlet", None), ("jdk.internal.reflect.Method", None),
    ("sun.reflect.NativeMethodAccessorImpl", None), ("kotlin.coroutines.Continuation", None),
    ("flutter", "package:flutter/src/widgets/framework.dart"), (None, "dart:async/zone.dart"),
    (None, "/var/www/vendor/laravel/framework/src/Illuminate/Pipeline/Pipeline.php"),
    (None, "webpack:///./node_modules/react-dom/cjs/react-dom.development.js"),
    ("flask.app", "/srv/venv/lib/python3.11/site-packages/flask/app.py"),
    (None, "/usr/lib/python3/dist-packages/requests/api.py"),
])
def test_common_libraries_are_not_in_app(module, path):
    assert is_library(module, path)


@pytest.mark.parametrize("module, path", [
    ("com.acme.orders.OrderLookup", "OrderLookup.java"), ("javaapp.Main", None), ("myapp.payments", "/srv/app/pay.py"),
    ("my_app", "package:my_app/cart.dart"), (None, "/var/www/app/Http/Controllers/PayController.php"),
    (None, "https://shop.example/assets/cart.js"), ("org.postgresqlx.Own", None),
])
def test_application_code_is_not_a_library(module, path):
    assert not is_library(module, path)


def test_jdbc_and_pool_frames_of_a_real_trace_are_not_in_app():
    cause, raised = parse_java_stack_trace(HIKARI_TRACE)
    marked = {(f["module"], f["in_app"]) for f in cause["frames"]}
    assert ("com.acme.orders.OrderLookup", True) in marked
    assert {m for m, in_app in marked if in_app} == {"com.acme.orders.OrderLookup"}
    assert ("org.postgresql.jdbc.PgStatement", False) in marked
    assert ("com.zaxxer.hikari.pool.HikariProxyPreparedStatement", False) in marked


def _java_event() -> IncomingError:
    return NORMALISERS["java"]({"message": "order lookup failed", "logger_name": "com.acme.orders",
                                "level": "ERROR", "stack_trace": HIKARI_TRACE}, 1)


def test_a_service_include_beats_the_defaults_and_exclude_beats_the_parser():
    incoming = _java_event()
    apply_in_app(incoming, rules_for(("com.zaxxer.hikari",), ("com.acme.orders.OrderLookup",)))
    in_app = {f["module"] for f in incoming.exceptions[0]["frames"] if f["in_app"]}
    assert in_app == {"com.zaxxer.hikari.pool.ProxyPreparedStatement",
                      "com.zaxxer.hikari.pool.HikariProxyPreparedStatement"}


def _sentry_frames(*frames) -> IncomingError:
    event = {"exception": {"values": [{"type": "PSQLException", "value": "x", "stacktrace": {"frames": list(frames)}}]},
             "platform": "java"}
    return sentry_normalise(event, 1)


def test_the_rules_decide_grouping_and_the_culprit():
    frames = ({"module": "com.acme.Orders", "function": "count", "in_app": True},
              {"module": "org.postgresql.jdbc.PgStatement", "function": "execute"})
    plain, ruled = _sentry_frames(*frames), _sentry_frames(*frames)
    apply_in_app(plain, rules_for())
    apply_in_app(ruled, rules_for(("org.postgresql",), ("com.acme",)))
    assert culprit(plain) == "com.acme.Orders.count (Unknown Source)"  # as Java prints a frame without its file
    assert culprit(ruled) == "org.postgresql.jdbc.PgStatement.execute (Unknown Source)"
    assert compute_fingerprint(plain) != compute_fingerprint(ruled)


def test_an_sdks_in_app_is_kept_unless_a_service_rule_matches():
    incoming = _sentry_frames(
        {"module": "org.postgresql.jdbc.PgStatement", "function": "execute", "in_app": True},
        {"module": "com.zaxxer.hikari.pool.ProxyStatement", "function": "execute"},  # in_app not said
        {"module": "com.acme.Orders", "function": "count", "in_app": False},
    )
    apply_in_app(incoming, rules_for())
    assert [f["in_app"] for f in incoming.frames] == [True, False, False]
    apply_in_app(incoming, rules_for(("com.acme",), ("org.postgresql",)))
    assert [f["in_app"] for f in incoming.frames] == [False, False, True]


def test_parsed_frames_follow_the_defaults_even_when_the_parser_guessed_in_app():
    frame = make_frame(filename="PgStatement.java", module="org.postgresql.jdbc.PgStatement", in_app=True)
    incoming = IncomingError(service_id=1, source="generic", error_type="E", message="m",
                             exceptions=[{"type": "E", "value": "m", "module": None, "frames": [frame]}])
    apply_in_app(incoming)
    assert frame["in_app"] is False


def test_prefixes_match_modules_and_paths_at_their_boundaries():
    rules = rules_for(("App\\Billing", "package:my_app", "lib/"), ())
    php = make_frame(filename="/srv/app/Billing/Invoice.php", module="App\\Billing\\Invoice")
    dart = make_frame(filename="package:my_app/cart.dart", module="my_app")
    other = make_frame(filename="package:my_app_tools/x.dart", module="my_app_tools")
    path = make_frame(filename="/srv/lib/helpers.py")
    incoming = IncomingError(service_id=1, source="generic", error_type="E", message="m",
                             exceptions=[{"type": "E", "value": "m", "module": None,
                                          "frames": [php, dart, other, path]}])
    apply_in_app(incoming, rules)
    assert [f["in_app"] for f in (php, dart, other, path)] == [True, True, False, True]
