"""Security reports: a browser's Content-Security-Policy violation, and the older certificate
reports (HPKP, Expect-CT, Expect-Staple), as an IncomingError of kind ``security``.

They come two ways: a browser posts its own report to ``/api/<service id>/security/`` (CSP level 2's
``{"csp-report": {...}}`` as ``application/csp-report``, or the Reporting API's list of
``{"type": "csp-violation", "body": {...}}`` as ``application/reports+json``), or a Sentry event
carries one as its ``csp``/``hpkp``/``expectct``/``expectstaple`` interface. Field names, titles and
grouping follow Sentry's (Relay's security report schema): a CSP report groups by its effective
directive and its blocked URI reduced to the origin (http and https) or kept as the keyword it is
(``inline``, ``eval``, ``'self'``); a certificate report groups by its host name.

A security report is never routed, notified or escalated (app/triage/kinds.py): it is listed apart
from the errors, at low severity (``info`` when the policy only reports).
"""
from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

from app.ingest.incoming import IncomingError, InvalidPayload, clean_json, endpoint_from_request, strip_nul, truncate

KIND = "security"
SOURCE = "security"
MAX_REPORTS = 100  # Reporting API bodies are batches; a browser sends a few at a time
MAX_FIELD_CHARS = 4096

CSP_DIRECTIVES = frozenset({
    "base-uri", "child-src", "connect-src", "default-src", "fenced-frame-src", "font-src", "form-action",
    "frame-ancestors", "frame-src", "img-src", "manifest-src", "media-src", "object-src", "plugin-types",
    "prefetch-src", "referrer", "script-src", "script-src-attr", "script-src-elem", "style-src",
    "style-src-elem", "style-src-attr", "upgrade-insecure-requests", "worker-src", "sandbox", "navigate-to",
    "report-uri", "report-to", "block-all-mixed-content", "require-sri-for", "require-trusted-types-for",
    "trusted-types",
})
# Each CSP field as the report keeps it (CSP level 2's names), with the spellings that mean it: the
# Reporting API's camelCase and a Sentry event interface's snake_case.
CSP_FIELDS = {
    "document-uri": ("documentURL", "document_uri"),
    "blocked-uri": ("blockedURL", "blocked_uri"),
    "effective-directive": ("effectiveDirective", "effective_directive"),
    "violated-directive": ("violatedDirective", "violated_directive"),
    "original-policy": ("originalPolicy", "original_policy"),
    "disposition": (),
    "referrer": (),
    "status-code": ("statusCode", "status_code"),
    "source-file": ("sourceFile", "source_file"),
    "line-number": ("lineNumber", "line_number"),
    "column-number": ("columnNumber", "column_number"),
    "script-sample": ("scriptSample", "script_sample", "sample"),
}
NUMBER_FIELDS = frozenset({"status-code", "line-number", "column-number", "port"})
LOCAL_URIS = ("", "self", "'self'")
KEYWORDS = ("inline", "eval", "wasm-eval", "trusted-types-policy", "trusted-types-sink")
# What a blocked resource of a directive is called in the title: "Blocked 'script' from 'cdn.example'".
RESOURCE = {"child-src": "child", "connect-src": "connect", "font-src": "font", "img-src": "image",
            "manifest-src": "manifest", "media-src": "media", "object-src": "object", "script-src": "script",
            "script-src-elem": "script", "style-src": "style", "style-src-elem": "style"}
INLINE_TITLES = {
    "child-src": "Blocked inline 'child'", "connect-src": "Blocked inline 'connect'",
    "font-src": "Blocked inline 'font'", "img-src": "Blocked inline 'image'",
    "manifest-src": "Blocked inline 'manifest'", "media-src": "Blocked inline 'media'",
    "object-src": "Blocked inline 'object'", "script-src-attr": "Blocked unsafe 'script' element",
    "script-src-elem": "Blocked inline script attribute", "style-src": "Blocked inline 'style'",
    "style-src-elem": "Blocked 'style' or 'link' element", "style-src-attr": "Blocked style attribute",
    "script-src": "Blocked unsafe (eval() or inline) 'script'",
}
# The certificate reports: the body's wrapper key (if any), the title, and the fields kept.
CERTIFICATE_REPORTS = {
    "hpkp": (None, "Public key pinning validation failed for '{host}'",
             ("date-time", "hostname", "port", "effective-expiration-date", "include-subdomains", "noted-hostname",
              "served-certificate-chain", "validated-certificate-chain", "known-pins")),
    "expectct": ("expect-ct-report", "Expect-CT failed for '{host}'",
                 ("date-time", "hostname", "port", "scheme", "effective-expiration-date", "served-certificate-chain",
                  "validated-certificate-chain", "scts", "failure-mode", "test-report")),
    "expectstaple": ("expect-staple-report", "Expect-Staple failed for '{host}'",
                     ("date-time", "hostname", "port", "effective-expiration-date", "response-status",
                      "ocsp-response", "cert-status", "served-certificate-chain", "validated-certificate-chain")),
}
INTERFACES = ("csp", "hpkp", "expectct", "expectstaple")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = strip_nul(value if isinstance(value, str) else str(value))
    return truncate(text, MAX_FIELD_CHARS)


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()[:18])
    return None


