"""Realistic ingest events for the benchmark.

Six sources, as the platform's services send them: the Django AI API through the JSON API, and the
Laravel web API, the Java geo API, the React frontend, the Flutter apps and the report workers
(Node.js, through the generic webhook) through their webhooks. Each event carries a 15-frame stack in
its platform's native format, request and user context and tags, about 4 KB of JSON. There are 50
error templates (50 fingerprints); the events of one template differ in their ids, numbers, users
and times, as repeated occurrences of one error do.

``python bench/payloads.py`` prints the mix, the body sizes and the number of distinct fingerprints
as Heartwatch computes them (it runs the real normalisers).
"""
from __future__ import annotations

import datetime as dt
import gzip
import random
import uuid
from dataclasses import dataclass

import orjson

FRAMES = 15
TEMPLATES_PER_SOURCE = {"api": 9, "laravel": 9, "java": 8, "frontend": 8, "mobile": 8, "generic": 8}
SOURCES = tuple(TEMPLATES_PER_SOURCE)

PATHS = {
    "api": "/api/errors/",
    "laravel": "/webhook/laravel/",
    "java": "/webhook/java/",
    "frontend": "/webhook/frontend/",
    "mobile": "/webhook/mobile/",
    "generic": "/webhook/generic/",
}

# One service per source, with the platform it is created with (flask create-service --platform).
SERVICES = {
    "api": ("Django AI API", "python"),
    "laravel": ("Laravel Web API", "php"),
    "java": ("Java Geo API", "java"),
    "frontend": ("React Shop", "javascript"),
    "mobile": ("Flutter App", "dart"),
    "generic": ("Report Workers", "other"),
}

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
)
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1")
WORDS = ("order", "invoice", "tile", "route", "cart", "model", "report", "account", "payment", "export",
         "session", "upload", "profile", "search", "quota", "webhook", "shipment", "coupon", "ledger", "token")
VERBS = ("load", "fetch", "render", "build", "apply", "resolve", "validate", "compute", "sync", "handle",
         "parse", "store", "refresh", "prepare", "dispatch", "merge", "score", "encode", "lookup", "publish")


def _camel(*parts: str) -> str:
    return "".join(p.capitalize() for p in parts)


@dataclass(frozen=True)
class Template:
    """One error of one service: its type, message pattern and call path (what its fingerprint is made of)."""

    source: str
    index: int
    error_type: str
    message: str  # with {n}, {m} and {id} placeholders filled per event
    calls: tuple[tuple[str, str], ...]  # (module or class, function), outermost call first
    endpoint: str


def _in_app_calls(rng: random.Random, count: int) -> list[tuple[str, str]]:
    calls = []
    for _ in range(count):
        noun, verb = rng.choice(WORDS), rng.choice(VERBS)
        calls.append((noun, verb + "_" + rng.choice(WORDS)))
    return calls


