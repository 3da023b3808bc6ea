"""The demo data set: a platform's six services, their team, and a week of errors.

Everything goes through the real paths: each event is the payload its source would post, run
through that source's normaliser and ``record_errors``, which prepares the events and hands them to
``record_prepared`` in batches, as the group-commit writer does with HTTP events; people and services
through ``accounts``; assignment, resolution and escalation through ``triage`` and ``escalation``. The demo can be loaded again: existing services and people are
kept, events are added.
"""
from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field

import orjson
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.ingest.sources import NORMALISERS
from app.models import OPEN_STATUSES, Developer, ErrorEscalation, ErrorLog, Service
from app.models.types import utcnow
from app.accounts import developers as accounts
from app.triage import escalation
from app.triage import changes as triage
from app.recording.record import RecordResult, raw_payload_text, record_errors

DEMO_PASSWORD = "heartwatch-demo"
DEFAULT_EVENTS = 400
BATCH_SIZE = 100
DAYS = 7
REGRESSIONS = 3

# (slug, name, platform, releases oldest first)
SERVICES = [
    ("django-ai", "Django AI", "python", ["ai-api@3.13.4", "ai-api@3.14.0"]),
    ("laravel-web", "Laravel Web", "php", ["web@5.7.9", "web@5.8.1"]),
    ("java-geo", "Java Geo", "java", ["geo-api@2.2.7", "geo-api@2.3.0"]),
    ("react-frontend", "React Frontend", "javascript", ["frontend@1.41.2", "frontend@1.42.0"]),
    ("angular-admin", "Angular Admin", "javascript", ["admin@0.19.3", "admin@0.20.0"]),
    ("mobile", "Mobile", "dart", ["4.2.0+86", "4.2.1+87"]),
]


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    role: str
    services: tuple[str, ...]
    on_call: bool
    lead_of: tuple[str, ...] = ()
    max_load: int = 10
    phone: str | None = None


# Phone numbers are in the 555-01xx range, which is reserved for fiction.
TEAM = [
    Person("Miriam Adeyemi", "miriam.adeyemi@example.com", "manager",
           tuple(s[0] for s in SERVICES), False, max_load=5, phone="+15555550100"),
    Person("Priya Raman", "priya.raman@example.com", "lead", ("django-ai",), True, ("django-ai",),
           phone="+15555550101"),
    Person("Tomás Herrera", "tomas.herrera@example.com", "lead", ("laravel-web",), True, ("laravel-web",),
           phone="+15555550102"),
    Person("Henrik Larsen", "henrik.larsen@example.com", "lead", ("java-geo",), False, ("java-geo",),
           phone="+15555550103"),
    Person("Aiko Tanaka", "aiko.tanaka@example.com", "lead", ("react-frontend", "angular-admin"), True,
           ("react-frontend", "angular-admin"), phone="+15555550104"),
    Person("Kwame Mensah", "kwame.mensah@example.com", "lead", ("mobile",), True, ("mobile",),
           phone="+15555550105"),
    Person("Lena Fischer", "lena.fischer@example.com", "developer", ("django-ai", "java-geo"), True,
           phone="+15555550106"),
    Person("Omar Haddad", "omar.haddad@example.com", "developer", ("django-ai",), True, phone="+15555550107"),
    Person("Chloé Martin", "chloe.martin@example.com", "developer", ("laravel-web", "angular-admin"), True,
           phone="+15555550108"),
    Person("Diego Álvarez", "diego.alvarez@example.com", "developer", ("laravel-web",), False,
           phone="+15555550109"),
    Person("Mei Chen", "mei.chen@example.com", "developer", ("react-frontend", "angular-admin"), True,
           phone="+15555550110"),
    Person("Jonas Weber", "jonas.weber@example.com", "developer", ("java-geo",), True, max_load=6,
           phone="+15555550111"),
    Person("Fatima Zahra", "fatima.zahra@example.com", "developer", ("mobile", "react-frontend"), True,
           phone="+15555550112"),
    Person("Ravi Patel", "ravi.patel@example.com", "developer", ("mobile",), False, phone="+15555550113"),
]

# People whose errors these are: 203.0.113.0/24 is a documentation network.
END_USERS = [
    {"id": str(10400 + n), "email": email, "ip_address": f"203.0.113.{20 + n}"}
    for n, email in enumerate([
        "m.kowalski@example.org", "j.okoro@example.org", "s.nakamura@example.org", "l.dubois@example.org",
        "a.schmidt@example.org", "r.silva@example.org", "e.johansson@example.org", "n.ivanova@example.org",
        "k.osei@example.org", "t.nguyen@example.org", "h.kaya@example.org", "c.moreau@example.org",
    ])
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
]
DEVICES = [
    {"model": "Pixel 7", "manufacturer": "Google", "osVersion": "14"},
    {"model": "SM-A546B", "manufacturer": "samsung", "osVersion": "13"},
    {"model": "iPhone15,2", "manufacturer": "Apple", "osVersion": "17.5.1"},
]


# --- stack-trace text in each platform's native format ----------------------------------------

SITE = "/srv/app/.venv/lib/python3.11/site-packages"
DJANGO_ENTRY = [
    ("~/django/core/handlers/exception.py", 55, "inner", "response = get_response(request)"),
    ("~/django/core/handlers/base.py", 197, "_get_response",
     "response = wrapped_callback(request, *callback_args, **callback_kwargs)"),
]


def _python_traceback(frames, last_line: str, cause: str | None = None) -> str:
    """A CPython traceback; paths starting with ``~`` are in site-packages."""
    lines = ["Traceback (most recent call last):"]
    for path, line, function, code in frames:
        path = SITE + path[1:] if path.startswith("~") else path
        lines += [f'  File "{path}", line {line}, in {function}', f"    {code}"]
    text = "\n".join(lines + [last_line])
    if cause:
        text = cause + "\n\nThe above exception was the direct cause of the following exception:\n\n" + text
    return text


LARAVEL = "/var/www/html/vendor/laravel/framework/src/Illuminate"
LARAVEL_ENTRY = [
    (f"{LARAVEL}/Routing/Controller.php", 54, "App\\Http\\Controllers\\Controller", "->", "callAction"),
    (f"{LARAVEL}/Routing/ControllerDispatcher.php", 43, "Illuminate\\Routing\\Controller", "->", "callAction"),
    (f"{LARAVEL}/Routing/Route.php", 260, "Illuminate\\Routing\\ControllerDispatcher", "->", "dispatch"),
    (f"{LARAVEL}/Routing/Router.php", 798, "Illuminate\\Routing\\Route", "->", "run"),
    (f"{LARAVEL}/Pipeline/Pipeline.php", 141, "Illuminate\\Routing\\Router", "->",
     "Illuminate\\Routing\\{closure}"),
    ("/var/www/html/public/index.php", 51, "Illuminate\\Foundation\\Http\\Kernel", "->", "handle"),
]


def _php_trace(frames) -> list[dict]:
    """A ``getTrace()`` array (newest call first) from (file, line, class, type, function) tuples."""
    return [{"file": f, "line": line, "class": cls, "type": kind, "function": fn}
            for f, line, cls, kind, fn in frames]