def normalise_uri(value: str) -> str:
    """A blocked URI as it groups: the host (and port) of an http(s) URL, the scheme and host of any
    other (``data:``, ``blob:``, ``wss://host``), ``'self'`` for the document itself, and a value that is
    not a URL (the keywords ``inline``, ``eval``) as it came."""
    if value in LOCAL_URIS:
        return "'self'"
    if value in KEYWORDS:
        return value
    if ":" not in value:
        return f"{value}://" if value in ("http", "https", "ws", "wss", "ftp", "file") else f"{value}:"
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port
    except ValueError:
        return value
    host = parts.hostname or ""
    if parts.scheme in ("http", "https"):
        normalised = host
    elif host or parts.netloc:
        normalised = f"{parts.scheme}://{host}"
    else:
        normalised = f"{parts.scheme}:"
    return f"{normalised}:{port}" if port is not None else normalised


def _directive(report: dict) -> str:
    """The effective directive (Firefox sends only the violated one); 400 when neither names a directive."""
    for name in ("effective-directive", "violated-directive"):
        value = report.get(name)
        if isinstance(value, str) and value.strip():
            word = value.split()[0].lower()
            if word in CSP_DIRECTIVES:
                return word
    raise InvalidPayload("the report names no known CSP directive (effective-directive or violated-directive)",
                         "effective-directive")


def csp_title(directive: str, blocked_uri: str) -> str:
    """The report's title, as Sentry words it: "Blocked 'script' from 'cdn.example'"."""
    if directive in ("script-src", "script-src-elem") and blocked_uri in ("inline", "eval"):
        return "Blocked unsafe inline 'script'" if blocked_uri == "inline" else "Blocked unsafe eval() 'script'"
    if blocked_uri in LOCAL_URIS or blocked_uri in KEYWORDS:
        return INLINE_TITLES.get(directive, f"Blocked inline '{directive}'")
    uri = normalise_uri(blocked_uri)
    if directive == "form-action":
        return f"Blocked 'form' action to '{uri}'"
    if directive == "script-src-attr":
        return f"Blocked inline script attribute from '{uri}'"
    if directive == "style-src-attr":
        return f"Blocked style attribute from '{uri}'"
    return f"Blocked '{RESOURCE.get(directive, directive)}' from '{uri}'"


def csp_fields(raw: dict) -> dict:
    """The CSP report's fields under their CSP level 2 names, whichever spelling came."""
    fields: dict[str, Any] = {}
    for name, aliases in CSP_FIELDS.items():
        for key in (name, *aliases):
            if raw.get(key) not in (None, ""):
                value = _number(raw[key]) if name in NUMBER_FIELDS else _text(raw[key])
                if value is not None:
                    fields[name] = value
                break
    fields.setdefault("blocked-uri", "self")  # a report without one is about the document itself
    return fields