_ERRORS = {
    "api": [("ValueError", "model {id} returned {n} scores for {m} inputs"),
            ("KeyError", "'feature_{n}'"),
            ("django.db.utils.OperationalError", "could not obtain lock on row {n} in relation \"jobs\""),
            ("TimeoutError", "inference backend did not answer within {n} ms"),
            ("RuntimeError", "CUDA out of memory: tried to allocate {n} MiB"),
            ("PermissionError", "user {m} may not read dataset {id}"),
            ("json.decoder.JSONDecodeError", "Expecting value: line {m} column {n} (char {n})"),
            ("redis.exceptions.ConnectionError", "Error 111 connecting to cache-{m}:6379. Connection refused."),
            ("ZeroDivisionError", "division by zero")],
    "laravel": [("App\\Exceptions\\PaymentDeclinedException", "Payment {id} declined: insufficient funds"),
                ("Illuminate\\Database\\QueryException", "SQLSTATE[40001]: Serialization failure: 1213 Deadlock "
                 "found (SQL: update `orders` set `status` = shipped where `id` = {n})"),
                ("Symfony\\Component\\HttpKernel\\Exception\\NotFoundHttpException", "Order {n} not found"),
                ("ErrorException", "Undefined array key \"sku_{n}\""),
                ("App\\Exceptions\\InventoryException", "Only {m} of {n} items left for product {id}"),
                ("Illuminate\\Http\\Client\\ConnectionException", "cURL error 28: Operation timed out after {n} "
                 "milliseconds"),
                ("TypeError", "App\\Services\\Cart::total(): Argument #1 ($items) must be of type array, null "
                 "given, called in /var/www/app/Http/Controllers/CartController.php on line {n}"),
                ("Illuminate\\Validation\\ValidationException", "The email field must be a valid email "
                 "address. (and {m} more errors)"),
                ("RedisException", "read error on connection to cache:{n}")],
    "java": [("com.acme.geo.tiles.TileNotFoundException", "tile 12/{n}/{m} missing in layer {id}"),
             ("java.lang.NullPointerException", "Cannot invoke \"com.acme.geo.model.Route.getLegs()\" because "
              "\"route\" is null"),
             ("org.springframework.dao.DataAccessResourceFailureException", "Unable to acquire JDBC Connection "
              "after {n} ms"),
             ("java.lang.IllegalArgumentException", "latitude {n}.{m} out of range"),
             ("com.acme.geo.routing.NoRouteException", "no route between {id} and {n}"),
             ("java.util.concurrent.TimeoutException", "geocoder did not answer in {n} ms"),
             ("java.lang.ArrayIndexOutOfBoundsException", "Index {n} out of bounds for length {m}"),
             ("com.fasterxml.jackson.databind.exc.MismatchedInputException", "Cannot deserialize value of type "
              "`java.lang.Double` from String \"n/a\" at line {m} column {n}")],
    "frontend": [("TypeError", "Cannot read properties of undefined (reading 'id')"),
                 ("TypeError", "Cannot read properties of null (reading 'map')"),
                 ("ReferenceError", "analytics is not defined"),
                 ("ChunkLoadError", "Loading chunk {n} failed. (error: https://shop.example.com/static/js/{n}."
                  "chunk.js)"),
                 ("SyntaxError", "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON"),
                 ("RangeError", "Invalid time value"),
                 ("Error", "Request failed with status code 50{m}"),
                 ("TypeError", "Failed to fetch")],
    "mobile": [("FormatException", "Invalid radix-10 number (at character {m})"),
               ("StateError", "Bad state: No element"),
               ("RangeError", "RangeError (index): Invalid value: Not in inclusive range 0..{m}: {n}"),
               ("SocketException", "Connection timed out (OS Error: Connection timed out, errno = 110), "
                "address = api.example.com, port = {n}"),
               ("PlatformException", "PlatformException(sign_in_failed, {n}: , null, null)"),
               ("FlutterError", "A RenderFlex overflowed by {n} pixels on the bottom."),
               ("TimeoutException", "TimeoutException after 0:00:{m}.000000: Future not completed"),
               ("HttpException", "Connection closed before full header was received, uri = "
                "https://api.example.com/v2/orders/{n}")],
    "generic": [("Error", "ENOENT: no such file or directory, open '/data/reports/{id}.csv'"),
                ("TypeError", "Cannot read properties of undefined (reading 'total')"),
                ("Error", "connect ECONNREFUSED 127.0.0.1:{n}"),
                ("RangeError", "Maximum call stack size exceeded"),
                ("Error", "Timeout of {n}ms exceeded while rendering report {id}"),
                ("SyntaxError", "Unexpected end of JSON input"),
                ("Error", "Quota of {m} exports per hour reached for account {n}"),
                ("AbortError", "The operation was aborted.")],
}


def make_templates() -> list[Template]:
    """The 50 errors of the mix, the same on every run (seeded)."""
    templates = []
    for source, count in TEMPLATES_PER_SOURCE.items():
        for index in range(count):
            rng = random.Random(f"{source}-{index}")
            error_type, message = _ERRORS[source][index]
            endpoint_noun = rng.choice(WORDS)
            templates.append(Template(
                source=source, index=index, error_type=error_type, message=message,
                calls=tuple(_in_app_calls(rng, 7)),
                endpoint=f"/{'v1' if source != 'laravel' else 'api'}/{endpoint_noun}s/{{n}}",
            ))
    return templates


# --- native stack formats, 15 frames each (7 in-app, 8 from frameworks and the runtime) -----------

