"""Stack-trace parsers: realistic samples per format, format detection and robustness on hostile input."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is imported from the work tree, not installed
    sys.path.insert(0, str(ROOT))

from app.ingest.stacktraces import (  # noqa: E402
    FRAME_KEYS,
    MAX_CHAIN,
    MAX_FRAMES,
    MAX_STR,
    detect_and_parse,
    make_frame,
    parse_dart_stack,
    parse_java_elements,
    parse_java_stack_trace,
    parse_js_stack,
    parse_php_trace,
    parse_php_trace_text,
    parse_python_traceback,
    parse_react_component_stack,
    php_exception_chain,
)


def fn(frames):
    """The function names of ``frames`` in order."""
    return [frame["function"] for frame in frames]


def assert_well_formed(chain):
    """Every exception and frame has exactly the documented keys and types."""
    assert isinstance(chain, list)
    assert 1 <= len(chain) <= MAX_CHAIN or chain == []
    for exc in chain:
        assert set(exc) - {"suppressed"} == {"type", "value", "module", "frames"}
        assert exc.get("suppressed", True) is True
        for key in ("type", "value", "module"):
            assert exc[key] is None or (isinstance(exc[key], str) and len(exc[key]) <= MAX_STR)
        assert len(exc["frames"]) <= MAX_FRAMES
        for frame in exc["frames"]:
            assert tuple(frame) == FRAME_KEYS
            assert isinstance(frame["filename"], str) and len(frame["filename"]) <= MAX_STR
            assert isinstance(frame["in_app"], bool)
            for key in ("lineno", "colno"):
                assert frame[key] is None or isinstance(frame[key], int)
            for key in ("abs_path", "function", "module", "context_line"):
                assert frame[key] is None or (isinstance(frame[key], str) and len(frame[key]) <= MAX_STR)


# --------------------------------------------------------------------------------------------- make_frame


def test_make_frame_fills_missing_keys_with_none_and_in_app_false():
    frame = make_frame(filename="a.py", lineno=3)
    assert tuple(frame) == FRAME_KEYS
    assert frame == {"filename": "a.py", "abs_path": None, "function": None, "module": None, "lineno": 3,
                     "colno": None, "in_app": False, "context_line": None, "pre_context": None,
                     "post_context": None}


def test_make_frame_truncates_long_strings_and_ignores_unknown_keys():
    frame = make_frame(filename="x" * 5000, function="f", in_app=1, bogus=True, pre_context=["a" * 2000])
    assert len(frame["filename"]) == MAX_STR
    assert frame["in_app"] is True
    assert "bogus" not in frame
    assert frame["pre_context"] == ["a" * MAX_STR]


# ------------------------------------------------------------------------------------------------- Python

PY_FLASK = """\
Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.11/site-packages/flask/app.py", line 1484, in full_dispatch_request
    rv = self.dispatch_request()
         ^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/app/heartwatch/views/orders.py", line 42, in show_order
    order = load_order(order_id)
            ^^^^^^^^^^^^^^^^^^^^
  File "/srv/app/heartwatch/services/orders.py", line 17, in load_order
    return Order.query.filter_by(id=int(order_id)).one()
                                    ~~~^^^^^^^^^^
sqlalchemy.exc.NoResultFound: No row was found when one was required
"""

PY_DURING_HANDLING = """\
Traceback (most recent call last):
  File "/app/billing/cache.py", line 12, in get_rate
    return RATES[currency]
           ~~~~~^^^^^^^^^^
KeyError

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/billing/invoice.py", line 30, in total
    rate = get_rate(self.currency)
  File "/app/billing/cache.py", line 14, in get_rate
    raise ValueError(f"unknown currency {currency!r}")
ValueError: unknown currency 'XYZ'
"""

PY_DIRECT_CAUSE_THREE = """\
Traceback (most recent call last):
  File "/app/net.py", line 5, in fetch
    sock.connect(addr)
ConnectionRefusedError: [Errno 111] Connection refused

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/client.py", line 20, in call
    fetch(url)
app.client.ClientError: upstream unavailable

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/jobs.py", line 9, in run
    call("/sync")
  File "/app/client.py", line 22, in call
    raise JobFailed("sync") from exc
app.jobs.JobFailed: sync
"""

PY_WINDOWS = r"""Traceback (most recent call last):
  File "C:\Users\dev\proj\manage.py", line 22, in <module>
    main()
  File "C:\Python311\Lib\site-packages\django\core\management\__init__.py", line 442, in execute_from_command_line
    utility.execute()
  File "C:\Users\dev\proj\shop\models.py", line 88, in save
    raise IntegrityError("duplicate key")
django.db.utils.IntegrityError: duplicate key
"""

PY_RECURSION = """\
Traceback (most recent call last):
  File "/app/tree.py", line 10, in <module>
    walk(root)
  File "/app/tree.py", line 4, in walk
    return walk(node.parent)
           ^^^^^^^^^^^^^^^^^
  File "/app/tree.py", line 4, in walk
    return walk(node.parent)
           ^^^^^^^^^^^^^^^^^
  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded
"""

PY_MULTILINE = """\
ERROR:root:payment failed
Traceback (most recent call last):
  File "/app/pay.py", line 3, in charge
    validate(card)
  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed
pydantic_core._pydantic_core.ValidationError: 2 validation errors for Card
number
  Field required [type=missing]
"""

PY_GROUP = """\
  + Exception Group Traceback (most recent call last):
  |   File "/app/tasks.py", line 14, in <module>
  |     asyncio.run(main())
  |   File "/app/tasks.py", line 9, in main
  |     async with asyncio.TaskGroup() as tg:
  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "/app/tasks.py", line 4, in fail
    |     raise ValueError("bad")
    | ValueError: bad
    +---------------- 2 ----------------
    | Traceback (most recent call last):
    |   File "/app/tasks.py", line 6, in fail2
    |     raise TypeError("worse")
    | TypeError: worse
    +------------------------------------
