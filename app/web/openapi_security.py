"""The OpenAPI description of the security endpoint, where browsers post their own CSP reports."""
from __future__ import annotations

from app.web.openapi_ingest import JSON_OBJECT, error_response, json_content, parameter_ref, response_ref

SECURITY_ACCEPTED = {"type": "object", "required": ["ids"], "additionalProperties": False, "properties": {
    "ids": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "description": "The occurrence id of each report recorded (none for a batch of other report types)."}}}
REPORT_LIST = {"type": "array", "maxItems": 100, "items": JSON_OBJECT,
               "description": "Reporting API reports: `{\"type\": \"csp-violation\", \"age\", \"url\", "
                              "\"user_agent\", \"body\": {\"documentURL\", \"blockedURL\", \"effectiveDirective\", "
                              "...}}`; reports of other types are skipped."}


def operation() -> dict:
    body = {"schema": JSON_OBJECT}
    return {
        "tags": ["sentry"], "summary": "Browser security reports (CSP)",
        "description": "Put this URL in a `Content-Security-Policy` header's `report-uri` (or in `Reporting-Endpoints` "
                       "for `report-to`): `/api/{service id}/security/?sentry_key={ingest key}`, optionally with "
                       "`&sentry_environment=` and `&sentry_release=`. Each report is recorded as a security report "
                       "(kind `security`): grouped by directive and blocked origin, listed on the dashboard's "
                       "Security page, never routed, notified or escalated. HPKP, Expect-CT and Expect-Staple "
                       "reports are read too. At most 1 MiB; the service's rate limit applies.",
        "parameters": [parameter_ref("ServiceId"), parameter_ref("ContentEncoding"),
                       {"name": "sentry_environment", "in": "query", "schema": {"type": "string"}},
                       {"name": "sentry_release", "in": "query", "schema": {"type": "string"}}],
        "security": [{"SentryKeyQuery": []}, {"SentryAuthHeader": []}],
        "requestBody": {"required": True, "content": {
            "application/csp-report": {**body, "example": {"csp-report": {
                "document-uri": "https://shop.example/cart", "violated-directive": "script-src-elem",
                "effective-directive": "script-src-elem", "blocked-uri": "https://cdn.evil.example/tracker.js",
                "disposition": "enforce", "original-policy": "script-src 'self'; report-uri /api/1/security/"}}},
            "application/reports+json": {"schema": REPORT_LIST},
            "application/json": body, "application/expect-ct-report+json": body}},
        "responses": {
            "201": {"description": "Recorded, or kept in the spool while the database is unreachable.",
                    "content": json_content(SECURITY_ACCEPTED)},
            "400": error_response("Not JSON, not a report, or no known CSP directive."),
            "403": error_response("Missing key, or not a key of this service."),
            "404": error_response("The service id in the path is not a whole number."),
            "413": error_response("The body is larger than 1 MiB."),
            "415": error_response("Not a report's Content-Type, or an unsupported Content-Encoding."),
            "429": response_ref("RateLimited"), "503": response_ref("Unavailable"),
        },
    }