def _python_traceback(t: Template, rng: random.Random, message: str) -> str:
    library = [
        ("/srv/ai/.venv/lib/python3.11/site-packages/django/core/handlers/exception.py", "inner",
         "response = get_response(request)"),
        ("/srv/ai/.venv/lib/python3.11/site-packages/django/core/handlers/base.py", "_get_response",
         "response = wrapped_callback(request, *callback_args, **callback_kwargs)"),
        ("/srv/ai/.venv/lib/python3.11/site-packages/django/views/decorators/csrf.py", "_view_wrapper",
         "return view_func(request, *args, **kwargs)"),
        ("/srv/ai/.venv/lib/python3.11/site-packages/rest_framework/views.py", "dispatch",
         "response = handler(request, *args, **kwargs)"),
        ("/srv/ai/.venv/lib/python3.11/site-packages/rest_framework/generics.py", "post",
         "return self.create(request, *args, **kwargs)"),
        ("/srv/ai/.venv/lib/python3.11/site-packages/rest_framework/mixins.py", "create",
         "self.perform_create(serializer)"),
        ("/srv/ai/.venv/lib/python3.11/site-packages/django/db/transaction.py", "inner",
         "return func(*args, **kwds)"),
        ("/usr/lib/python3.11/contextlib.py", "inner", "return func(*args, **kwds)"),
    ]
    lines = ["Traceback (most recent call last):"]
    frames = [(p, f, c) for p, f, c in library]
    for module, function in t.calls:
        frames.append((f"/srv/ai/predictor/{module}s/{function.split('_')[0]}.py", function,
                       f"result = {function}(payload, context=ctx)"))
    for path, function, code in frames:
        lines.append(f'  File "{path}", line {rng.randint(20, 900)}, in {function}')
        lines.append(f"    {code}")
    lines.append(f"{t.error_type}: {message}")
    return "\n".join(lines) + "\n"


def _laravel_trace(t: Template, rng: random.Random) -> list[dict]:
    library = [
        ("/var/www/vendor/laravel/framework/src/Illuminate/Routing/Controller.php", "callAction",
         "Illuminate\\Routing\\Controller"),
        ("/var/www/vendor/laravel/framework/src/Illuminate/Routing/ControllerDispatcher.php", "dispatch",
         "Illuminate\\Routing\\ControllerDispatcher"),
        ("/var/www/vendor/laravel/framework/src/Illuminate/Routing/Route.php", "runController",
         "Illuminate\\Routing\\Route"),
        ("/var/www/vendor/laravel/framework/src/Illuminate/Routing/Router.php", "runRouteWithinStack",
         "Illuminate\\Routing\\Router"),
        ("/var/www/vendor/laravel/framework/src/Illuminate/Pipeline/Pipeline.php", "handle",
         "Illuminate\\Pipeline\\Pipeline"),
        ("/var/www/vendor/laravel/framework/src/Illuminate/Auth/Middleware/Authenticate.php", "handle",
         "Illuminate\\Auth\\Middleware\\Authenticate"),
        ("/var/www/vendor/laravel/framework/src/Illuminate/Foundation/Http/Kernel.php", "sendRequestThroughRouter",
         "Illuminate\\Foundation\\Http\\Kernel"),
    ]
    # getTrace() lists the newest call first.
    trace = []
    for module, function in reversed(t.calls):
        cls = _camel(module) + "Service"
        trace.append({"file": f"/var/www/app/Services/{cls}.php", "line": rng.randint(20, 400),
                      "function": _camel(*function.split("_"))[0].lower() + _camel(*function.split("_"))[1:],
                      "class": f"App\\Services\\{cls}", "type": "->"})
    for path, function, cls in library:
        trace.append({"file": path, "line": rng.randint(20, 300), "function": function, "class": cls,
                      "type": "->"})
    return trace


