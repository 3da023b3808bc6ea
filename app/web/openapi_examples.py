"""Example payloads of the ingest endpoints, shown in the OpenAPI document; docs/ingest.md shows the
same ones as curl commands, and tests/web/test_openapi.py posts both and checks they are recorded."""
from __future__ import annotations

EXAMPLES = {
    "api": {
        "error_type": "KeyError", "message": "'embedding'", "severity": "error", "platform": "python",
        "environment": "production", "release": "ai-api@3.14.0",
        "request": {"url": "https://ai.example.com/api/v1/search/similar/?document=48213", "method": "GET"},
        "user": {"id": "10482", "email": "m.kowalski@example.org"}, "tags": {"region": "eu-west-1"},
        "stack_trace": "Traceback (most recent call last):\n"
                       '  File "/srv/app/search/views.py", line 29, in similar_documents\n'
                       "    vector = index.lookup(document_id)['embedding']\n"
                       '  File "/srv/app/search/index.py", line 77, in lookup\n'
                       "    return self._cache[document_id]\n"
                       "KeyError: 'embedding'",
    },
    "laravel": {
        "exception": {
            "class": "Illuminate\\Database\\Eloquent\\ModelNotFoundException",
            "message": "No query results for model [App\\Models\\Order] 48213", "code": 0,
            "file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Database/Eloquent/Builder.php",
            "line": 621,
            "trace": [
                {"file": "/var/www/html/app/Http/Controllers/OrderController.php", "line": 35,
                 "function": "findOrFail", "class": "App\\Models\\Order", "type": "::"},
                {"file": "/var/www/html/vendor/laravel/framework/src/Illuminate/Routing/Controller.php",
                 "line": 54, "function": "show", "class": "App\\Http\\Controllers\\OrderController",
                 "type": "->"},
            ],
        },
        "request": {"url": "https://shop.example.com/orders/48213", "method": "GET"},
        "user": {"id": 1042, "email": "ada@example.org"}, "environment": "production", "level": "notice",
    },
    "java": {
        "@timestamp": "2024-06-01T12:00:00.123+02:00", "@version": "1",
        "message": "Request processing failed: POST /api/v1/routes",
        "logger_name": "com.example.geo.routing.RouteController", "thread_name": "http-nio-8080-exec-7",
        "level": "ERROR", "level_value": 40000, "HOSTNAME": "geo-1", "requestId": "5f2c0a9e",
        "stack_trace": "java.lang.IllegalStateException: Route planner not ready\n"
                       "\tat com.example.geo.routing.RouteService.plan(RouteService.java:112)\n"
                       "\tat com.example.geo.routing.RouteController.createRoute(RouteController.java:57)\n"
                       "Caused by: java.io.FileNotFoundException: /data/graph/eu-west.bin\n"
                       "\tat java.base/java.io.FileInputStream.open0(Native Method)\n"
                       "\tat com.example.geo.routing.GraphLoader.load(GraphLoader.java:40)\n"
                       "\t... 2 more",
    },
    "java_structured": {
        "exception": "java.lang.ArrayIndexOutOfBoundsException", "message": "Index 3 out of bounds for length 3",
        "frames": [
            {"className": "com.example.geo.routing.Polyline", "methodName": "decode", "fileName": "Polyline.java",
             "lineNumber": 64},
            {"className": "com.example.geo.routing.RouteController", "methodName": "importRoute",
             "fileName": "RouteController.java", "lineNumber": 84},
        ],
        "environment": "production",
    },
    "frontend": {
        "message": "Cannot read properties of undefined (reading 'map')", "name": "TypeError",
        "stack": "TypeError: Cannot read properties of undefined (reading 'map')\n"
                 "    at ProductList (https://shop.example.com/static/js/main.8c1f2e4a.js:2:104233)\n"
                 "    at renderWithHooks (https://shop.example.com/static/js/vendors~main.3b9d0c71.chunk.js:2:2811904)",
        "url": "https://shop.example.com/category/shoes", "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        "componentStack": "\n    at ProductList\n    at CategoryPage\n    at App", "framework": "react",
        "release": "frontend@1.42.0",
    },
    "mobile": {
        "exception": "FormatException", "message": "Invalid radix-10 number (at character 3)",
        "stackTrace": "#0      int._throwFormatException (dart:core-patch/integers_patch.dart:195:5)\n"
                      "#1      int.parse (dart:core-patch/integers_patch.dart:63:12)\n"
                      "#2      OrderTotal.fromJson (package:shop_app/models/order_total.dart:31:22)\n"
                      "<asynchronous suspension>\n"
                      "#3      CheckoutCubit.load (package:shop_app/checkout/checkout_cubit.dart:44:7)",
        "library": "package:shop_app", "platform": "android", "appVersion": "4.2.1+87",
        "device": {"model": "Pixel 7", "osVersion": "14"},
    },
    "generic": {
        "message": "Nightly export failed: disk quota exceeded", "error_type": "ExportError",
        "severity": "warning", "environment": "production", "tags": {"job": "nightly-export"},
    },
}