"""

PY_SYNTAX = """\
Traceback (most recent call last):
  File "/app/run.py", line 1, in <module>
    import settings
  File "/app/settings.py", line 7
    DEBUG = (
            ^
SyntaxError: '(' was never closed
"""

PY_CAUSE_WITHOUT_TRACEBACK = """\
OSError: disk full

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/save.py", line 8, in save
    raise SaveError("could not save") from OSError("disk full")
SaveError: could not save
"""


def test_python_frames_are_oldest_first_with_context_lines_and_markers_skipped():
    [exc] = parse_python_traceback(PY_FLASK)
    assert exc["type"] == "NoResultFound"
    assert exc["module"] == "sqlalchemy.exc"
    assert exc["value"] == "No row was found when one was required"
    assert fn(exc["frames"]) == ["full_dispatch_request", "show_order", "load_order"]
    first, _, last = exc["frames"]
    assert first["in_app"] is False and first["module"] == "flask.app"
    assert first["context_line"] == "rv = self.dispatch_request()"
    assert last["filename"] == "/srv/app/heartwatch/services/orders.py"
    assert last["abs_path"] == last["filename"]
    assert last["lineno"] == 17 and last["colno"] is None and last["in_app"] is True
    assert last["context_line"] == "return Order.query.filter_by(id=int(order_id)).one()"


def test_python_during_handling_chain_puts_first_exception_first_and_bare_keyerror_has_no_value():
    cause, raised = parse_python_traceback(PY_DURING_HANDLING)
    assert (cause["type"], cause["value"], cause["module"]) == ("KeyError", None, None)
    assert fn(cause["frames"]) == ["get_rate"]
    assert (raised["type"], raised["value"]) == ("ValueError", "unknown currency 'XYZ'")
    assert fn(raised["frames"]) == ["total", "get_rate"]
    assert [f["lineno"] for f in raised["frames"]] == [30, 14]


def test_python_direct_cause_chain_of_three_keeps_printed_order_root_cause_first():
    chain = parse_python_traceback(PY_DIRECT_CAUSE_THREE)
    assert [e["type"] for e in chain] == ["ConnectionRefusedError", "ClientError", "JobFailed"]
    assert chain[0]["value"] == "[Errno 111] Connection refused"
    assert chain[1]["module"] == "app.client"
    assert fn(chain[2]["frames"]) == ["run", "call"]


def test_python_windows_paths_keep_backslashes_and_site_packages_is_not_in_app():
    [exc] = parse_python_traceback(PY_WINDOWS)
    assert (exc["type"], exc["module"]) == ("IntegrityError", "django.db.utils")
    files = [f["filename"] for f in exc["frames"]]
    assert files[0] == r"C:\Users\dev\proj\manage.py"
    assert [f["in_app"] for f in exc["frames"]] == [True, False, True]
    assert exc["frames"][1]["module"] == "django.core.management"
    assert exc["frames"][0]["abs_path"] == r"C:\Users\dev\proj\manage.py"
    assert exc["frames"][2]["function"] == "save"


def test_python_previous_line_repeated_is_skipped():
    [exc] = parse_python_traceback(PY_RECURSION)
    assert exc["type"] == "RecursionError"
    assert fn(exc["frames"]) == ["<module>", "walk", "walk"]
    assert exc["frames"][-1]["context_line"] == "return walk(node.parent)"


def test_python_multiline_message_and_frozen_frames_and_log_preamble():
    [exc] = parse_python_traceback(PY_MULTILINE)
    assert exc["type"] == "ValidationError"
    assert exc["module"] == "pydantic_core._pydantic_core"
    assert exc["value"] == "2 validation errors for Card\nnumber\n  Field required [type=missing]"
    assert [f["in_app"] for f in exc["frames"]] == [True, False]
    assert exc["frames"][1]["filename"] == "<frozen importlib._bootstrap>"


def test_python_exception_group_keeps_the_group_and_drops_sub_exceptions():
    [exc] = parse_python_traceback(PY_GROUP)
    assert exc["type"] == "ExceptionGroup"
    assert exc["value"] == "unhandled errors in a TaskGroup (2 sub-exceptions)"
    assert fn(exc["frames"]) == ["<module>", "main"]
    assert exc["frames"][1]["context_line"] == "async with asyncio.TaskGroup() as tg:"


def test_python_syntax_error_frame_without_function():
    [exc] = parse_python_traceback(PY_SYNTAX)
    assert exc["type"] == "SyntaxError"
    assert exc["frames"][-1]["function"] is None
    assert exc["frames"][-1]["lineno"] == 7
    assert exc["frames"][-1]["context_line"] == "DEBUG = ("


def test_python_cause_printed_without_traceback_still_starts_the_chain():
    cause, raised = parse_python_traceback(PY_CAUSE_WITHOUT_TRACEBACK)
    assert (cause["type"], cause["value"], cause["frames"]) == ("OSError", "disk full", [])
    assert (raised["type"], raised["value"]) == ("SaveError", "could not save")


def test_python_unrelated_tracebacks_in_one_log_keep_the_last():
    text = PY_SYNTAX + "\nINFO retrying\n" + PY_RECURSION
    chain = parse_python_traceback(text)
    assert [e["type"] for e in chain] == ["RecursionError"]


def test_python_text_without_traceback_gives_empty_list():
    assert parse_python_traceback("just a log line") == []


# ---------------------------------------------------------------------------------------------- PHP array

PHP_LARAVEL_TRACE = [
    {"file": "/var/www/app/Services/OrderService.php", "line": 58, "function": "findOrFail",
     "class": "Illuminate\\Database\\Eloquent\\Builder", "type": "->", "args": [12]},
    {"file": "/var/www/app/Http/Controllers/OrderController.php", "line": 42, "function": "load",
     "class": "App\\Services\\OrderService", "type": "->"},
    {"file": "/var/www/vendor/laravel/framework/src/Illuminate/Routing/Controller.php", "line": 54,
     "function": "show", "class": "App\\Http\\Controllers\\OrderController", "type": "->"},
    {"function": "callAction", "class": "Illuminate\\Routing\\Controller", "type": "->"},
    {"file": "/var/www/public/index.php", "line": 51, "function": "handle",
     "class": "Illuminate\\Foundation\\Http\\Kernel", "type": "->"},
]


def test_php_trace_array_is_reversed_and_each_frame_names_the_function_containing_its_line():
    frames = parse_php_trace(PHP_LARAVEL_TRACE, "/var/www/vendor/laravel/framework/src/Builder.php", 599)
    assert len(frames) == 6
    # The outermost location is the script's top level; index.php:51 called Kernel->handle.
    assert (frames[0]["filename"], frames[0]["lineno"], frames[0]["function"]) == (
        "/var/www/public/index.php", 51, "{main}")
    assert frames[0]["module"] is None
    # OrderService.php:58 is inside OrderService->load (which OrderController.php:42 called).
    assert (frames[-2]["filename"], frames[-2]["function"], frames[-2]["module"]) == (
        "/var/www/app/Services/OrderService.php", "App\\Services\\OrderService->load", "App\\Services\\OrderService")
    assert frames[-2]["lineno"] == 58 and frames[-2]["in_app"] is True
    # The raising line takes the function called last.
    assert frames[-1]["function"] == "Illuminate\\Database\\Eloquent\\Builder->findOrFail"
    assert frames[-1]["lineno"] == 599 and frames[-1]["in_app"] is False


def test_php_trace_array_without_a_raising_location_keeps_the_function_called_last():
    frames = parse_php_trace(PHP_LARAVEL_TRACE)
    assert len(frames) == 6
    assert frames[-1]["function"] == "Illuminate\\Database\\Eloquent\\Builder->findOrFail"
    assert (frames[-1]["filename"], frames[-1]["lineno"], frames[-1]["in_app"]) == ("", None, False)


def test_php_trace_array_entry_without_file_is_internal_function_not_in_app():
    frames = parse_php_trace(PHP_LARAVEL_TRACE)
    internal = frames[1]
    assert internal["filename"] == "[internal function]"
    assert internal["function"] == "Illuminate\\Foundation\\Http\\Kernel->handle"
    assert internal["lineno"] is None and internal["in_app"] is False
    assert frames[2]["in_app"] is False  # /vendor/


def test_php_trace_array_static_calls_use_double_colon():
    frames = parse_php_trace([{"file": "/srv/src/Util/Money.php", "line": "9", "function": "fromString",
                               "class": "App\\Util\\Money", "type": "::"}], "/srv/src/Util/Money.php", "30")
    assert fn(frames) == ["{main}", "App\\Util\\Money::fromString"]
    assert [f["lineno"] for f in frames] == [9, 30]


def test_php_trace_array_plain_functions_and_closures_have_no_module():
    frames = parse_php_trace([
        {"function": "{closure}"},
        {"file": "/srv/app/helpers.php", "line": 10, "function": "array_map"},
    ], "/srv/app/helpers.php", 4)
    assert fn(frames) == ["{main}", "array_map", "{closure}"]
    assert [(f["filename"], f["lineno"]) for f in frames] == [
        ("/srv/app/helpers.php", 10), ("[internal function]", None), ("/srv/app/helpers.php", 4)]
    assert [f["module"] for f in frames] == [None, None, None]


def test_php_trace_array_skips_garbage_entries_and_non_lists():
    frames = parse_php_trace([None, "x", 3, {"file": ["no"], "line": True, "function": {"a": 1}}])
    assert len(frames) == 2
    assert frames[0]["filename"] == "[internal function]" and frames[0]["lineno"] is None
    assert frames[1]["filename"] == "" and frames[1]["function"] is None
    assert parse_php_trace([]) == []
    assert parse_php_trace("not a list") == []
    assert parse_php_trace(None) == []


def test_php_exception_chain_puts_previous_first_and_raising_location_last():
    exc = {
        "class": "App\\Exceptions\\OrderNotFound", "message": "Order 12 not found", "code": 404,
        "file": "/var/www/app/Services/OrderService.php", "line": 61,
        "trace": PHP_LARAVEL_TRACE[1:],
        "previous": {
            "class": "Illuminate\\Database\\Eloquent\\ModelNotFoundException",
            "message": "No query results for model [App\\Models\\Order] 12", "code": 0,
            "file": "/var/www/vendor/laravel/framework/src/Illuminate/Database/Eloquent/Builder.php",
            "line": 599, "trace": PHP_LARAVEL_TRACE, "previous": None,
        },
    }
    cause, raised = php_exception_chain(exc)
    assert (cause["type"], cause["module"]) == ("ModelNotFoundException", "Illuminate\\Database\\Eloquent")
    assert cause["frames"][-1]["lineno"] == 599 and cause["frames"][-1]["in_app"] is False
    assert cause["frames"][-1]["function"] == "Illuminate\\Database\\Eloquent\\Builder->findOrFail"
    assert len(cause["frames"]) == 6
    assert (raised["type"], raised["value"]) == ("OrderNotFound", "Order 12 not found")
    assert raised["module"] == "App\\Exceptions"
    assert raised["frames"][-1] == make_frame(filename="/var/www/app/Services/OrderService.php",
                                              abs_path="/var/www/app/Services/OrderService.php", lineno=61,
                                              function="App\\Services\\OrderService->load",
                                              module="App\\Services\\OrderService", in_app=True)
    assert raised["frames"][0]["filename"] == "/var/www/public/index.php"
    assert raised["frames"][0]["function"] == "{main}"


def test_php_exception_chain_stops_on_cycles_and_rejects_non_dicts():
    exc = {"class": "E", "message": "loop", "trace": []}
    exc["previous"] = exc
    assert len(php_exception_chain(exc)) == 1
    assert php_exception_chain("nope") == []


# ----------------------------------------------------------------------------------------------- PHP text

PHP_TEXT_CONTROLLER = """\
#0 /var/www/app/Http/Controllers/OrderController.php(42): App\\Services\\OrderService->load('12')
#1 /var/www/vendor/laravel/framework/src/Illuminate/Routing/Controller.php(54): App\\Http\\Controllers\\OrderController->show('12')
#2 [internal function]: Illuminate\\Routing\\Controller->callAction('show', Array)
#3 /var/www/public/index.php(51): Illuminate\\Foundation\\Http\\Kernel->handle(Object(Illuminate\\Http\\Request))
#4 {main}"""

PHP_TEXT_FATAL = """\
PHP Fatal error:  Uncaught InvalidArgumentException: Amount must be positive in /srv/shop/src/Money.php:27
Stack trace:
#0 /srv/shop/src/Cart.php(88): Shop\\Money::of(-5)
#1 /srv/shop/public/checkout.php(14): Shop\\Cart->add(Object(Shop\\Item))
#2 {main}
  thrown in /srv/shop/src/Money.php on line 27"""

PHP_TEXT_LARAVEL_LOG = """\
[2024-05-01 12:00:00] production.ERROR: SQLSTATE[HY000] [2002] Connection refused {"exception":"[object] (Illuminate\\\\Database\\\\QueryException(code: 2002): SQLSTATE[HY000] [2002] Connection refused (SQL: select * from users) at /var/www/vendor/laravel/framework/src/Illuminate/Database/Connection.php:712)
[stacktrace]
#0 /var/www/vendor/laravel/framework/src/Illuminate/Database/Connection.php(672): Illuminate\\Database\\Connection->runQueryCallback('select * from u...', Array, Object(Closure))
#1 /var/www/app/Repositories/UserRepository.php(31): Illuminate\\Database\\Connection->select('select * from u...')
#2 {main}

[previous exception] [object] (PDOException(code: 2002): SQLSTATE[HY000] [2002] Connection refused at /var/www/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php:70)
[stacktrace]
#0 /var/www/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php(70): PDO->__construct('mysql:host=db;...', 'root', '', Array)
#1 {main}
"}"""

PHP_TEXT_EVAL_AND_CLOSURE = """\
#0 /srv/app/lib/render.php(12) : eval()'d code(3): render_widget(Array)
#1 /srv/app/lib/render.php(12): eval()
#2 /srv/app/index.php(5): {closure}(Object(App\\Request))
#3 {main}"""

PHP_TEXT_WINDOWS = """\
#0 C:\\xampp\\htdocs\\shop\\src\\Db.php(40): PDO->prepare('SELECT')
#1 C:\\xampp\\htdocs\\shop\\vendor\\slim\\slim\\App.php(9): Shop\\Db::query('SELECT')
#2 {main}"""


def test_php_trace_text_is_reversed_and_each_frame_names_the_function_containing_its_line():
    frames = parse_php_trace_text(PHP_TEXT_CONTROLLER, "/var/www/app/Services/OrderService.php", 61)
    assert len(frames) == 5
    assert frames[0]["filename"] == "/var/www/public/index.php" and frames[0]["lineno"] == 51
    assert frames[0]["function"] == "{main}"
    assert (frames[-2]["lineno"], frames[-2]["function"]) == (42, "App\\Http\\Controllers\\OrderController->show")
    assert frames[-1]["function"] == "App\\Services\\OrderService->load"
    assert frames[-1]["module"] == "App\\Services\\OrderService"
    assert frames[-1]["lineno"] == 61 and frames[-1]["in_app"] is True
    # The same trace as getTrace() would give it names the same functions.
    assert parse_php_trace_text(PHP_TEXT_CONTROLLER) == parse_php_trace(PHP_LARAVEL_TRACE[1:])


def test_php_trace_text_internal_function_frame():
    frames = parse_php_trace_text(PHP_TEXT_CONTROLLER)
    internal = frames[1]
    assert internal["filename"] == "[internal function]"
    assert internal["function"] == "Illuminate\\Foundation\\Http\\Kernel->handle"
    assert internal["in_app"] is False and internal["lineno"] is None
    assert frames[2]["in_app"] is False  # vendor


def test_php_uncaught_fatal_error_gives_type_message_and_raising_frame():
    [exc] = detect_and_parse(PHP_TEXT_FATAL, "php")
    assert (exc["type"], exc["value"], exc["module"]) == (
        "InvalidArgumentException", "Amount must be positive", None)
    assert [f["filename"] for f in exc["frames"]] == [
        "/srv/shop/public/checkout.php", "/srv/shop/src/Cart.php", "/srv/shop/src/Money.php"]
    assert exc["frames"][-1]["lineno"] == 27 and exc["frames"][-1]["function"] == "Shop\\Money::of"
    assert fn(exc["frames"]) == ["{main}", "Shop\\Cart->add", "Shop\\Money::of"]


def test_php_laravel_log_previous_exception_becomes_the_cause():
    cause, raised = detect_and_parse(PHP_TEXT_LARAVEL_LOG, "php")
    assert (cause["type"], cause["module"]) == ("PDOException", None)
    assert cause["value"] == "SQLSTATE[HY000] [2002] Connection refused"
    assert cause["frames"][-1]["lineno"] == 70
    assert (raised["type"], raised["module"]) == ("QueryException", "Illuminate\\Database")
    assert raised["value"].endswith("(SQL: select * from users)")
    assert [f["lineno"] for f in raised["frames"]] == [31, 672, 712]
    assert [f["in_app"] for f in raised["frames"]] == [True, False, False]


def test_php_trace_text_eval_code_and_closures():
    frames = parse_php_trace_text(PHP_TEXT_EVAL_AND_CLOSURE)
    assert fn(frames) == ["{main}", "{closure}", "eval", "render_widget"]
    assert frames[-2]["filename"] == "/srv/app/lib/render.php(12) : eval()'d code"
    assert frames[-2]["lineno"] == 3


def test_php_trace_text_windows_vendor_paths_are_not_in_app():
    frames = parse_php_trace_text(PHP_TEXT_WINDOWS)
    assert [f["filename"] for f in frames] == [
        "C:\\xampp\\htdocs\\shop\\vendor\\slim\\slim\\App.php", "C:\\xampp\\htdocs\\shop\\src\\Db.php", ""]
    assert [f["in_app"] for f in frames] == [False, True, False]
    assert fn(frames) == ["{main}", "Shop\\Db::query", "PDO->prepare"]


# ---------------------------------------------------------------------------------------------- Java text

JAVA_SPRING = """\
java.lang.IllegalStateException: Order 42 is already shipped
\tat com.acme.shop.order.OrderService.cancel(OrderService.java:118)
\tat com.acme.shop.web.OrderController.cancel(OrderController.java:57)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)
\tat java.base/java.lang.Thread.run(Thread.java:833)
"""

JAVA_CAUSED_BY = """\
org.springframework.dao.DataIntegrityViolationException: could not execute statement; constraint [uk_email]
\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:276)
\tat com.acme.users.UserService.register(UserService.java:64)
\tat com.acme.users.UserController.signUp(UserController.java:31)
Caused by: org.hibernate.exception.ConstraintViolationException: could not execute statement
\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert(SQLStateConversionDelegate.java:109)
\tat com.acme.users.UserService.register(UserService.java:60)
\t... 2 more
Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique constraint "uk_email"
  Detail: Key (email)=(a@b.c) already exists.
\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2675)
\t... 9 more
"""

JAVA_THREAD_MAIN = """\
Exception in thread "main" java.lang.NullPointerException
\tat com.example.App.lambda$main$0(App.java:14)
\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1511)
\tat com.example.App$Inner.run(Unknown Source)
\tat app//com.example.App.main(App.java:12)
"""

JAVA_SUPPRESSED = """\
java.io.IOException: write failed
\tat com.acme.io.Sink.write(Sink.java:20)
\tat com.acme.io.Copier.copy(Copier.java:11)
\tSuppressed: java.io.IOException: close failed
\t\tat com.acme.io.Sink.close(Sink.java:33)
\t\t... 1 more
\tCaused by: java.net.SocketException: Broken pipe
\t\tat java.base/sun.nio.ch.NioSocketImpl.implWrite(NioSocketImpl.java:420)
\t\t... 3 more
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)
\t... 2 more
"""

JAVA_KOTLIN_LOGBACK = """\
2024-03-01 10:00:00.123 ERROR 1 --- [nio-8080-exec-1] o.a.c.c.C.[.[.[/].[dispatcherServlet] : Servlet failed
kotlin.KotlinNullPointerException: null
\tat com.acme.api.Handler$handle$1.invokeSuspend(Handler.kt:27) ~[api.jar:1.4.0]
\tat kotlin.coroutines.jvm.internal.BaseContinuationImpl.resumeWith(ContinuationImpl.kt:33) ~[kotlin-stdlib-1.9.0.jar:1.9.0]
\tat com.acme.api.Handler$$Lambda$1402/0x0000000800c03000.accept(Unknown Source) ~[api.jar:1.4.0]
"""

JAVA_MULTILINE = """\
com.acme.ValidationException: Invalid order:
 - quantity must be positive
 - sku missing
\tat com.acme.Validator.check(Validator.java:9)
"""


def test_java_frames_reversed_with_class_method_file_and_line():
    [exc] = parse_java_stack_trace(JAVA_SPRING)
    assert (exc["type"], exc["module"], exc["value"]) == (
        "IllegalStateException", "java.lang", "Order 42 is already shipped")
    frames = exc["frames"]
    assert frames[0]["module"] == "java.lang.Thread" and frames[0]["function"] == "run"
    assert frames[0]["filename"] == "Thread.java" and frames[0]["in_app"] is False
    last = frames[-1]
    assert (last["module"], last["function"], last["filename"], last["lineno"]) == (
        "com.acme.shop.order.OrderService", "cancel", "OrderService.java", 118)
    assert last["in_app"] is True


def test_java_native_method_frame_has_no_line_and_module_prefix_removed():
    [exc] = parse_java_stack_trace(JAVA_SPRING)
    native = exc["frames"][2]
    assert native["module"] == "jdk.internal.reflect.NativeMethodAccessorImpl"
    assert native["function"] == "invoke0"
    assert native["filename"] == "Native Method" and native["lineno"] is None
    assert exc["frames"][1]["in_app"] is False  # org.springframework.


def test_java_caused_by_chain_puts_root_cause_first():
    chain = parse_java_stack_trace(JAVA_CAUSED_BY)
    assert [e["type"] for e in chain] == [
        "PSQLException", "ConstraintViolationException", "DataIntegrityViolationException"]
    root = chain[0]
    assert root["module"] == "org.postgresql.util"
    assert root["value"] == ('ERROR: duplicate key value violates unique constraint "uk_email"\n'
                             "  Detail: Key (email)=(a@b.c) already exists.")
    assert chain[2]["value"] == "could not execute statement; constraint [uk_email]"


RECORDED = Path(__file__).resolve().parent / "recorded"


def test_java_more_lines_are_restored_from_the_enclosing_trace():
    # printStackTrace() of a real Java 17 run of recorded/RouteImport.java.
    chain = parse_java_stack_trace((RECORDED / "java17-route-import.txt").read_text())
    assert [e["type"] for e in chain] == ["FileNotFoundException", "IllegalStateException", "RuntimeException"]
    located = [[(f["function"], f["lineno"]) for f in e["frames"]] for e in chain]
    assert located[2] == [("main", 30), ("handle", 25), ("planRoute", 20)]
    assert located[1] == [("main", 30), ("handle", 25), ("planRoute", 18), ("loadGraph", 12)]
    assert located[0] == [("main", 30), ("handle", 25), ("planRoute", 18), ("loadGraph", 10), ("openGraph", 5)]


def test_java_more_lines_that_cannot_be_restored_invent_nothing():
    chain = parse_java_stack_trace(JAVA_CAUSED_BY)  # "... 9 more" under a cause of four frames
    assert len(chain[0]["frames"]) == 1
    assert chain[1]["frames"][-1]["function"] == "convert" and chain[1]["frames"][-1]["in_app"] is False


def test_java_exception_in_thread_without_message_with_lambdas_and_unknown_source():
    [exc] = parse_java_stack_trace(JAVA_THREAD_MAIN)
    assert (exc["type"], exc["value"], exc["module"]) == ("NullPointerException", None, "java.lang")
    frames = exc["frames"]
    assert frames[0]["module"] == "com.example.App" and frames[0]["function"] == "main"  # app// stripped
    assert frames[1]["module"] == "com.example.App$Inner"
    assert frames[1]["filename"] == "Unknown Source" and frames[1]["lineno"] is None
    assert frames[-1]["function"] == "lambda$main$0" and frames[-1]["lineno"] == 14


def test_java_suppressed_blocks_are_chain_entries_marked_suppressed_with_their_causes():
    chain = parse_java_stack_trace(JAVA_SUPPRESSED)
    # Reversed, the chain reads as printed: the thrown one, its suppressed one and that one's cause, its cause.
    assert [(e["type"], e.get("suppressed", False)) for e in reversed(chain)] == [
        ("IOException", False), ("IOException", True), ("SocketException", False),
        ("SocketTimeoutException", False)]
    raised, suppressed, suppressed_cause, cause = reversed(chain)
    assert raised["value"] == "write failed" and fn(raised["frames"]) == ["copy", "write"]
    assert suppressed["value"] == "close failed"
    # "... 1 more" of the suppressed one: the last frame of the exception that suppressed it.
    assert fn(suppressed["frames"]) == ["copy", "close"]
    # "... 3 more" of its cause, where the suppressed one it wraps has two frames: nothing is invented.
    assert fn(suppressed_cause["frames"]) == ["implWrite"]
    # The outer cause is restored from the thrown exception, not from the suppressed block before it.
    assert fn(cause["frames"]) == ["copy", "write", "socketRead0"]


def test_java_real_suppressed_exceptions_of_try_with_resources():
    # printStackTrace() of a real Java 17 run of recorded/ReportExport.java: closing both resources of a
    # try-with-resources failed after its body threw (one close failure has a cause), then the body's
    # exception was wrapped.
    chain = parse_java_stack_trace((RECORDED / "java17-report-export.txt").read_text())
    assert_well_formed(chain)
    printed = list(reversed(chain))
    assert [(e["module"], e["type"], e["value"], e.get("suppressed", False)) for e in printed] == [
        ("java.io", "UncheckedIOException", "export of q3.csv failed", False),
        ("java.io", "IOException", "disk full", False),
        ("java.io", "IOException", "close failed: q3.csv", True),
        ("java.lang", "IllegalStateException", "unlock failed", True),
        ("java.util.concurrent", "TimeoutException", "lock server timed out", False),
    ]
    located = [[(f["module"].rpartition(".")[2], f["function"], f["lineno"]) for f in e["frames"]] for e in printed]
    assert located[0] == [("ReportExport", "main", 42), ("ReportExport", "export", 36)]
    assert located[1] == [("ReportExport", "main", 42), ("ReportExport", "export", 34), ("ReportExport", "write", 29)]
    assert located[2] == [("ReportExport", "main", 42), ("ReportExport", "export", 33),
                          ("ReportExport$Sink", "close", 17)]
    assert located[3] == [("ReportExport", "main", 42), ("ReportExport", "export", 33),
                          ("ReportExport$Lock", "close", 24)]
    # "... 3 more" alone: every frame comes from the suppressed exception it is the cause of.
    assert located[4] == located[3]
    assert all(f["in_app"] and f["filename"] == "ReportExport.java" for e in chain for f in e["frames"])


def test_java_log_prefix_kotlin_frames_and_logback_jar_suffix():
    [exc] = parse_java_stack_trace(JAVA_KOTLIN_LOGBACK)
    assert (exc["type"], exc["module"], exc["value"]) == ("KotlinNullPointerException", "kotlin", "null")
    frames = exc["frames"]
    assert frames[-1]["module"] == "com.acme.api.Handler$handle$1"
    assert frames[-1]["filename"] == "Handler.kt" and frames[-1]["lineno"] == 27
    assert frames[1]["in_app"] is False  # kotlin.
    assert frames[0]["module"] == "com.acme.api.Handler$$Lambda$1402/0x0000000800c03000"
    assert frames[0]["function"] == "accept"


def test_java_multiline_message_is_kept_whole():
    [exc] = parse_java_stack_trace(JAVA_MULTILINE)
    assert exc["type"] == "ValidationException"
    assert exc["value"] == "Invalid order:\n - quantity must be positive\n - sku missing"


def test_java_log_line_before_the_exception_line_is_not_taken_for_the_type():
    [exc] = parse_java_stack_trace("ERROR: request failed\njava.lang.IllegalStateException: closed\n"
                                   "\tat com.acme.Pool.get(Pool.java:5)")
    assert (exc["type"], exc["module"], exc["value"]) == ("IllegalStateException", "java.lang", "closed")


# ------------------------------------------------------------------------------------------ Java elements


JAVA_ELEMENTS = [
    {"className": "com.acme.pay.Gateway", "methodName": "charge", "fileName": "Gateway.java", "lineNumber": 77},
    {"className": "com.acme.pay.Checkout", "methodName": "lambda$pay$2", "fileName": "Checkout.java",
     "lineNumber": 40},
    {"className": "java.util.concurrent.FutureTask", "methodName": "run", "fileName": "FutureTask.java",
     "lineNumber": 264},
    {"className": "jdk.internal.misc.Unsafe", "methodName": "park", "fileName": None, "lineNumber": -2},
    {"className": "java.lang.Thread", "methodName": "run", "fileName": "Thread.java", "lineNumber": 833},
]


def test_java_elements_are_reversed_to_oldest_first():
    [exc] = parse_java_elements(JAVA_ELEMENTS, "com.acme.pay.PaymentDeclined", "card declined")
    assert (exc["type"], exc["module"], exc["value"]) == ("PaymentDeclined", "com.acme.pay", "card declined")
    assert fn(exc["frames"]) == ["run", "park", "run", "lambda$pay$2", "charge"]
    assert exc["frames"][-1]["lineno"] == 77 and exc["frames"][-1]["in_app"] is True


def test_java_elements_native_line_minus_two_is_native_method():
    [exc] = parse_java_elements(JAVA_ELEMENTS)
    native = exc["frames"][1]
    assert native["filename"] == "Native Method" and native["lineno"] is None and native["in_app"] is False
    assert (exc["type"], exc["value"], exc["module"]) == (None, None, None)


def test_java_elements_unknown_line_and_missing_file():
    [exc] = parse_java_elements([{"className": "com.acme.Gen$$Proxy", "methodName": "call", "lineNumber": -1}],
                                "IllegalArgumentException")
    frame = exc["frames"][0]
    assert (frame["filename"], frame["lineno"], frame["module"]) == ("Unknown Source", None, "com.acme.Gen$$Proxy")
    assert (exc["type"], exc["module"]) == ("IllegalArgumentException", None)


def test_java_elements_framework_classes_are_not_in_app():
    elements = [{"className": name, "methodName": "m", "fileName": "X.java", "lineNumber": 1} for name in (
        "org.springframework.web.X", "io.netty.channel.X", "com.fasterxml.jackson.X", "jakarta.servlet.X",
        "org.junit.jupiter.X", "com.acme.X")]
    [exc] = parse_java_elements(elements)
    assert [f["in_app"] for f in exc["frames"]] == [True, False, False, False, False, False]


def test_java_elements_skip_garbage_and_keep_newest_when_over_the_cap():
    many = [{"className": f"com.acme.C{i}", "methodName": "m", "fileName": "C.java", "lineNumber": i}
            for i in range(MAX_FRAMES + 50)]
    [exc] = parse_java_elements(["junk", None] + many)
    assert len(exc["frames"]) <= MAX_FRAMES
    assert exc["frames"][-1]["module"] == "com.acme.C0"  # the newest element is kept, last
    [empty] = parse_java_elements("not a list")
    assert empty["frames"] == []


# -------------------------------------------------------------------------------------------- JS (Chrome)

JS_CHROME_BUNDLE = """\
TypeError: Cannot read properties of undefined (reading 'map')
    at OrderList (https://shop.example.com/static/js/main.3f2a9c.js:1:23456)
    at renderWithHooks (https://shop.example.com/static/js/vendors~main.8d1e.chunk.js:2:98765)
    at https://shop.example.com/static/js/main.3f2a9c.js:1:400
    at HTMLButtonElement.onclick (chrome-extension://abcdefghijklmnop/inject.js:5:10)"""

JS_NODE = """\
Error: connect ECONNREFUSED 127.0.0.1:5432
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)
    at Client._connectionCallback (/srv/api/node_modules/pg/lib/client.js:132:24)
    at Object.<anonymous> (/srv/api/src/db.js:12:3)
    at Module._compile (node:internal/modules/cjs/loader:1256:14)"""

JS_ASYNC = """\
Error: payment failed
    at chargeCard (/srv/api/src/payments.ts:40:11)
    at async processOrder (/srv/api/src/orders.ts:88:5)
    at async Promise.all (index 0)
    at async /srv/api/src/worker.ts:12:7"""

JS_EVAL_NEW_ANON = """\
ReferenceError: config is not defined
    at eval (eval at loadPlugin (https://app.example.com/js/app.js:10:20), <anonymous>:1:1)
    at new PluginHost (https://app.example.com/js/app.js:30:15)
    at Array.forEach (<anonymous>)
    at <anonymous>"""

JS_NO_MESSAGE = """\
Uncaught Error
    at https://cdn.example.com/polyfills.2b3c.js:1:99
    at main (https://cdn.example.com/app.js:3:1)"""


def test_js_chrome_header_type_value_and_reversed_frames():
    [exc] = parse_js_stack(JS_CHROME_BUNDLE)
    assert (exc["type"], exc["value"], exc["module"]) == (
        "TypeError", "Cannot read properties of undefined (reading 'map')", None)
    last = exc["frames"][-1]
    assert last["function"] == "OrderList"
    assert last["filename"] == "https://shop.example.com/static/js/main.3f2a9c.js"
    assert last["abs_path"] == last["filename"]
    assert (last["lineno"], last["colno"], last["in_app"]) == (1, 23456, True)


def test_js_chrome_anonymous_vendor_and_extension_frames():
    [exc] = parse_js_stack(JS_CHROME_BUNDLE)
    ext, anon, vendor, _ = exc["frames"]
    assert anon["function"] is None and anon["lineno"] == 1 and anon["colno"] == 400 and anon["in_app"] is True
    assert vendor["function"] == "renderWithHooks" and vendor["in_app"] is False
    assert ext["function"] == "HTMLButtonElement.onclick" and ext["in_app"] is False


def test_js_node_internal_and_node_modules_are_not_in_app():
    [exc] = parse_js_stack(JS_NODE)
    assert (exc["type"], exc["value"]) == ("Error", "connect ECONNREFUSED 127.0.0.1:5432")
    assert [f["in_app"] for f in exc["frames"]] == [False, True, False, False]
    compile_, anon, client, wrap = exc["frames"]
    assert compile_["filename"] == "node:internal/modules/cjs/loader" and compile_["lineno"] == 1256
    assert anon["function"] == "Object.<anonymous>" and anon["filename"] == "/srv/api/src/db.js"
    assert wrap["function"] == "TCPConnectWrap.afterConnect [as oncomplete]"
    assert (wrap["filename"], wrap["lineno"], wrap["colno"]) == ("node:net", 1555, 16)


def test_js_async_frames_drop_the_async_keyword():
    [exc] = parse_js_stack(JS_ASYNC)
    assert fn(exc["frames"]) == [None, "Promise.all", "processOrder", "chargeCard"]
    worker, promise_all, _, _ = exc["frames"]
    assert worker["filename"] == "/srv/api/src/worker.ts" and worker["lineno"] == 12
    assert promise_all["filename"] == "index 0" and promise_all["in_app"] is False


def test_js_eval_frames_point_at_the_calling_script_and_new_is_kept():
    [exc] = parse_js_stack(JS_EVAL_NEW_ANON)
    assert exc["type"] == "ReferenceError"
    anonymous, for_each, host, evaluated = exc["frames"]
    assert evaluated["function"] == "eval"
    assert (evaluated["filename"], evaluated["lineno"], evaluated["colno"]) == (
        "https://app.example.com/js/app.js", 10, 20)
    assert host["function"] == "new PluginHost" and host["in_app"] is True
    assert for_each["filename"] == "<anonymous>" and for_each["in_app"] is False
    assert anonymous["filename"] == "<anonymous>" and anonymous["function"] is None


def test_js_error_without_message_and_uncaught_prefix_and_polyfills():
    [exc] = parse_js_stack(JS_NO_MESSAGE)
    assert (exc["type"], exc["value"]) == ("Error", None)
    assert [f["in_app"] for f in exc["frames"]] == [True, False]


def test_js_node_uncaught_output_skips_the_source_excerpt_before_the_error_line():
    text = ("/srv/api/x.js:12\n    throw new Error('boom');\n    ^\n\nError: boom\n"
            "    at Object.<anonymous> (/srv/api/x.js:12:11)\n\nNode.js v18.17.0")
    [exc] = parse_js_stack(text)
    assert (exc["type"], exc["value"]) == ("Error", "boom")
    assert [(f["filename"], f["lineno"], f["colno"]) for f in exc["frames"]] == [("/srv/api/x.js", 12, 11)]


# ------------------------------------------------------------------------------------------ JS (Firefox)

JS_FIREFOX = """\
renderCart@https://shop.example.com/assets/app.4f1.js:120:17
dispatch/<@https://shop.example.com/assets/app.4f1.js:88:9
@https://shop.example.com/assets/app.4f1.js:1:1"""

JS_SAFARI = """\
map@[native code]
renderRows@https://shop.example.com/assets/app.js:55:30
global code@https://shop.example.com/assets/app.js:2:11"""

JS_FIREFOX_EVAL = """\
compute@https://app.example.com/app.js line 42 > eval:3:7
run@https://app.example.com/app.js:42:5"""

JS_FIREFOX_EXTENSION = """\
hook@moz-extension://1234-abcd/content.js:10:2
send@https://app.example.com/js/chunk-vendors.77aa.js:1:5000
submit@https://app.example.com/js/app.js:9:3"""

JS_FIREFOX_WITH_HEADER = """\
InternalError: too much recursion
walk@http://localhost:8080/src/tree.js:4:12
walk@http://localhost:8080/src/tree.js:4:12
start@http://localhost:8080/src/tree.js:9:3"""


def test_js_firefox_frames_reversed_with_anonymous_and_nested_functions():
    [exc] = parse_js_stack(JS_FIREFOX)
    assert exc["type"] is None and exc["value"] is None
    assert fn(exc["frames"]) == [None, "dispatch/<", "renderCart"]
    last = exc["frames"][-1]
    assert (last["filename"], last["lineno"], last["colno"], last["in_app"]) == (
        "https://shop.example.com/assets/app.4f1.js", 120, 17, True)


def test_js_safari_native_code_and_global_code():
    [exc] = parse_js_stack(JS_SAFARI)
    assert fn(exc["frames"]) == ["global code", "renderRows", "map"]
    native = exc["frames"][-1]
    assert native["filename"] == "[native code]" and native["in_app"] is False and native["lineno"] is None


def test_js_firefox_eval_frames_use_the_script_and_line():
    [exc] = parse_js_stack(JS_FIREFOX_EVAL)
    evaluated = exc["frames"][-1]
    assert evaluated["function"] == "compute"
    assert (evaluated["filename"], evaluated["lineno"]) == ("https://app.example.com/app.js", 42)


def test_js_firefox_extensions_and_vendor_chunks_are_not_in_app():
    [exc] = parse_js_stack(JS_FIREFOX_EXTENSION)
    assert [f["in_app"] for f in exc["frames"]] == [True, False, False]


def test_js_firefox_with_header_line():
    [exc] = parse_js_stack(JS_FIREFOX_WITH_HEADER)
    assert (exc["type"], exc["value"]) == ("InternalError", "too much recursion")
    assert fn(exc["frames"]) == ["start", "walk", "walk"]
    assert exc["frames"][0]["colno"] == 3


# ------------------------------------------------------------------------------------ React component stack

REACT_16 = """
    in OrderRow (created by OrderTable)
    in tbody (created by OrderTable)
    in OrderTable (at App.js:22)
    in ErrorBoundary (at App.js:20)
    in App"""

REACT_18 = """
    at OrderRow (http://localhost:3000/static/js/bundle.js:120:5)
    at tbody
    at OrderTable (http://localhost:3000/static/js/bundle.js:90:5)
    at App"""

REACT_FIREFOX = """
OrderRow@http://localhost:3000/static/js/bundle.js:120:5
OrderTable@http://localhost:3000/static/js/bundle.js:90:5
App@http://localhost:3000/static/js/bundle.js:10:3"""

REACT_WITH_MESSAGE = """The above error occurred in the <Chart> component:

    in ForwardRef(Chart) (created by Dashboard)
    in Context.Provider (created by Dashboard)
    in Dashboard

Consider adding an error boundary to your tree to customize error handling behavior."""


def test_react_component_stack_in_lines_innermost_first():
    assert parse_react_component_stack(REACT_16) == ["OrderRow", "tbody", "OrderTable", "ErrorBoundary", "App"]


def test_react_18_component_stack_at_lines():
    assert parse_react_component_stack(REACT_18) == ["OrderRow", "tbody", "OrderTable", "App"]


def test_react_firefox_component_stack():
    assert parse_react_component_stack(REACT_FIREFOX) == ["OrderRow", "OrderTable", "App"]


def test_react_component_stack_ignores_message_lines_and_keeps_wrapped_names():
    assert parse_react_component_stack(REACT_WITH_MESSAGE) == [
        "ForwardRef(Chart)", "Context.Provider", "Dashboard"]


def test_react_component_stack_garbage_gives_empty_list():
    assert parse_react_component_stack("") == []
    assert parse_react_component_stack(None) == []
    assert parse_react_component_stack("nothing here\n\n") == []


# ------------------------------------------------------------------------------------------------- Dart

DART_FLUTTER = """\
#0      OrderCard.build (package:shop_app/widgets/order_card.dart:42:7)
#1      StatelessElement.build (package:flutter/src/widgets/framework.dart:5541:49)
#2      _rootRun (dart:async/zone.dart:1418:47)
<asynchronous suspension>
#3      OrdersPage._load (package:shop_app/pages/orders.dart:88:5)
<asynchronous suspension>"""

DART_VM_NO_COLUMN = """\
Unhandled exception:
FormatException: Invalid radix-10 number (at character 1)
abc
^

#0      int._throwFormatException (dart:core-patch/integers_patch.dart:195)
#1      int._parse (dart:core-patch/integers_patch.dart:112)
#2      main (file:///home/dev/cli/bin/cli.dart:5:11)"""

DART_WEB = """\
dart-sdk/lib/_internal/js_dev_runtime/private/ddc_runtime/errors.dart 294:49  throw_
packages/shop_app/services/api.dart 31:7                                       fetchOrders
packages/flutter/src/widgets/framework.dart 4567:12                           [_firstBuild]
packages/shop_app/main.dart 12:3                                               main"""

DART_OBFUSCATED = """\
*** *** *** *** *** *** *** *** *** *** *** *** *** *** *** ***
pid: 1234, tid: 5678, name 1.ui
os: android arch: arm64 comp: yes sim: no
build_id: 'a1b2c3'
isolate_dso_base: 7a1c000000, vm_dso_base: 7a1c000000
    #00 abs 000000000017a5c3 virt 00000000001907c3 _kDartIsolateSnapshotInstructions+0x1345c3
    #01 abs 0000000000180000 virt 0000000000196000 _kDartIsolateSnapshotInstructions+0x13a000
#0      main (package:shop_app/main.dart:9:3)"""

DART_LOGCAT = """\
E/flutter ( 6310): [ERROR:flutter/runtime/dart_vm_initializer.cc(41)] Unhandled Exception: Bad state: No element
E/flutter ( 6310): #0      ListMixin.firstWhere (dart:collection/list.dart:167:5)
E/flutter ( 6310): #1      CartModel.itemFor (package:shop_app/models/cart.dart:23:18)
E/flutter ( 6310): <asynchronous suspension>
E/flutter ( 6310): """


def test_dart_flutter_frames_reversed_with_package_modules_and_async_suspension_skipped():
    [exc] = parse_dart_stack(DART_FLUTTER)
    assert fn(exc["frames"]) == ["OrdersPage._load", "_rootRun", "StatelessElement.build", "OrderCard.build"]
    last = exc["frames"][-1]
    assert (last["filename"], last["lineno"], last["colno"], last["module"], last["in_app"]) == (
        "package:shop_app/widgets/order_card.dart", 42, 7, "shop_app", True)
    assert exc["frames"][1]["module"] == "dart:async" and exc["frames"][1]["in_app"] is False
    assert exc["frames"][2]["module"] == "flutter" and exc["frames"][2]["in_app"] is False


def test_dart_vm_frames_without_column_and_format_exception_header():
    [exc] = parse_dart_stack(DART_VM_NO_COLUMN)
    assert exc["type"] == "FormatException"
    assert exc["value"].startswith("Invalid radix-10 number (at character 1)\nabc")
    main, parse, throw = exc["frames"]
    assert (throw["lineno"], throw["colno"], throw["module"]) == (195, None, "dart:core-patch")
    assert (main["filename"], main["lineno"], main["colno"], main["module"], main["in_app"]) == (
        "file:///home/dev/cli/bin/cli.dart", 5, 11, None, True)
    assert main["abs_path"] == "file:///home/dev/cli/bin/cli.dart"


def test_dart_web_compiled_frames():
    [exc] = parse_dart_stack(DART_WEB)
    assert fn(exc["frames"]) == ["main", "[_firstBuild]", "fetchOrders", "throw_"]
    main, first_build, fetch, throw = exc["frames"]
    assert (main["filename"], main["lineno"], main["colno"], main["module"], main["in_app"]) == (
        "packages/shop_app/main.dart", 12, 3, "shop_app", True)
    assert first_build["in_app"] is False and first_build["module"] == "flutter"
    assert fetch["lineno"] == 31 and throw["in_app"] is False


def test_dart_obfuscated_lines_are_skipped_safely():
    [exc] = parse_dart_stack(DART_OBFUSCATED)
    assert fn(exc["frames"]) == ["main"]
    assert exc["frames"][0]["module"] == "shop_app"


def test_dart_android_logcat_prefix_and_untyped_bad_state_message():
    [exc] = parse_dart_stack(DART_LOGCAT)
    assert (exc["type"], exc["value"]) == (None, "Bad state: No element")
    assert fn(exc["frames"]) == ["CartModel.itemFor", "ListMixin.firstWhere"]
    assert exc["frames"][0]["in_app"] is True and exc["frames"][1]["in_app"] is False


def test_dart_text_without_frames_gives_empty_list():
    assert parse_dart_stack("Bad state: No element") == []


# ---------------------------------------------------------------------------------------------- detection

DETECTION_SAMPLES = [
    (PY_FLASK, "NoResultFound"), (PY_DURING_HANDLING, "ValueError"), (PY_WINDOWS, "IntegrityError"),
    (PY_GROUP, "ExceptionGroup"),
    (PHP_TEXT_FATAL, "InvalidArgumentException"), (PHP_TEXT_LARAVEL_LOG, "QueryException"),
    (JAVA_SPRING, "IllegalStateException"), (JAVA_CAUSED_BY, "DataIntegrityViolationException"),
    (JAVA_THREAD_MAIN, "NullPointerException"), (JAVA_KOTLIN_LOGBACK, "KotlinNullPointerException"),
    (JS_CHROME_BUNDLE, "TypeError"), (JS_NODE, "Error"), (JS_EVAL_NEW_ANON, "ReferenceError"),
    (JS_FIREFOX_WITH_HEADER, "InternalError"),
    (DART_VM_NO_COLUMN, "FormatException"),
]


@pytest.mark.parametrize(("text", "raised_type"), DETECTION_SAMPLES)
def test_detect_and_parse_without_hint_picks_the_right_parser(text, raised_type):
    chain = detect_and_parse(text)
    assert_well_formed(chain)
    assert chain[-1]["type"] == raised_type
    assert chain[-1]["frames"]


@pytest.mark.parametrize(("text", "parser"), [
    (PY_RECURSION, parse_python_traceback), (PY_SYNTAX, parse_python_traceback),
    (PHP_TEXT_CONTROLLER, parse_php_trace_text), (PHP_TEXT_EVAL_AND_CLOSURE, parse_php_trace_text),
    (PHP_TEXT_WINDOWS, parse_php_trace_text),
    (JAVA_SUPPRESSED, parse_java_stack_trace), (JAVA_MULTILINE, parse_java_stack_trace),
    (JS_ASYNC, parse_js_stack), (JS_NO_MESSAGE, parse_js_stack), (JS_FIREFOX, parse_js_stack),
    (JS_SAFARI, parse_js_stack), (JS_FIREFOX_EVAL, parse_js_stack), (JS_FIREFOX_EXTENSION, parse_js_stack),
    (DART_FLUTTER, parse_dart_stack), (DART_WEB, parse_dart_stack), (DART_OBFUSCATED, parse_dart_stack),
    (DART_LOGCAT, parse_dart_stack),
])
def test_detect_and_parse_without_hint_gives_the_same_frames_as_the_parser(text, parser):
    expected = parser(text)
    expected_frames = expected if expected and "filename" in expected[0] else expected[-1]["frames"]
    chain = detect_and_parse(text)
    assert_well_formed(chain)
    assert chain[-1]["frames"] == expected_frames


def test_detect_and_parse_honours_the_platform_hint():
    assert detect_and_parse(JS_NODE, "node")[-1]["frames"] == parse_js_stack(JS_NODE)[-1]["frames"]
    assert detect_and_parse(DART_FLUTTER, "Flutter") == parse_dart_stack(DART_FLUTTER)
    assert detect_and_parse(JAVA_CAUSED_BY, "kotlin") == parse_java_stack_trace(JAVA_CAUSED_BY)
    assert detect_and_parse(PY_FLASK, "python") == parse_python_traceback(PY_FLASK)


def test_detect_and_parse_wrong_hint_falls_back_to_detection():
    assert detect_and_parse(PY_FLASK, "java") == parse_python_traceback(PY_FLASK)
    assert detect_and_parse(JAVA_SPRING, "weird-platform") == parse_java_stack_trace(JAVA_SPRING)


def test_detect_and_parse_accepts_structured_json_traces():
    import json

    exc = {"class": "App\\Boom", "message": "boom", "file": "/srv/a.php", "line": 3, "trace": PHP_LARAVEL_TRACE}
    [parsed] = detect_and_parse(json.dumps(exc))
    assert parsed["type"] == "Boom" and parsed["frames"][-1]["filename"] == "/srv/a.php"
    [java] = detect_and_parse(json.dumps(JAVA_ELEMENTS))
    assert java["frames"][-1]["function"] == "charge"
    [php] = detect_and_parse(PHP_LARAVEL_TRACE)
    assert len(php["frames"]) == 6


def test_detect_and_parse_unknown_text_returns_first_line_without_frames():
    assert detect_and_parse("\n  Something odd happened  \nsecond line") == [
        {"type": None, "value": "Something odd happened", "module": None, "frames": []}]
    assert detect_and_parse("") == [{"type": None, "value": None, "module": None, "frames": []}]
    assert detect_and_parse(None) == [{"type": None, "value": None, "module": None, "frames": []}]


# --------------------------------------------------------------------------------------------- robustness

PATHOLOGICAL = [
    "", None, 12345, 3.5, b"\xff\xfe\x00binary\x00\x01", object(), {"class": None}, ["x"], [{"file": 1}],
    "x" * 100_000,
    "at " * 50_000,
    "(" * 50_000 + ")" * 50_000,
    "at " + "(" * 50_000 + ")" * 50_000,
    "    at f (" + "(" * 30_000 + "x.js:1:2" + ")" * 30_000,
    "#0 " + "(" * 50_000 + "): " + "->" * 20_000,
    "#0 " + "package:" * 20_000 + ")",
    'File "' * 30_000,
    "Traceback (most recent call last):\n" + '  File "x", line 1, in f\n' * 5_000 + "E: boom",
    "Traceback (most recent call last):\n" * 3_000,
    "During handling of the above exception, another exception occurred:\nE: x\n" * 1_000,
    "Caused by: a.B: x\n" * 5_000,
    "java.lang.E: x\n" + "\tat a.B.c(B.java:1)\n" * 10_000,
    "\tSuppressed: x\n" * 3_000,
    "Error: x\n" + "    at f (https://x/a.js:1:2)\n" * 10_000,
    "@" * 100_000,
    "f@" * 30_000 + "x:1:2",
    ":" * 100_000,
    "1:" * 50_000,
    "#0      " + " (" * 30_000 + ")",
    "packages/a.dart 1:2 " * 10_000,
    "\r" * 50_000 + "\n" * 50_000,
    "\x00" * 10_000,
    "[object] (" * 10_000 + "(code: ",
    "Uncaught " * 10_000 + ": in :",
    "+-" * 10_000 + "\n  | " * 5_000 + "Exception Group Traceback (most recent call last):",
    "\u2028\u2029\ufeff" * 10_000,
    "{" * 10_000 + "}" * 10_000,
    "[" * 100_000,
]

ALL_TEXT_PARSERS = [parse_python_traceback, parse_php_trace_text, parse_java_stack_trace, parse_js_stack,
                    parse_dart_stack, parse_react_component_stack]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=lambda value: repr(value)[:30])