def _java_stack(t: Template, rng: random.Random, message: str) -> str:
    library = [
        ("org.springframework.web.method.support.InvocableHandlerMethod", "doInvoke", "InvocableHandlerMethod.java"),
        ("org.springframework.web.servlet.mvc.method.annotation.ServletInvocableHandlerMethod", "invokeAndHandle",
         "ServletInvocableHandlerMethod.java"),
        ("org.springframework.web.servlet.DispatcherServlet", "doDispatch", "DispatcherServlet.java"),
        ("org.springframework.web.servlet.FrameworkServlet", "processRequest", "FrameworkServlet.java"),
        ("jakarta.servlet.http.HttpServlet", "service", "HttpServlet.java"),
        ("org.apache.catalina.core.ApplicationFilterChain", "doFilter", "ApplicationFilterChain.java"),
        ("org.apache.tomcat.util.net.NioEndpoint$SocketProcessor", "doRun", "NioEndpoint.java"),
        ("java.base/java.lang.Thread", "run", "Thread.java"),
    ]
    lines = [f"{t.error_type}: {message}"]
    for module, function in reversed(t.calls):
        cls = f"com.acme.geo.{module}.{_camel(module)}Service"
        method = _camel(*function.split("_"))
        method = method[0].lower() + method[1:]
        lines.append(f"\tat {cls}.{method}({_camel(module)}Service.java:{rng.randint(20, 600)})")
    for cls, method, filename in library:
        lines.append(f"\tat {cls}.{method}({filename}:{rng.randint(20, 1200)})")
    return "\n".join(lines)


def _js_stack(t: Template, rng: random.Random, message: str, base: str) -> str:
    type_name = t.error_type
    lines = [f"{type_name}: {message}"]
    for module, function in reversed(t.calls):
        name = _camel(*function.split("_"))
        lines.append(f"    at {name} ({base}/static/js/{module}.{rng.choice('abcdef')}4f3a2b.js:"
                     f"{rng.randint(1, 3)}:{rng.randint(100, 90000)})")
    library = ["renderWithHooks", "updateFunctionComponent", "beginWork", "callCallback", "invokeGuardedCallback",
               "beginWork$1", "performUnitOfWork", "workLoopSync"]
    for function in library:
        lines.append(f"    at {function} ({base}/static/js/vendors~main.9d1c2e.chunk.js:2:{rng.randint(1000, 200000)})")
    return "\n".join(lines)


def _node_stack(t: Template, rng: random.Random, message: str) -> str:
    lines = [f"{t.error_type}: {message}"]
    for module, function in reversed(t.calls):
        name = _camel(*function.split("_"))
        lines.append(f"    at {name} (/srv/reports/src/{module}s/{function.split('_')[0]}.js:"
                     f"{rng.randint(10, 400)}:{rng.randint(5, 60)})")
    library = [
        "processTicksAndRejections (node:internal/process/task_queues:95:5)",
        "async Promise.all (index 0)",
        "Layer.handle [as handle_request] (/srv/reports/node_modules/express/lib/router/layer.js:95:5)",
        "next (/srv/reports/node_modules/express/lib/router/route.js:149:13)",
        "Route.dispatch (/srv/reports/node_modules/express/lib/router/route.js:119:3)",
        "Function.process_params (/srv/reports/node_modules/express/lib/router/index.js:346:12)",
        "Queue.processJob (/srv/reports/node_modules/bullmq/dist/cjs/classes/worker.js:436:28)",
        "Worker.run (/srv/reports/node_modules/bullmq/dist/cjs/classes/worker.js:228:40)",
    ]
    lines.extend(f"    at {frame}" for frame in library)
    return "\n".join(lines)


def _dart_stack(t: Template, rng: random.Random) -> str:
    lines = []
    for module, function in reversed(t.calls):
        cls = _camel(module)
        lines.append(f"{cls}Repository.{function}", )
        lines[-1] = (f"{cls}Repository.{function} (package:shop_app/data/{module}_repository.dart:"
                     f"{rng.randint(10, 300)}:{rng.randint(3, 40)})")
    library = [
        "_RootZone.runUnary (dart:async/zone.dart:1661:54)",
        "_FutureListener.handleValue (dart:async/future_impl.dart:162:18)",
        "Future._propagateToListeners.handleValueCallback (dart:async/future_impl.dart:846:45)",
        "Future._propagateToListeners (dart:async/future_impl.dart:875:13)",
        "Future._completeWithValue (dart:async/future_impl.dart:647:5)",
        "State.setState (package:flutter/src/widgets/framework.dart:1203:42)",
        "StatefulElement.performRebuild (package:flutter/src/widgets/framework.dart:5623:11)",
        "BuildOwner.buildScope (package:flutter/src/widgets/framework.dart:2895:19)",
    ]
    lines.extend(library)
    return "\n".join(f"#{i:<6}{frame}" for i, frame in enumerate(lines))