def _java_trace(header: str, frames: list[str], *causes: tuple[str, list[str], int]) -> str:
    """``printStackTrace()`` text; each cause is (header, its own frames, frames in common)."""
    lines = [header] + [f"\tat {frame}" for frame in frames]
    for cause_header, cause_frames, common in causes:
        lines.append(f"Caused by: {cause_header}")
        lines += [f"\tat {frame}" for frame in cause_frames]
        if common:
            lines.append(f"\t... {common} more")
    return "\n".join(lines)


SPRING_ENTRY = [
    "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
    "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
    "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)",
    "org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)",
    "java.base/java.lang.Thread.run(Thread.java:1583)",
]
SPRING_DISPATCH = [
    "java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
    "java.base/java.lang.reflect.Method.invoke(Method.java:580)",
    "org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)",
    "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
] + SPRING_ENTRY


def _js_stack(header: str, frames: list[str]) -> str:
    """V8's ``error.stack``: the header, then ``at`` lines, newest first."""
    return "\n".join([header] + [f"    at {frame}" for frame in frames])


def _dart_stack(frames: list[str]) -> str:
    """The Dart VM's stack text; ``-`` stands for ``<asynchronous suspension>``."""
    lines, number = [], 0
    for frame in frames:
        if frame == "-":
            lines.append("<asynchronous suspension>")
        else:
            lines.append(f"#{number:<7}{frame}")
            number += 1
    return "\n".join(lines)


SHOP_JS = "https://shop.example.com/static/js/main.8c1f2e4a.js"
SHOP_VENDOR = "https://shop.example.com/static/js/vendors~main.3b9d0c71.chunk.js"
ADMIN_JS = "https://admin.example.com/main.4f2a9c1e.js"
ADMIN_POLYFILLS = "https://admin.example.com/polyfills.7d1e52b0.js"


# --- the errors -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoError:
    """One distinct error: the payload its source posts, with ``{{name}}`` placeholders that vary
    from event to event (ids, users, URLs)."""

    key: str
    service: str
    source: str
    weight: int
    payload: dict = field(hash=False)


def _django(key, weight, error_type, message, trace, *, url, method="GET", **extra) -> DemoError:
    payload = {"error_type": error_type, "message": message, "stack_trace": trace, "platform": "python",
               "request": {"url": f"https://ai.example.com{url}", "method": method}, "server_name": "{{host}}",
               "tags": {"runtime": "CPython 3.11.9", "django": "5.0.6"}, **extra}
    return DemoError(key, "django-ai", "api", weight, payload)


def _laravel(key, weight, exception, *, url, method="GET", level="error", **extra) -> DemoError:
    payload = {"exception": exception, "level": level,
               "request": {"url": f"https://shop.example.com{url}", "method": method, "ip": "{{ip}}"},
               **extra}
    return DemoError(key, "laravel-web", "laravel", weight, payload)


def _logstash(key, weight, level, logger, message, trace, endpoint, **mdc) -> DemoError:
    payload = {"@timestamp": "{{timestamp}}", "@version": "1", "message": message, "logger_name": logger,
               "endpoint": endpoint,
               "thread_name": "http-nio-8080-exec-{{thread}}", "level": level,
               "level_value": {"ERROR": 40000, "WARN": 30000}[level], "stack_trace": trace,
               "HOSTNAME": "{{host}}", "requestId": "{{request_id}}", **mdc}
    return DemoError(key, "java-geo", "java", weight, payload)


def _java_structured(key, weight, exception, message, frames, cause=None, **extra) -> DemoError:
    payload = {"exception": exception, "message": message, "frames": frames, **extra}
    if cause:
        payload["cause"] = cause
    return DemoError(key, "java-geo", "java", weight, payload)


def _element(frame: str) -> dict:
    """``com.x.Y.z(Y.java:12)`` as a StackTraceElement object."""
    qualified, _, location = frame.partition("(")
    class_name, _, method = qualified.rpartition(".")
    filename, _, line = location.rstrip(")").partition(":")
    return {"className": class_name, "methodName": method, "fileName": filename,
            "lineNumber": int(line) if line.isdigit() else -1}


def _browser(key, service, weight, **payload) -> DemoError:
    framework = "react" if service == "react-frontend" else "angular"
    host = "shop.example.com" if service == "react-frontend" else "admin.example.com"
    page = payload.pop("page")
    payload = {"framework": framework, "url": f"https://{host}{page}", "userAgent": "{{user_agent}}", **payload}
    return DemoError(key, service, "frontend", weight, payload)


def _flutter(key, weight, exception, stack, *, message=None, library="package:shop_app", context=None,
             **extra) -> DemoError:
    payload = {"exception": exception, "stackTrace": stack, "library": library, "platform": "{{os}}",
               "device": "{{device}}", **extra}
    if message is not None:
        payload["message"] = message
    if context:
        payload["context"] = context
    return DemoError(key, "mobile", "mobile", weight, payload)