def _blocked_host(blocked_uri: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(blocked_uri)
    except ValueError:
        return None
    return parts.hostname if parts.scheme in ("http", "https") else None


def _security_event(service_id: int, report_type: str, title: str, group: list[str], fields: dict,
                    severity: str, tags: dict[str, str], request: dict | None) -> IncomingError:
    incoming = IncomingError(service_id=service_id, source=SOURCE, error_type=truncate(title, 255), message=title,
                             severity=severity, kind=KIND)
    incoming.fingerprint = [KIND, report_type, *group]
    incoming.tags = {name: truncate(value, 200) for name, value in tags.items() if value}
    incoming.extra["security"] = {"type": report_type, **fields}
    incoming.request = request
    if request:
        incoming.endpoint = endpoint_from_request(request)
    return incoming


def from_csp(raw: dict, service_id: int) -> IncomingError:
    """One CSP violation (its inner object, any spelling) as a security IncomingError; 400 when it
    names no directive."""
    fields = csp_fields(raw)
    directive = _directive(fields)
    fields["effective-directive"] = directive
    blocked = fields["blocked-uri"]
    severity = "info" if fields.get("disposition") == "report" else "low"
    tags = {"effective-directive": directive, "blocked-uri": blocked, "blocked-host": _blocked_host(blocked),
            "disposition": fields.get("disposition")}
    request = None
    if fields.get("document-uri"):
        request = {"url": fields["document-uri"]}
        if fields.get("referrer"):
            request["headers"] = {"Referer": fields["referrer"]}
    group = [directive, normalise_uri(blocked)]
    return _security_event(service_id, "csp", csp_title(directive, blocked), group, fields, severity, tags, request)


def from_certificate(report_type: str, raw: dict, service_id: int) -> IncomingError:
    """An HPKP, Expect-CT or Expect-Staple report (the inner object, kebab- or snake_case)."""
    _, title, names = CERTIFICATE_REPORTS[report_type]
    fields: dict[str, Any] = {}
    for name in names:
        value = raw.get(name, raw.get(name.replace("-", "_")))
        if value in (None, ""):
            continue
        if name in NUMBER_FIELDS:
            value = _number(value)
        elif isinstance(value, (dict, list, bool)):
            value = clean_json(value)
        else:
            value = _text(value)
        if value is not None:
            fields[name] = value
    host = fields.get("hostname")
    if not isinstance(host, str) or not host:
        raise InvalidPayload(f"the {report_type} report has no hostname", "hostname")
    tags = {"hostname": host, "port": str(fields["port"]) if "port" in fields else None}
    return _security_event(service_id, report_type, title.format(host=host), [host], fields, "low", tags, None)


def from_interface(event: dict, service_id: int) -> IncomingError | None:
    """The security report a Sentry event carries as an interface, or None when it carries none
    (or one that is not an object, or whose directive or host cannot be read)."""
    for name in INTERFACES:
        raw = event.get(name)
        if not isinstance(raw, dict):
            continue
        try:
            return from_csp(raw, service_id) if name == "csp" else from_certificate(name, raw, service_id)
        except InvalidPayload:
            return None
    return None


def apply_interface(event: dict, incoming: IncomingError) -> IncomingError:
    """A normalised Sentry event made a security report when it carries one as an interface: the
    report's title, grouping, severity, fields and tags; the event's own environment, release, user,
    time and tags stay."""
    report = from_interface(event, incoming.service_id)
    if report is None:
        name = next((name for name in INTERFACES if isinstance(event.get(name), dict)), None)
        if name is not None:  # a report that cannot be read is still no error to page anyone for
            incoming.kind, incoming.source, incoming.severity = KIND, SOURCE, "low"
            incoming.extra["security"] = {"type": name, **clean_json(event[name])}
        return incoming
    for name in ("kind", "source", "error_type", "message", "severity", "fingerprint"):
        setattr(incoming, name, getattr(report, name))
    incoming.exceptions = []
    incoming.tags = {**incoming.tags, **report.tags}
    incoming.extra["security"] = report.extra["security"]
    if report.request and not incoming.request:
        incoming.request, incoming.endpoint = report.request, report.endpoint
    return incoming


def from_browser_report(content_type: str, payload: Any, service_id: int,
                        now: dt.datetime | None = None) -> list[IncomingError]:
    """What a browser posted to the security endpoint, as IncomingErrors; 400 (InvalidPayload) for a
    body that is no report. Reporting API reports of other types (deprecation, intervention ...) are
    skipped: a batch may mix them."""
    if content_type == "application/reports+json" or isinstance(payload, list):
        if not isinstance(payload, list):
            raise InvalidPayload("a reports+json body is a JSON list of reports", "body")
        if len(payload) > MAX_REPORTS:
            raise InvalidPayload(f"a reports+json body holds at most {MAX_REPORTS} reports", "body")
        now = now or dt.datetime.now(dt.timezone.utc)
        found = []
        for report in payload:
            if not isinstance(report, dict) or not isinstance(report.get("body"), dict):
                raise InvalidPayload("each report is an object with a 'body' object", "body")
            if report.get("type") != "csp-violation":
                continue
            incoming = from_csp(report["body"], service_id)
            age = _number(report.get("age"))
            if age is not None and age < 7 * 24 * 3600 * 1000:
                incoming.timestamp = now - dt.timedelta(milliseconds=age)
            user_agent = _text(report.get("user_agent"))
            if user_agent:
                incoming.request = {**(incoming.request or {}), "headers": {
                    **((incoming.request or {}).get("headers") or {}), "User-Agent": user_agent}}
            found.append(incoming)
        return found
    if not isinstance(payload, dict):
        raise InvalidPayload("the body must be a JSON object: {\"csp-report\": {...}}", "body")
    if isinstance(payload.get("csp-report"), dict):
        return [from_csp(payload["csp-report"], service_id)]
    for report_type, (wrapper, _, _) in CERTIFICATE_REPORTS.items():
        if wrapper and isinstance(payload.get(wrapper), dict):
            return [from_certificate(report_type, payload[wrapper], service_id)]
    if "known-pins" in payload and "hostname" in payload:
        return [from_certificate("hpkp", payload, service_id)]
    if payload.get("type") == "csp-violation" and isinstance(payload.get("body"), dict):
        return from_browser_report("application/reports+json", [payload], service_id, now)
    raise InvalidPayload("not a security report: expected {\"csp-report\": {...}}, a Reporting API list, or an "
                         "HPKP, Expect-CT or Expect-Staple report", "body")