def _request_headers(rng: random.Random, ua: str, trace_id: str) -> dict:
    return {
        "Accept": "application/json, text/plain, */*",
        "Accept-Encoding": "gzip, deflate, br",
        "Accept-Language": rng.choice(("en-GB,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9")),
        "User-Agent": ua,
        "X-Request-Id": trace_id,
        "X-Forwarded-For": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "Traceparent": f"00-{trace_id.replace('-', '')}-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}-01",
    }


# Breadcrumbs per source bring each event to about 4 KB, as the SDKs' breadcrumb trails do.
BREADCRUMBS = {"api": 6, "laravel": 5, "java": 11, "frontend": 11, "mobile": 14, "generic": 17}
CRUMBS = (
    ("http", "GET https://api.example.com/v2/{noun}s/{n} [200] in {m} ms"),
    ("query", "SELECT id, status, total FROM {noun}s WHERE account_id = {n} LIMIT 50"),
    ("navigation", "/account/{noun}s -> /account/{noun}s/{n}"),
    ("ui.click", "button#{noun}-submit.btn.btn-primary"),
    ("cache", "miss {noun}:{n} (ttl {m} s)"),
    ("log", "retrying {noun} sync for account {n} (attempt {m})"),
)


def _breadcrumbs(rng: random.Random, count: int, stamp: str) -> list[dict]:
    crumbs = []
    for _ in range(count):
        category, text = rng.choice(CRUMBS)
        crumbs.append({"timestamp": stamp, "category": category, "level": "info",
                       "message": text.format(noun=rng.choice(WORDS), n=rng.randint(100, 99999),
                                              m=rng.randint(1, 999))})
    return crumbs


def make_event(t: Template, serial: int, now: dt.datetime | None = None) -> dict:
    """One event of template ``t``; ``serial`` varies the ids, numbers, user and line numbers."""
    event = _make_event(t, serial, now)
    rng = random.Random(f"crumbs-{t.source}-{serial}")
    event["breadcrumbs"] = _breadcrumbs(rng, BREADCRUMBS[t.source], event.get("timestamp") or event["@timestamp"])
    return event