CATALOGUE: list[DemoError] = [
    # --- django-ai (python), through POST /api/errors/ ---
    _django(
        "django-db-down", 14, "django.db.utils.OperationalError",
        'connection to server at "db-primary.internal" (10.0.3.12), port 5432 failed: Connection refused',
        _python_traceback(
            DJANGO_ENTRY + [
                ("/srv/app/predictions/views.py", 64, "create_prediction",
                 'model_version = ModelVersion.objects.active().get(name=payload["model"])'),
                ("~/django/db/models/query.py", 633, "get", "num = len(clone)"),
                ("~/django/db/backends/base/base.py", 289, "ensure_connection", "self.connect()"),
            ],
            'django.db.utils.OperationalError: connection to server at "db-primary.internal" (10.0.3.12), '
            "port 5432 failed: Connection refused",
            cause=_python_traceback(
                [("~/django/db/backends/base/base.py", 289, "ensure_connection", "self.connect()"),
                 ("~/psycopg2/__init__.py", 122, "connect",
                  "conn = _connect(dsn, connection_factory=connection_factory, **kwasync)")],
                'psycopg2.OperationalError: connection to server at "db-primary.internal" (10.0.3.12), '
                "port 5432 failed: Connection refused"),
        ),
        url="/api/v1/predictions/", method="POST"),
    _django(
        "django-integrity", 9, "django.db.utils.IntegrityError",
        'duplicate key value violates unique constraint "predictions_prediction_request_id_key"\n'
        "DETAIL:  Key (request_id)=({{request_id}}) already exists.",
        _python_traceback(
            DJANGO_ENTRY + [
                ("/srv/app/predictions/views.py", 81, "create_prediction",
                 "prediction = Prediction.objects.create(request_id=payload['request_id'], **fields)"),
                ("/srv/app/predictions/services.py", 37, "store_result", "prediction.save(update_fields=None)"),
                ("~/django/db/backends/utils.py", 105, "_execute", "return self.cursor.execute(sql, params)"),
            ],
            'django.db.utils.IntegrityError: duplicate key value violates unique constraint '
            '"predictions_prediction_request_id_key"'),
        url="/api/v1/predictions/", method="POST"),
    _django(
        "django-does-not-exist", 12, "predictions.models.Prediction.DoesNotExist",
        "Prediction matching query does not exist.",
        _python_traceback(
            DJANGO_ENTRY + [
                ("/srv/app/predictions/views.py", 112, "prediction_detail",
                 "prediction = Prediction.objects.select_related('model_version').get(pk=pk)"),
                ("~/django/db/models/query.py", 649, "get",
                 'raise self.model.DoesNotExist('),
            ],
            "predictions.models.Prediction.DoesNotExist: Prediction matching query does not exist."),
        url="/api/v1/predictions/{{order_id}}/", severity="low"),
    _django(
        "django-cuda-oom", 4, "torch.cuda.OutOfMemoryError",
        "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 15.77 GiB of which "
        "1.12 GiB is free.",
        _python_traceback(
            [("/srv/app/ml/tasks.py", 48, "run_batch_inference", "outputs = model.generate(**batch)"),
             ("/srv/app/ml/pipeline.py", 133, "generate", "logits = self.model(input_ids, attention_mask=mask)"),
             ("~/torch/nn/modules/module.py", 1532, "_wrapped_call_impl", "return self._call_impl(*args, **kwargs)"),
             ("~/transformers/models/llama/modeling_llama.py", 1164, "forward",
              "logits = self.lm_head(hidden_states)")],
            "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB."),
        url="/internal/batch/{{order_id}}", method="POST", tags={"worker": "gpu-1", "queue": "inference"}),
    _django(
        "django-keyerror", 10, "KeyError", "'embedding'",
        _python_traceback(
            DJANGO_ENTRY + [
                ("/srv/app/search/views.py", 29, "similar_documents",
                 "vector = index.lookup(document_id)['embedding']"),
                ("/srv/app/search/index.py", 77, "lookup", "return self._cache[document_id]"),
            ],
            "KeyError: 'embedding'"),
        url="/api/v1/search/similar/?document={{order_id}}"),
    _django(
        "django-nan-input", 7, "ValueError",
        "Input X contains NaN.",
        _python_traceback(
            [("/srv/app/ml/tasks.py", 91, "score_applications", "scores = scorer.predict_proba(frame)[:, 1]"),
             ("/srv/app/ml/scoring.py", 58, "predict_proba", "return self.pipeline.predict_proba(features)"),
             ("~/sklearn/pipeline.py", 722, "predict_proba", "Xt = transform.transform(Xt)"),
             ("~/sklearn/utils/validation.py", 147, "_assert_all_finite",
              "raise ValueError(msg_err)")],
            "ValueError: Input X contains NaN."),
        url="/internal/score/", method="POST"),
    _django(
        "django-timeout", 11, "requests.exceptions.ReadTimeout",
        "HTTPSConnectionPool(host='embeddings.internal', port=443): Read timed out. (read timeout=30)",
        _python_traceback(
            DJANGO_ENTRY + [
                ("/srv/app/search/views.py", 52, "index_document", "vectors = embeddings.embed(chunks)"),
                ("/srv/app/search/embeddings.py", 24, "embed",
                 "response = self.session.post(self.url, json={'input': texts}, timeout=30)"),
                ("~/requests/adapters.py", 713, "send", "raise ReadTimeout(e, request=request)"),
            ],
            "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='embeddings.internal', port=443): "
            "Read timed out. (read timeout=30)"),
        url="/api/v1/documents/", method="POST"),
    _django(
        "django-validation", 8, "django.core.exceptions.ValidationError",
        "['“{{date}}” value has an invalid date format. It must be in YYYY-MM-DD format.']",
        _python_traceback(
            DJANGO_ENTRY + [
                ("/srv/app/reports/views.py", 40, "usage_report",
                 "rows = UsageRecord.objects.filter(day__gte=request.GET['since'])"),
                ("~/django/db/models/fields/__init__.py", 1458, "to_python", "raise exceptions.ValidationError("),
            ],
            "django.core.exceptions.ValidationError: ['“{{date}}” value has an invalid date format.']"),
        url="/api/v1/reports/usage/?since={{date}}"),
    _django(
        "django-disallowed-host", 6, "django.core.exceptions.DisallowedHost",
        "Invalid HTTP_HOST header: 'scanner.example.net'. You may need to add 'scanner.example.net' to "
        "ALLOWED_HOSTS.",
        None, url="/.env", severity="info"),

    # --- laravel-web (php), through POST /webhook/laravel/ ---
    _laravel("laravel-deadlock", 10, {
        "class": "Illuminate\\Database\\QueryException",
        "message": "SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; try "
                   "restarting transaction (Connection: mysql, SQL: update `orders` set `status` = paid where "
                   "`id` = {{order_id}})",
        "code": "40001", "file": f"{LARAVEL}/Database/Connection.php", "line": 829,
        "trace": _php_trace([
            (f"{LARAVEL}/Database/Connection.php", 783, "Illuminate\\Database\\Connection", "->", "runQueryCallback"),
            (f"{LARAVEL}/Database/Query/Builder.php", 3850, "Illuminate\\Database\\Connection", "->", "update"),
            ("/var/www/html/app/Services/PaymentService.php", 142, "Illuminate\\Database\\Eloquent\\Builder",
             "->", "update"),
            ("/var/www/html/app/Http/Controllers/CheckoutController.php", 88, "App\\Services\\PaymentService",
             "->", "markPaid"),
        ] + LARAVEL_ENTRY),
    }, url="/checkout/{{order_id}}/confirm", method="POST"),
    _laravel("laravel-db-refused", 5, {
        "class": "Illuminate\\Database\\QueryException",
        "message": "SQLSTATE[HY000] [2002] Connection refused (Connection: mysql, SQL: select * from `sessions` "
                   "where `id` = {{request_id}} limit 1)",
        "code": "2002", "file": f"{LARAVEL}/Database/Connection.php", "line": 829,
        "trace": _php_trace([
            (f"{LARAVEL}/Database/Connection.php", 783, "Illuminate\\Database\\Connection", "->", "runQueryCallback"),
            (f"{LARAVEL}/Session/DatabaseSessionHandler.php", 96, "Illuminate\\Database\\Query\\Builder", "->",
             "find"),
            (f"{LARAVEL}/Session/Store.php", 102, "Illuminate\\Session\\DatabaseSessionHandler", "->", "read"),
            (f"{LARAVEL}/Session/Middleware/StartSession.php", 146, "Illuminate\\Session\\Store", "->", "start"),
        ] + LARAVEL_ENTRY),
        "previous": {
            "class": "PDOException", "message": "SQLSTATE[HY000] [2002] Connection refused", "code": 2002,
            "file": f"{LARAVEL}/Database/Connectors/Connector.php", "line": 65,
            "trace": _php_trace([
                (f"{LARAVEL}/Database/Connectors/Connector.php", 65, "PDO", "->", "__construct"),
                (f"{LARAVEL}/Database/Connectors/Connector.php", 44, "Illuminate\\Database\\Connectors\\Connector",
                 "->", "createPdoConnection"),
            ]),
        },
    }, url="/account", level="critical"),
    _laravel("laravel-duplicate-email", 7, {
        "class": "Illuminate\\Database\\UniqueConstraintViolationException",
        "message": "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry '{{email}}' for key "
                   "'users_email_unique' (Connection: mysql, SQL: insert into `users` (`name`, `email`) values "
                   "(?, ?))",
        "code": "23000", "file": f"{LARAVEL}/Database/Connection.php", "line": 824,
        "trace": _php_trace([
            (f"{LARAVEL}/Database/Eloquent/Builder.php", 1024, "Illuminate\\Database\\Eloquent\\Model", "->", "save"),
            ("/var/www/html/app/Actions/Fortify/CreateNewUser.php", 37, "Illuminate\\Database\\Eloquent\\Builder",
             "->", "create"),
            ("/var/www/html/app/Http/Controllers/Auth/RegisterController.php", 41,
             "App\\Actions\\Fortify\\CreateNewUser", "->", "create"),
        ] + LARAVEL_ENTRY),
    }, url="/register", method="POST"),
    _laravel("laravel-model-not-found", 15, {
        "class": "Illuminate\\Database\\Eloquent\\ModelNotFoundException",
        "message": "No query results for model [App\\Models\\Order] {{order_id}}",
        "code": 0, "file": f"{LARAVEL}/Database/Eloquent/Builder.php", "line": 621,
        "trace": _php_trace([
            (f"{LARAVEL}/Routing/ImplicitRouteBinding.php", 62, "Illuminate\\Database\\Eloquent\\Builder", "->",
             "firstOrFail"),
            ("/var/www/html/app/Http/Controllers/OrderController.php", 35, "App\\Models\\Order", "::",
             "findOrFail"),
        ] + LARAVEL_ENTRY),
    }, url="/orders/{{order_id}}", level="notice", status_code=404),
    _laravel("laravel-not-found", 9, {
        "class": "Symfony\\Component\\HttpKernel\\Exception\\NotFoundHttpException",
        "message": "The route api/v1/legacy/cart could not be found.",
        "code": 0, "file": f"{LARAVEL}/Routing/AbstractRouteCollection.php", "line": 45,
        "trace": _php_trace([
            (f"{LARAVEL}/Routing/RouteCollection.php", 162, "Illuminate\\Routing\\AbstractRouteCollection", "->",
             "handleMatchedRoute"),
            (f"{LARAVEL}/Routing/Router.php", 763, "Illuminate\\Routing\\RouteCollection", "->", "match"),
        ]),
    }, url="/api/v1/legacy/cart", level="info", status_code=404),
    _laravel("laravel-validation", 8, {
        "class": "Illuminate\\Validation\\ValidationException",
        "message": "The shipping address.postcode field format is invalid.",
        "code": 0, "file": f"{LARAVEL}/Support/helpers.php", "line": 329,
        "trace": _php_trace([
            (f"{LARAVEL}/Foundation/Http/FormRequest.php", 130, "Illuminate\\Validation\\Validator", "->",
             "validate"),
            ("/var/www/html/app/Http/Controllers/CheckoutController.php", 52,
             "App\\Http\\Requests\\CheckoutRequest", "->", "validated"),
        ] + LARAVEL_ENTRY),
    }, url="/checkout", method="POST", level="warning", status_code=422),
    _laravel("laravel-undefined-key", 9, {
        "class": "ErrorException",
        "message": 'Undefined array key "shipping_address"',
        "code": 0, "file": "/var/www/html/app/Services/ShippingQuoteService.php", "line": 71,
        "trace": _php_trace([
            (f"{LARAVEL}/Foundation/Bootstrap/HandleExceptions.php", 255, "Illuminate\\Foundation\\Bootstrap"
             "\\HandleExceptions", "->", "handleError"),
            ("/var/www/html/app/Services/ShippingQuoteService.php", 71, "Illuminate\\Foundation\\Bootstrap"
             "\\HandleExceptions", "->", "Illuminate\\Foundation\\Bootstrap\\{closure}"),
            ("/var/www/html/app/Http/Controllers/CartController.php", 118, "App\\Services\\ShippingQuoteService",
             "->", "quote"),
        ] + LARAVEL_ENTRY),
    }, url="/cart/shipping-quote", method="POST"),
    _laravel("laravel-type-error", 6, {
        "class": "TypeError",
        "message": "App\\Services\\PaymentService::charge(): Argument #2 ($amount) must be of type int, string "
                   "given, called in /var/www/html/app/Http/Controllers/CheckoutController.php on line 94",
        "code": 0, "file": "/var/www/html/app/Services/PaymentService.php", "line": 58,
        "trace": _php_trace([
            ("/var/www/html/app/Http/Controllers/CheckoutController.php", 94, "App\\Services\\PaymentService",
             "->", "charge"),
        ] + LARAVEL_ENTRY),
    }, url="/checkout/{{order_id}}/pay", method="POST"),
    _laravel("laravel-http-timeout", 8, {
        "class": "Illuminate\\Http\\Client\\ConnectionException",
        "message": "cURL error 28: Operation timed out after 10001 milliseconds with 0 bytes received (see "
                   "https://curl.haxx.se/libcurl/c/libcurl-errors.html) for https://payments.example.net/v1/charges",
        "code": 0, "file": f"{LARAVEL}/Http/Client/PendingRequest.php", "line": 1570,
        "trace": _php_trace([
            (f"{LARAVEL}/Http/Client/PendingRequest.php", 938, "Illuminate\\Http\\Client\\PendingRequest", "->",
             "send"),
            ("/var/www/html/app/Services/PaymentGateway.php", 47, "Illuminate\\Http\\Client\\PendingRequest", "->",
             "post"),
            ("/var/www/html/app/Services/PaymentService.php", 66, "App\\Services\\PaymentGateway", "->", "charge"),
            ("/var/www/html/app/Http/Controllers/CheckoutController.php", 94, "App\\Services\\PaymentService",
             "->", "charge"),
        ] + LARAVEL_ENTRY),
    }, url="/checkout/{{order_id}}/pay", method="POST"),
    _laravel("laravel-memory", 3, {
        "class": "Symfony\\Component\\ErrorHandler\\Error\\FatalError",
        "message": "Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes)",
        "code": 0, "file": "/var/www/html/app/Exports/OrdersExport.php", "line": 44, "trace": [],
    }, url="/admin/exports/orders.csv", level="critical"),

    # --- java-geo (java), through POST /webhook/java/ ---
    _logstash(
        "java-npe", 16, "ERROR", "com.example.geo.routing.RouteController",
        "Request processing failed: POST /api/v1/routes",
        _java_trace(
            'java.lang.NullPointerException: Cannot invoke "com.example.geo.model.Coordinate.latitude()" because '
            '"origin" is null',
            ["com.example.geo.routing.DistanceCalculator.haversine(DistanceCalculator.java:38)",
             "com.example.geo.routing.RouteService.plan(RouteService.java:112)",
             "com.example.geo.routing.RouteController.createRoute(RouteController.java:57)"] + SPRING_DISPATCH),
        "POST /api/v1/routes", tenant="{{tenant}}"),
    _logstash(
        "java-illegal-state", 9, "ERROR", "com.example.geo.geocoding.GeocoderService",
        "Geocoding failed for query",
        _java_trace(
            "java.lang.IllegalStateException: Geocoder index not loaded: region eu-west",
            ["com.example.geo.geocoding.GeocoderService.index(GeocoderService.java:91)",
             "com.example.geo.geocoding.GeocoderService.forward(GeocoderService.java:64)",
             "com.example.geo.geocoding.GeocodeController.search(GeocodeController.java:33)"] + SPRING_DISPATCH,
            ("java.io.UncheckedIOException: java.nio.file.NoSuchFileException: /data/geocoder/eu-west/index.fst",
             ["com.example.geo.geocoding.IndexLoader.load(IndexLoader.java:47)",
              "com.example.geo.geocoding.GeocoderService.index(GeocoderService.java:86)"], 13),
            ("java.nio.file.NoSuchFileException: /data/geocoder/eu-west/index.fst",
             ["java.base/sun.nio.fs.UnixException.translateToIOException(UnixException.java:92)",
              "java.base/java.nio.file.Files.newByteChannel(Files.java:379)",
              "com.example.geo.geocoding.IndexLoader.load(IndexLoader.java:44)"], 14),
        ),
        "GET /api/v1/geocode", tenant="{{tenant}}"),
    _logstash(
        "java-tile-timeout", 12, "WARN", "com.example.geo.tiles.TileRenderer",
        "Tile render exceeded budget",
        _java_trace(
            "java.util.concurrent.TimeoutException: Tile z14/{{x}}/{{y}} not rendered within 5000 ms",
            ["java.base/java.util.concurrent.CompletableFuture.timedGet(CompletableFuture.java:1960)",
             "java.base/java.util.concurrent.CompletableFuture.get(CompletableFuture.java:2095)",
             "com.example.geo.tiles.TileRenderer.render(TileRenderer.java:122)",
             "com.example.geo.tiles.TileController.tile(TileController.java:41)"] + SPRING_DISPATCH),
        "GET /tiles/{z}/{x}/{y}.png", zoom="14"),
    _logstash(
        "java-bad-wkt", 7, "ERROR", "com.example.geo.areas.AreaController",
        "Rejected area upload",
        _java_trace(
            "java.lang.IllegalArgumentException: Invalid WKT: points of LinearRing do not form a closed linestring",
            ["org.locationtech.jts.geom.LinearRing.validateConstruction(LinearRing.java:94)",
             "org.locationtech.jts.geom.GeometryFactory.createPolygon(GeometryFactory.java:484)",
             "com.example.geo.areas.WktParser.polygon(WktParser.java:58)",
             "com.example.geo.areas.AreaService.create(AreaService.java:71)",
             "com.example.geo.areas.AreaController.upload(AreaController.java:49)"] + SPRING_DISPATCH),
        "POST /api/v1/areas"),
    _logstash(
        "java-json-format", 8, "WARN", "org.springframework.web.servlet.mvc.support.DefaultHandlerExceptionResolver",
        "Resolved [HttpMessageNotReadableException: JSON parse error]",
        _java_trace(
            "com.fasterxml.jackson.databind.exc.InvalidFormatException: Cannot deserialize value of type "
            '`java.lang.Double` from String "{{decimal}}": not a valid `Double` value',
            ["com.fasterxml.jackson.databind.exc.InvalidFormatException.from(InvalidFormatException.java:67)",
             "com.fasterxml.jackson.databind.DeserializationContext.weirdStringException("
             "DeserializationContext.java:1958)",
             "com.example.geo.routing.RouteRequestDeserializer.deserialize(RouteRequestDeserializer.java:29)"]
            + SPRING_DISPATCH),
        "POST /api/v1/routes", status_code=400),
    _logstash(
        "java-upstream-503", 6, "ERROR", "com.example.geo.elevation.ElevationClient",
        "Elevation lookup failed",
        _java_trace(
            "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable: "
            '"upstream connect error or disconnect/reset before headers"',
            ["org.springframework.web.client.HttpServerErrorException.create(HttpServerErrorException.java:116)",
             "org.springframework.web.client.RestTemplate.handleResponse(RestTemplate.java:915)",
             "com.example.geo.elevation.ElevationClient.profile(ElevationClient.java:53)",
             "com.example.geo.routing.RouteService.withElevation(RouteService.java:140)",
             "com.example.geo.routing.RouteController.createRoute(RouteController.java:61)"] + SPRING_DISPATCH),
        "POST /api/v1/routes"),
    _java_structured(
        "java-jdbc-down", 5, "org.springframework.jdbc.CannotGetJdbcConnectionException",
        "Failed to obtain JDBC Connection",
        [_element(f) for f in [
            "org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)",
            "org.springframework.jdbc.core.JdbcTemplate.execute(JdbcTemplate.java:653)",
            "com.example.geo.places.PlaceRepository.near(PlaceRepository.java:77)",
            "com.example.geo.places.PlaceService.nearby(PlaceService.java:35)",
            "com.example.geo.places.PlaceController.nearby(PlaceController.java:28)"]],
        cause={"exception": "org.postgresql.util.PSQLException",
               "message": "Connection to geo-db.internal:5432 refused. Check that the hostname and port are "
                          "correct and that the postmaster is accepting TCP/IP connections.",
               "frames": [_element(f) for f in [
                   "org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:346)",
                   "org.postgresql.Driver.connect(Driver.java:297)",
                   "com.zaxxer.hikari.pool.HikariPool.createPoolEntry(HikariPool.java:476)"]]},
        timestamp="{{timestamp}}", endpoint="GET /api/v1/places/nearby"),
    _java_structured(
        "java-oom", 2, "java.lang.OutOfMemoryError", "Java heap space",
        [_element(f) for f in [
            "java.base/java.util.Arrays.copyOf(Arrays.java:3541)",
            "java.base/java.util.ArrayList.grow(ArrayList.java:237)",
            "com.example.geo.export.GeoJsonExporter.collect(GeoJsonExporter.java:88)",
            "com.example.geo.export.ExportJob.run(ExportJob.java:42)"]],
        timestamp="{{timestamp}}", endpoint="job export-geojson"),
    _java_structured(
        "java-index-oob", 6, "java.lang.ArrayIndexOutOfBoundsException", "Index 3 out of bounds for length 3",
        [_element(f) for f in [
            "com.example.geo.routing.Polyline.decode(Polyline.java:64)",
            "com.example.geo.routing.RouteService.fromPolyline(RouteService.java:158)",
            "com.example.geo.routing.RouteController.importRoute(RouteController.java:84)"]],
        timestamp="{{timestamp}}", endpoint="POST /api/v1/routes/import"),

    # --- react-frontend (javascript), through POST /webhook/frontend/ ---
    _browser(
        "react-undefined-map", "react-frontend", 18, page="/category/{{category}}",
        message="Cannot read properties of undefined (reading 'map')", name="TypeError",
        stack=_js_stack("TypeError: Cannot read properties of undefined (reading 'map')", [
            f"ProductList ({SHOP_JS}:2:104233)",
            f"renderWithHooks ({SHOP_VENDOR}:2:2811904)",
            f"mountIndeterminateComponent ({SHOP_VENDOR}:2:2849173)",
            f"beginWork ({SHOP_VENDOR}:2:2862201)"]),
        componentStack=f"\n    at ProductList ({SHOP_JS}:2:104101)\n    at div\n"
                       f"    at CategoryPage ({SHOP_JS}:2:98877)\n    at Routes ({SHOP_VENDOR}:2:61450)\n"
                       f"    at App ({SHOP_JS}:2:12044)", severity="high"),
    _browser(
        "react-failed-fetch", "react-frontend", 14, page="/checkout", type="unhandledrejection",
        reason={"name": "TypeError", "message": "Failed to fetch",
                "stack": _js_stack("TypeError: Failed to fetch", [
                    f"fetchJson ({SHOP_JS}:2:33410)", f"async loadCart ({SHOP_JS}:2:35102)"])}),
    _browser(
        "react-chunk", "react-frontend", 10, page="/account/orders",
        message="Loading chunk 342 failed.\n(error: https://shop.example.com/static/js/342.a91c0d2e.chunk.js)",
        name="ChunkLoadError",
        stack=_js_stack("ChunkLoadError: Loading chunk 342 failed.", [
            f"__webpack_require__.f.j ({SHOP_JS}:1:4120)",
            f"__webpack_require__.e ({SHOP_JS}:1:1711)",
            f"lazyOrders ({SHOP_JS}:2:7712)"])),
    _browser(
        "react-max-depth", "react-frontend", 5, page="/cart",
        message="Minified React error #185; visit https://react.dev/errors/185 for the full message.",
        name="Error",
        stack=_js_stack("Error: Minified React error #185", [
            f"checkForNestedUpdates ({SHOP_VENDOR}:2:2901774)",
            f"scheduleUpdateOnFiber ({SHOP_VENDOR}:2:2880012)",
            f"CartSummary ({SHOP_JS}:2:120771)"]),
        componentStack=f"\n    at CartSummary ({SHOP_JS}:2:120650)\n    at CartPage ({SHOP_JS}:2:118001)",
        severity="high"),
    _browser(
        "react-json", "react-frontend", 9, page="/product/{{order_id}}",
        message="Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON", name="SyntaxError",
        stack=_js_stack("SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON", [
            "JSON.parse (<anonymous>)",
            f"parseResponse ({SHOP_JS}:2:33877)",
            f"async ProductPage.load ({SHOP_JS}:2:140233)"])),
    _browser(
        "react-firefox-price", "react-frontend", 7, page="/cart",
        message="can't access property \"price\", item is undefined", name="TypeError",
        stack=f"lineTotal@{SHOP_JS}:2:121404\nCartSummary/total<@{SHOP_JS}:2:121561\n"
              f"CartSummary@{SHOP_JS}:2:121602\nrenderWithHooks@{SHOP_VENDOR}:2:2811904\n"),
    _browser(
        "react-resize-observer", "react-frontend", 8, page="/",
        message="ResizeObserver loop completed with undelivered notifications.", severity="info"),

    # --- angular-admin (javascript), through POST /webhook/frontend/ ---
    _browser(
        "angular-http-500", "angular-admin", 12, page="/users",
        message="Http failure response for https://api.example.com/admin/users?page=3: 500 Internal Server Error",
        name="HttpErrorResponse", severity="high",
        extra={"status": 500, "statusText": "Internal Server Error", "url": "https://api.example.com/admin/users"}),
    _browser(
        "angular-http-403", "angular-admin", 6, page="/settings/billing",
        message="Http failure response for https://api.example.com/admin/billing: 403 Forbidden",
        name="HttpErrorResponse", severity="low",
        extra={"status": 403, "statusText": "Forbidden"}),
    _browser(
        "angular-null-patch", "angular-admin", 9, page="/users/{{order_id}}/edit",
        message="Cannot read properties of null (reading 'patchValue')", name="TypeError",
        stack=_js_stack("TypeError: Cannot read properties of null (reading 'patchValue')", [
            f"UserEditComponent.ngOnInit ({ADMIN_JS}:1:284113)",
            f"callHookInternal ({ADMIN_JS}:1:97233)",
            f"executeInitAndCheckHooks ({ADMIN_JS}:1:96870)",
            f"refreshView ({ADMIN_JS}:1:121907)",
            f"_ZoneDelegate.invokeTask ({ADMIN_POLYFILLS}:1:8213)"]), severity="high"),
    _browser(
        "angular-expression-changed", "angular-admin", 5, page="/dashboard",
        message="NG0100: ExpressionChangedAfterItHasBeenCheckedError: Expression has changed after it was "
                "checked. Previous value: 'false'. Current value: 'true'.", name="Error",
        stack=_js_stack("Error: NG0100: ExpressionChangedAfterItHasBeenCheckedError", [
            f"throwErrorIfNoChangesMode ({ADMIN_JS}:1:88412)",
            f"bindingUpdated ({ADMIN_JS}:1:90155)",
            f"DashboardComponent_Template ({ADMIN_JS}:1:301772)"]), severity="low"),
    _browser(
        "angular-null-injector", "angular-admin", 3, page="/reports",
        message="R3InjectorError(AppModule)[ReportsService -> HttpClient -> HttpClient]: \n  NullInjectorError: "
                "No provider for HttpClient!", name="NullInjectorError",
        stack=_js_stack("NullInjectorError: R3InjectorError(AppModule)[ReportsService -> HttpClient]", [
            f"NullInjector.get ({ADMIN_JS}:1:51877)",
            f"R3Injector.get ({ADMIN_JS}:1:55340)",
            f"ReportsComponent_Factory ({ADMIN_JS}:1:318004)"]), severity="critical"),

    # --- mobile (dart), through POST /webhook/mobile/ ---
    _flutter(
        "flutter-format", 13, "FormatException", _dart_stack([
            "int._throwFormatException (dart:core-patch/integers_patch.dart:195:5)",
            "int._parseRadix (dart:core-patch/integers_patch.dart:157:16)",
            "int.parse (dart:core-patch/integers_patch.dart:63:12)",
            "OrderTotal.fromJson (package:shop_app/models/order_total.dart:31:22)",
            "OrderRepository.fetchTotals (package:shop_app/data/order_repository.dart:58:30)",
            "-",
            "CheckoutCubit.load (package:shop_app/checkout/checkout_cubit.dart:44:7)",
            "-"]),
        message="Invalid radix-10 number (at character 3)\n{{decimal}}\n  ^\n"),
    _flutter(
        "flutter-bad-state", 9, "StateError", _dart_stack([
            "Iterable.firstWhere (dart:core/iterable.dart:664:5)",
            "CartState.lineFor (package:shop_app/cart/cart_state.dart:72:18)",
            "CartItemTile.build (package:shop_app/cart/widgets/cart_item_tile.dart:29:31)",
            "StatelessElement.build (package:flutter/src/widgets/framework.dart:5687:49)",
            "ComponentElement.performRebuild (package:flutter/src/widgets/framework.dart:5617:15)"]),
        message="Bad state: No element", context="building CartItemTile"),
    _flutter(
        "flutter-null-check", 11, "Null check operator used on a null value", _dart_stack([
            "ProfileScreen.build (package:shop_app/profile/profile_screen.dart:48:37)",
            "StatelessElement.build (package:flutter/src/widgets/framework.dart:5687:49)",
            "ComponentElement.performRebuild (package:flutter/src/widgets/framework.dart:5617:15)",
            "Element.rebuild (package:flutter/src/widgets/framework.dart:5333:7)",
            "BuildOwner.buildScope (package:flutter/src/widgets/framework.dart:2693:19)"]),
        library="widgets library", context="building ProfileScreen(dirty)"),
    _flutter(
        "flutter-socket", 10, "SocketException", _dart_stack([
            "_NativeSocket.startConnect (dart:io-patch/socket_patch.dart:726:35)",
            "_RawSocket.startConnect (dart:io-patch/socket_patch.dart:1880:26)",
            "-",
            "ApiClient.get (package:shop_app/data/api_client.dart:41:22)",
            "-",
            "HomeFeedRepository.load (package:shop_app/home/home_feed_repository.dart:19:18)",
            "-"]),
        message="Failed host lookup: 'api.example.com' (OS Error: No address associated with hostname, errno = 7)",
        severity="low"),
    _flutter(
        "flutter-platform", 5, "PlatformException", _dart_stack([
            "StandardMethodCodec.decodeEnvelope (package:flutter/src/services/message_codecs.dart:648:7)",
            "MethodChannel._invokeMethod (package:flutter/src/services/platform_channel.dart:334:18)",
            "-",
            "GoogleSignInPlatform.signIn (package:google_sign_in_android/google_sign_in_android.dart:58:12)",
            "-",
            "AuthRepository.signInWithGoogle (package:shop_app/auth/auth_repository.dart:77:21)",
            "-"]),
        message="PlatformException(sign_in_failed, com.google.android.gms.common.api.ApiException: 10: , null, "
                "null)", severity="high"),
    _flutter(
        "flutter-range", 6, "RangeError", _dart_stack([
            "List.[] (dart:core-patch/growable_array.dart:264:36)",
            "ProductGallery._imageAt (package:shop_app/product/widgets/product_gallery.dart:88:19)",
            "ProductGallery.build.<anonymous closure> (package:shop_app/product/widgets/product_gallery.dart:54:26)",
            "SliverChildBuilderDelegate.build (package:flutter/src/widgets/scroll_delegate.dart:483:22)"]),
        message="RangeError (index): Invalid value: Not in inclusive range 0..4: 5"),
    _flutter(
        "flutter-overflow", 7, "A RenderFlex overflowed by {{pixels}} pixels on the right.", _dart_stack([
            "RenderFlex.paint (package:flutter/src/rendering/flex.dart:1113:7)",
            "RenderObject._paintWithContext (package:flutter/src/rendering/object.dart:3178:7)",
            "PriceRow.build (package:shop_app/product/widgets/price_row.dart:22:12)"]),
        library="rendering library", context="during layout", severity="low"),
    _flutter(
        "flutter-missing-plugin", 3, "MissingPluginException", _dart_stack([
            "MethodChannel._invokeMethod (package:flutter/src/services/platform_channel.dart:332:7)",
            "-",
            "SharedPreferencesStore.getAll (package:shared_preferences/shared_preferences.dart:42:5)",
            "-",
            "SettingsStore.init (package:shop_app/settings/settings_store.dart:15:19)",
            "-",
            "main (package:shop_app/main.dart:21:3)"]),
        message="No implementation found for method getAll on channel plugins.flutter.io/shared_preferences",
        severity="critical"),
]