def test_parsers_never_raise_on_garbage_huge_or_pathological_input(text):
    for parser in ALL_TEXT_PARSERS:
        result = parser(text)
        assert isinstance(result, list)
    for hint in (None, "python", "php", "java", "node", "dart", "nonsense", 42):
        chain = detect_and_parse(text, hint)
        assert_well_formed(chain)
        assert len(chain) >= 1
    assert isinstance(parse_php_trace(text), list)
    assert isinstance(php_exception_chain(text), list)
    assert isinstance(parse_java_elements(text), list)


def test_frames_are_capped_keeping_the_newest_and_chains_are_capped():
    java = "java.lang.E: x\n" + "".join(f"\tat a.B.m{i}(B.java:{i + 1})\n" for i in range(1000))
    [exc] = parse_java_stack_trace(java)
    assert len(exc["frames"]) == MAX_FRAMES
    assert exc["frames"][-1]["function"] == "m0"  # the newest frame (printed first) is kept, last

    python = "Traceback (most recent call last):\n" + "".join(
        f'  File "/app/m.py", line {i + 1}, in f{i}\n' for i in range(600)) + "RuntimeError: deep"
    [exc] = parse_python_traceback(python)
    assert len(exc["frames"]) == MAX_FRAMES and exc["frames"][-1]["function"] == "f599"
    assert exc["type"] == "RuntimeError"

    chained = "java.lang.E0: x\n\tat a.B.c(B.java:1)\n" + "".join(
        f"Caused by: java.lang.E{i}: x\n\tat a.B.c(B.java:1)\n" for i in range(1, 30))
    chain = parse_java_stack_trace(chained)
    assert len(chain) == MAX_CHAIN and chain[-1]["type"] == "E0"


def test_long_fields_are_truncated():
    [exc] = parse_js_stack("Error: " + "m" * 3000 + "\n    at f (https://x/" + "p" * 3000 + ".js:1:2)")
    assert len(exc["value"]) == MAX_STR
    assert len(exc["frames"][0]["filename"]) == MAX_STR