def _make_event(t: Template, serial: int, now: dt.datetime | None = None) -> dict:
    rng = random.Random(f"{t.source}-{t.index}-{serial}")
    n, m = rng.randint(100, 99999), rng.randint(1, 99)
    ident = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
    message = t.message.format(n=n, m=m, id=ident)
    trace_id = str(uuid.UUID(int=rng.getrandbits(128)))
    user_id = rng.randint(1, 250000)
    ua = rng.choice(USER_AGENTS)
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat().replace("+00:00", "Z")
    path = t.endpoint.format(n=n)
    user = {"id": str(user_id), "email": f"customer{user_id}@example.com", "ip_address": f"203.0.113.{m}"}
    region = rng.choice(REGIONS)
    if t.source == "api":
        return {
            "error_type": t.error_type, "message": message,
            "stack_trace": _python_traceback(t, rng, message),
            "environment": "production", "release": "ai-api@3.14.2", "server_name": f"ai-api-{rng.randint(1, 6)}",
            "user": user, "timestamp": stamp,
            "request": {"url": f"https://ai.example.com{path}?model=ranker-v{m % 4}", "method": "POST",
                        "headers": _request_headers(rng, ua, trace_id),
                        "data": {"model": f"ranker-v{m % 4}", "inputs": m, "threshold": 0.75}},
            "tags": {"region": region, "model": f"ranker-v{m % 4}", "request_id": trace_id, "worker": "gunicorn"},
        }
    if t.source == "laravel":
        trace = _laravel_trace(t, rng)
        return {
            "exception": {"class": t.error_type, "message": message, "code": 0,
                          "file": trace[0]["file"], "line": rng.randint(20, 400), "trace": trace},
            "request": {"url": f"https://web.example.com{path}", "method": rng.choice(("GET", "POST", "PUT")),
                        "headers": _request_headers(rng, ua, trace_id), "route": "orders.update",
                        "input": {"quantity": m, "coupon": None}},
            "user": user, "environment": "production", "level": "error", "release": "web@2024.06.3",
            "timestamp": stamp, "tags": {"region": region, "request_id": trace_id, "php": "8.3.8"},
        }
    if t.source == "java":
        return {
            "@timestamp": stamp, "@version": "1", "message": f"Request processing failed: {message}",
            "logger_name": "com.acme.geo.web.ApiExceptionHandler", "thread_name": f"http-nio-8080-exec-{m % 20}",
            "level": "ERROR", "level_value": 40000, "stack_trace": _java_stack(t, rng, message),
            "HOSTNAME": f"geo-api-{rng.randint(1, 4)}", "traceId": trace_id.replace("-", ""),
            "spanId": ident[:16], "requestUri": path, "requestMethod": "GET", "clientIp": user["ip_address"],
            "userId": user["id"], "environment": "production", "release": "geo-api-1.42.0",
            "request": {"url": f"https://geo.example.com{path}", "method": "GET",
                        "headers": _request_headers(rng, ua, trace_id)},
        }
    if t.source == "frontend":
        base = "https://shop.example.com"
        stack = _js_stack(t, rng, message, base)
        component = "\n".join(f"    at {_camel(c)}{_camel(f.split('_')[0])} ({base}/static/js/main.4f3a2b.js:2:"
                              f"{rng.randint(1000, 90000)})" for c, f in t.calls[:5])
        return {
            "message": message, "name": t.error_type, "stack": stack,
            "filename": f"{base}/static/js/main.4f3a2b.js", "lineno": 2, "colno": rng.randint(1000, 90000),
            "url": f"{base}/checkout?step={m % 4}", "userAgent": ua, "componentStack": component,
            "framework": "react", "user": {"id": user["id"], "email": user["email"]}, "environment": "production",
            "release": "shop-web@5.8.1", "timestamp": stamp,
            "tags": {"locale": "en-GB", "viewport": f"{rng.choice((390, 1280, 1920))}x{rng.choice((844, 800, 1080))}",
                     "session_id": ident},
        }
    if t.source == "mobile":
        return {
            "exception": t.error_type, "message": message, "stackTrace": _dart_stack(t, rng),
            "library": "shop_app", "context": f"while loading {t.calls[0][0]} {n}",
            "platform": rng.choice(("android", "ios")), "appVersion": "4.2.0+412",
            "device": {"model": rng.choice(("Pixel 7", "iPhone14,2", "SM-S918B", "iPhone15,3")),
                       "osVersion": rng.choice(("14", "17.5", "13")), "locale": "de_DE",
                       "memoryMb": rng.choice((4096, 6144, 8192)), "batteryLevel": m, "online": True},
            "user": user, "environment": "production", "timestamp": stamp,
            "tags": {"flavor": "prod", "session_id": ident, "screen": f"{_camel(t.calls[0][0])}Screen"},
            "request": {"url": f"https://api.example.com{path}", "method": "GET",
                        "headers": {"User-Agent": "Dart/3.4 (dart:io)", "X-Request-Id": trace_id}},
        }
    return {
        "message": message, "error_type": t.error_type, "stack_trace": _node_stack(t, rng, message),
        "platform": "node", "environment": "production", "release": "report-workers@1.9.0",
        "server_name": f"reports-{rng.randint(1, 3)}", "timestamp": stamp,
        "tags": {"queue": "exports", "job_id": ident, "attempt": str(m % 3 + 1), "region": region},
        "user": {"id": user["id"]},
        "extra": {"job": {"name": f"{t.calls[0][0]}-export", "id": n, "attempts": m % 3 + 1,
                          "data": {"account": user_id, "format": "csv", "rows": n}}},
    }


def event_stream(seed: int = 0):
    """Endless (template, event) pairs, the templates in a seeded random order (some more frequent)."""
    templates = make_templates()
    rng = random.Random(seed)
    # A few errors are much more frequent than the rest, as in real traffic.
    weights = [1.0 / (1 + (i * 7) % len(templates)) ** 0.5 for i in range(len(templates))]
    serial = 0
    while True:
        t = rng.choices(templates, weights)[0]
        serial += 1
        yield t, make_event(t, seed * 10_000_000 + serial)