# --- building events ----------------------------------------------------------------------------

def _fill(value, values: dict):
    """The template with every ``{{name}}`` replaced; a whole-string placeholder may stand for an object."""
    if isinstance(value, str):
        if value.startswith("{{") and value.endswith("}}") and value[2:-2] in values:
            return values[value[2:-2]]
        for name, replacement in values.items():
            token = "{{" + name + "}}"
            if token in value:
                value = value.replace(token, str(replacement))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_time(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A moment in the past week; a third of the traffic falls in the last day, as recent trouble does."""
    if rng.random() < 0.33:
        seconds = rng.uniform(120, 86400)
    else:
        seconds = rng.uniform(120, DAYS * 86400 - 600)
    return now - dt.timedelta(seconds=seconds)


def _payload(template: DemoError, rng: random.Random, moment: dt.datetime | None, releases: list[str],
             now: dt.datetime) -> dict:
    """One event of ``template`` as its source would post it at ``moment`` (None: now)."""
    user = rng.choice(END_USERS)
    values = {
        "order_id": rng.randint(40000, 49999), "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "email": user["email"], "ip": user["ip_address"], "host": f"{template.service}-{rng.randint(1, 3)}",
        "thread": rng.randint(1, 40), "tenant": rng.choice(["acme", "globex", "initech"]),
        "x": rng.randint(8000, 8999), "y": rng.randint(5000, 5999),
        "decimal": f"{rng.randint(1, 99)},{rng.randint(10, 99)}", "category": rng.choice(["shoes", "bags", "sale"]),
        "date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2024", "pixels": rng.randint(3, 64),
        "user_agent": rng.choice(USER_AGENTS), "os": rng.choice(["android", "android", "ios"]),
        "device": rng.choice(DEVICES), "timestamp": _iso(moment or now),
    }
    payload = _fill(template.payload, values)
    age_days = ((now - moment).total_seconds() / 86400) if moment else 0
    # The newer release ships mid-week: older events carry the older one.
    release = releases[-1] if age_days < 3 or len(releases) == 1 else releases[0]
    payload.setdefault("environment", "staging" if rng.random() < 0.12 else "production")
    if template.source == "mobile":
        payload.setdefault("appVersion", release)
    else:
        payload.setdefault("release", release)
    if template.source != "java":
        payload.setdefault("user", dict(user))
    if moment is None:
        payload.pop("timestamp", None)
        payload.pop("@timestamp", None)
    elif "@timestamp" not in payload:
        payload["timestamp"] = values["timestamp"]
    if template.source == "mobile" and isinstance(payload.get("device"), dict):
        payload["device"] = dict(payload["device"])
    return payload


def _incoming(template: DemoError, payload: dict, service: Service, raw_limit: int) -> IncomingError:
    """The payload through its source's normaliser, exactly as the webhook and API views do."""
    incoming = NORMALISERS[template.source](payload, service.id)
    incoming.platform = incoming.platform or service.platform
    incoming.raw_payload = raw_payload_text(orjson.dumps(payload), raw_limit)
    return incoming


def _record(events: list[IncomingError]) -> list[RecordResult]:
    results: list[RecordResult] = []
    for start in range(0, len(events), BATCH_SIZE):
        results += record_errors(events[start:start + BATCH_SIZE])
    return results


# --- people and services ----------------------------------------------------------------------

def _ensure_services() -> tuple[dict[str, Service], int]:
    services, created = {}, 0
    for slug, name, platform, _releases in SERVICES:
        service = db.session.execute(select(Service).where(Service.slug == slug)).scalar_one_or_none()
        if service is None:
            service = accounts.create_service(name, platform, slug=slug)
            created += 1
        services[slug] = service
    return services, created


def _ensure_team(services: dict[str, Service], password: str) -> tuple[dict[str, Developer], int]:
    people, created = {}, 0
    shared_hash = None
    for person in TEAM:
        developer = accounts.developer_by_email(person.email)
        if developer is None:
            developer = accounts.create_developer(
                person.name, person.email, role=person.role, phone=person.phone,
                services=[services[s] for s in person.services], max_load=person.max_load,
                on_call=person.on_call, password=password if shared_hash is None else None)
            # Everyone shares the demo password: one scrypt hash (about 0.1 s each) serves them all.
            shared_hash = shared_hash or developer.password_hash
            developer.password_hash = shared_hash
            created += 1
        people[person.email] = developer
        for slug in person.lead_of:
            if services[slug].lead_id is None:
                services[slug].lead_id = developer.id
    db.session.commit()
    return people, created


# --- triage: what a team would have done during the week --------------------------------------

def _lead_for(error: ErrorLog, services_by_id: dict[int, Service], manager: Developer) -> Developer:
    service = services_by_id[error.service_id]
    return service.lead if service.lead is not None and service.lead.active else manager


def _triage(error_ids: list[str], services_by_id: dict[int, Service], manager: Developer,
            rng: random.Random) -> dict:
    """Resolve stale errors, assign and start work on others, ignore noise, escalate critical ones."""
    errors = list(db.session.execute(
        select(ErrorLog).where(ErrorLog.id.in_(error_ids)).order_by(ErrorLog.last_seen, ErrorLog.id)
    ).scalars())
    open_errors = [e for e in errors if e.status in OPEN_STATUSES]
    counts = {"resolved": [], "assigned": 0, "in_progress": 0, "ignored": 0, "escalated": 0}
    if not open_errors:
        return counts

    # The quietest errors (seen last longest ago) are the ones a team has fixed by now.
    to_resolve = open_errors[:max(1, len(open_errors) // 6)]
    notes = ["Fixed in the next release.", "Config corrected on the servers.", "Guard added; covered by a test.",
             "Upstream outage, nothing to change on our side."]
    for error in to_resolve:
        lead = _lead_for(error, services_by_id, manager)
        triage.resolve_error(error, lead, note=rng.choice(notes))
        counts["resolved"].append(error.id)

    remaining = [e for e in open_errors if e not in to_resolve]
    noise = [e for e in remaining if e.severity == "info"][:1]
    for error in noise:
        triage.set_status(error, "ignored", _lead_for(error, services_by_id, manager),
                          note="Noise from scanners and browsers; nothing to fix.")
        counts["ignored"] += 1

    candidates = [e for e in remaining if e not in noise]
    rng.shuffle(candidates)
    for error in candidates[:max(1, len(candidates) // 3)]:
        lead = _lead_for(error, services_by_id, manager)
        service = services_by_id[error.service_id]
        team = sorted((d for d in service.developers if d.role == "developer" and d.active), key=lambda d: d.id)
        assignee = rng.choice(team) if team else lead
        triage.assign_error(error, assignee, lead, reason="picked up in triage")
        counts["assigned"] += 1
        if rng.random() < 0.4:
            triage.set_status(error, "in_progress", assignee)
            counts["in_progress"] += 1

    escalated_already = set(db.session.execute(
        select(ErrorEscalation.error_id).where(ErrorEscalation.error_id.in_(error_ids))).scalars())
    critical = [e for e in remaining if e.severity == "critical" and e.is_open and e.id not in escalated_already]
    for error in critical[:2]:
        escalation.escalate_error(error, None, "Critical and unresolved for more than an hour", automatic=True)
        counts["escalated"] += 1
    return counts


# --- the whole demo ---------------------------------------------------------------------------

def load_demo(count: int = DEFAULT_EVENTS, *, password: str = DEMO_PASSWORD, seed: int = 2024) -> dict:
    """Load the demo: six services, their team, ``count`` events over the past week, then triage.

    Returns a summary for people: where and how to sign in (every demo account shares
    ``password``), the ingest keys, and what was recorded. Safe to run again: services and
    people that exist are kept, events and triage are added.
    """
    if count < 1:
        raise ValueError("the demo needs at least one event")
    rng = random.Random(seed)
    now = utcnow()
    raw_limit = current_app.config["MAX_RAW_PAYLOAD_BYTES"]
    services, services_created = _ensure_services()
    people, people_created = _ensure_team(services, password)
    releases = {slug: list(r) for slug, _n, _p, r in SERVICES}

    # Some events are kept back to arrive after triage, as regressions of resolved errors.
    regression_events = min(REGRESSIONS, count // 50)
    main_count = count - regression_events
    templates = CATALOGUE[:main_count] if main_count < len(CATALOGUE) else CATALOGUE
    picks = list(templates)  # every error at least once
    picks += rng.choices(templates, weights=[t.weight for t in templates], k=main_count - len(picks))
    timed = sorted(((_event_time(rng, now), t) for t in picks), key=lambda pair: pair[0])

    events = [_incoming(t, _payload(t, rng, moment, releases[t.service], now), services[t.service], raw_limit)
              for moment, t in timed]
    results = _record(events)
    template_of: dict[str, DemoError] = {}
    for (_moment, template), result in zip(timed, results, strict=True):
        template_of.setdefault(result.error_id, template)

    manager = people[TEAM[0].email]
    services_by_id = {s.id: s for s in services.values()}
    done = _triage(sorted(template_of), services_by_id, manager, rng)

    regressed = 0
    if regression_events and done["resolved"]:
        again = done["resolved"][-regression_events:]
        late = [_incoming(template_of[eid], _payload(template_of[eid], rng, None, releases[template_of[eid].service],
                                                     now), services[template_of[eid].service], raw_limit)
                for eid in again]
        regressed = sum(1 for r in _record(late) if r.regressed)
        main_count += len(late)

    base = current_app.config["BASE_URL"]
    demo_service_ids = [s.id for s in services.values()]
    total_errors = db.session.execute(
        select(func.count()).select_from(ErrorLog).where(ErrorLog.service_id.in_(demo_service_ids))).scalar_one()
    return {
        "sign_in": f"{base}/login",
        "password": password,
        "accounts": ", ".join(f"{p.email} ({p.role})" for p in TEAM),
        "ingest_keys": ", ".join(f"{slug}={s.ingest_key}" for slug, s in services.items()),
        "services_created": services_created,
        "accounts_created": people_created,
        "events": main_count,
        "errors": total_errors,
        "resolved": len(done["resolved"]) - regressed,
        "assigned": done["assigned"],
        "in_progress": done["in_progress"],
        "ignored": done["ignored"],
        "escalated": done["escalated"],
        "regressions": regressed,
    }