def json_pool(size: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """``size`` distinct events as (source, JSON body) pairs, to post in turn."""
    pool = []
    stream = event_stream(seed)
    for _ in range(size):
        t, event = next(stream)
        pool.append((t.source, orjson.dumps(event)))
    return pool


# --- Sentry envelopes (the official SDKs' wire format) ---------------------------------------------

def sentry_event(t: Template, event: dict, event_id: str) -> dict:
    """The same error as a Sentry SDK would send it: an exception with structured frames."""
    from app.ingest.sources import NORMALISERS

    incoming = NORMALISERS[t.source](event, 0)
    values = []
    for exc in incoming.exceptions or [{"type": incoming.error_type, "value": incoming.message, "frames": []}]:
        frames = [{k: v for k, v in frame.items() if v is not None} for frame in exc["frames"]]
        values.append({"type": exc.get("type") or incoming.error_type, "value": exc.get("value") or "",
                       "module": exc.get("module"), "mechanism": {"type": "generic", "handled": False},
                       "stacktrace": {"frames": frames}})
    platform = {"api": "python", "laravel": "php", "java": "java", "frontend": "javascript", "mobile": "dart",
                "generic": "node"}[t.source]
    return {
        "event_id": event_id, "timestamp": event.get("timestamp") or event.get("@timestamp"),
        "platform": platform, "level": "error", "environment": "production",
        "release": incoming.release, "server_name": incoming.server_name,
        "exception": {"values": values}, "user": incoming.user, "request": incoming.request,
        "tags": incoming.tags, "sdk": {"name": "sentry.python", "version": "2.75.0"},
    }


def sentry_envelope(t: Template, event: dict) -> bytes:
    """An envelope with one event item, as sentry-sdk 2.x writes it (header, item header with length)."""
    event_id = uuid.uuid4().hex
    payload = orjson.dumps(sentry_event(t, event, event_id))
    header = orjson.dumps({"event_id": event_id, "sent_at": event.get("timestamp") or event.get("@timestamp"),
                           "sdk": {"name": "sentry.python", "version": "2.75.0"}})
    item = orjson.dumps({"type": "event", "length": len(payload), "content_type": "application/json"})
    return header + b"\n" + item + b"\n" + payload + b"\n"


def sentry_pool(size: int, seed: int = 0) -> list[tuple[str, bytes, str]]:
    """``size`` distinct envelopes (each its own event id) as (source, body, encoding), half gzip, half br."""
    import brotli

    pool = []
    stream = event_stream(seed)
    for i in range(size):
        t, event = next(stream)
        envelope = sentry_envelope(t, event)
        if i % 2:
            pool.append((t.source, brotli.compress(envelope, quality=4), "br"))
        else:
            pool.append((t.source, gzip.compress(envelope, compresslevel=6), "gzip"))
    return pool


def _summary() -> None:
    import statistics
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from app.ingest.fingerprint import compute_fingerprint
    from app.ingest.sources import NORMALISERS

    pool = json_pool(5000)
    sizes: dict[str, list[int]] = {}
    fingerprints: dict[str, set[str]] = {}
    frames: dict[str, set[int]] = {}
    for source, body in pool:
        sizes.setdefault(source, []).append(len(body))
        incoming = NORMALISERS[source](orjson.loads(body), 1)
        fingerprints.setdefault(source, set()).add(compute_fingerprint(incoming))
        frames.setdefault(source, set()).add(len(incoming.frames))
    total = sum(len(f) for f in fingerprints.values())
    print(f"{'source':<10}{'events':>8}{'median bytes':>14}{'frames':>8}{'fingerprints':>14}")
    for source in SOURCES:
        print(f"{source:<10}{len(sizes[source]):>8}{statistics.median(sizes[source]):>14.0f}"
              f"{','.join(map(str, sorted(frames[source]))):>8}{len(fingerprints[source]):>14}")
    every = [s for v in sizes.values() for s in v]
    print(f"all: {len(every)} events, median {statistics.median(every):.0f} bytes, {total} fingerprints")


if __name__ == "__main__":
    _summary()
