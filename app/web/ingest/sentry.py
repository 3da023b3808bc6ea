"""Sentry-compatible ingest: every official Sentry SDK reports to Heartwatch through its DSN.

``POST /api/<service id>/envelope/`` (every current SDK) and ``/api/<service id>/store/`` (sentry-sdk
1.x, old Dart transports), and ``/api/<service id>/security/?sentry_key=...``, where browsers post
their own CSP violation reports (``report-uri`` and ``report-to``). The DSN's public key is the
service's ingest key. This module does the HTTP work only (key, sizes, decoding, CORS); the event
becomes an IncomingError in app/ingest/sources/sentry.py (a browser's report in
app/ingest/sources/security.py) and is recorded like every other event; an envelope's client reports
are counted (app/recording/client_reports.py).
"""
from __future__ import annotations

import base64
import binascii
import logging
import urllib.parse
import uuid

from flask import Blueprint, current_app, request

from app.ingest.envelope import CLIENT_REPORT_ITEM_TYPE, EVENT_ITEM_TYPES, USER_REPORT_ITEM_TYPES, EnvelopeError, \
    discarded_counts, parse_envelope, parse_event_json
from app.ingest.incoming import MAX_NESTING, InvalidPayload, clean_json, nested_too_deep, strip_nul
from app.ingest.scrubbing import check_parsed_payload
from app.ingest.sources import security as security_source
from app.ingest.sources import sentry as sentry_source
from app.platform.outage import OutageLog
from app.platform.sql import database_unavailable
from app.recording.client_reports import record_discarded
from app.recording.record import raw_payload_text
from app.recording.keys import IngestService, resolve_ingest_key
from app.recording.writer import submit_error
from app.symbolication.resolve import resolve_event
from app.web.errors import ApiError, register_json_errors
from app.web.ingest.common import decode_body, enforce_rate_limit, note_service, parse_json, read_body

bp = Blueprint("sentry", __name__)
_reports_outage = OutageLog(logging.getLogger("heartwatch.ingest"), "counting client reports")
register_json_errors(bp)

# Sentry's own limits are 20 MB compressed / 100 MB decompressed per envelope and 1 MB per event;
# Heartwatch keeps less in memory at once.
MAX_ENVELOPE_BYTES = 20 * 1024 * 1024
MAX_DECODED_BYTES = 50 * 1024 * 1024
MAX_EVENT_BYTES = 1024 * 1024
# What browsers send to the security endpoint: CSP level 2 reports (report-uri), Reporting API batches
# (report-to), and JSON (the certificate reports, hand-posted reports).
SECURITY_TYPES = ("application/csp-report", "application/reports+json", "application/json",
                  "application/expect-ct-report+json")
# Categories an SDK stops sending for while Heartwatch's per-service limit is exceeded.
RATE_LIMITED_CATEGORIES = "error;default"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "x-sentry-auth, content-type, content-encoding, authorization, sentry-trace, "
                                    "baggage",
    "Access-Control-Expose-Headers": "x-sentry-error, x-sentry-rate-limits, retry-after",
    "Access-Control-Max-Age": "86400",
}


def _key_from_auth_header(value: str) -> str | None:
    """``Sentry sentry_key=..., sentry_version=7, ...`` (or ``DSN <dsn>``) -> the public key."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "dsn":
        return _key_from_dsn(rest)
    if scheme.lower() == "sentry":
        value = rest
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if sep and name.strip().lower() == "sentry_key":
            return item.strip() or None
    return None


def _key_from_dsn(dsn) -> str | None:
    if not isinstance(dsn, str) or "@" not in dsn:
        return None
    try:
        username = urllib.parse.urlsplit(dsn.strip()).username
    except ValueError:
        return None
    return urllib.parse.unquote(username) if username else None


def _key_from_request() -> str | None:
    for header in ("X-Sentry-Auth", "Authorization"):
        value = request.headers.get(header)
        key = _key_from_auth_header(value) if value else None
        if key:
            return key
    return request.args.get("sentry_key") or None


def _authenticate(service_id: int, key: str | None) -> IngestService:
    # Sentry answers 403 to an unknown (project, key) pair; SDKs log it and stop retrying.
    if not key:
        raise ApiError(403, "missing sentry_key: use the service's DSN (X-Sentry-Auth header or ?sentry_key=)",
                       field="sentry_key")
    service = resolve_ingest_key(key)
    if service is None or service.id != service_id:
        raise ApiError(403, f"this key is not a DSN key of service {service_id}", field="sentry_key")
    return note_service(service)


def _envelope_error(exc: EnvelopeError) -> ApiError:
    return ApiError(exc.status, exc.message, field=exc.field, code=exc.code)


def _record(service: IngestService, event: dict, raw: bytes, *, envelope_event_id=None,
            user_report: dict | None = None) -> dict:
    event_id = sentry_source.event_id_of(event, envelope_event_id)
    if event.get("type") == "transaction":
        return {"id": uuid.UUID(event_id).hex}  # performance data: accepted, not kept
    enforce_rate_limit(service)
    raw_text = raw_payload_text(raw, current_app.config["MAX_RAW_PAYLOAD_BYTES"])
    parsed = check_parsed_payload(service.settings.scrubber, event, raw_text)  # before the normaliser reads it
    incoming = sentry_source.normalise(event, service.id, event_id=event_id, client_address=request.remote_addr)
    incoming.platform = incoming.platform or service.platform
    try:
        resolve_event(incoming, event.get("debug_meta"))  # before the fingerprint: see app/symbolication
    except Exception as exc:  # the maps are in the database: without it the event keeps its frames as sent
        if not database_unavailable(exc):
            raise
    incoming.raw_payload = raw_text
    if user_report:
        incoming.extra["user_report"] = clean_json(user_report)
    submit_error(incoming, service.settings, parsed)
    return {"id": uuid.UUID(event_id).hex}


def _count_client_reports(service: IngestService, parsed) -> None:
    """Count what the SDK says it dropped (client_report items, alone or beside an event)."""
    counts: dict[tuple[str, str], int] = {}
    for item in parsed.items:
        if item.type != CLIENT_REPORT_ITEM_TYPE:
            continue
        try:
            report = item.json(MAX_EVENT_BYTES)
        except EnvelopeError:
            continue  # a broken report must not cost the envelope's event
        for key, quantity in discarded_counts(report).items():
            counts[key] = counts.get(key, 0) + quantity
    try:
        record_discarded(service.id, counts)
    except Exception as exc:  # the SDK's own count of what it dropped must not cost the envelope's event
        if not database_unavailable(exc):
            raise
        _reports_outage.failed("client reports' counts are not kept while the database is down")


@bp.route("/<int:service_id>/envelope/", methods=["POST"], strict_slashes=False)
def envelope(service_id: int):
    key = _key_from_request()
    # With the key in a header or the query the service is known before the body is read; the
    # envelope header's dsn can only be checked after.
    service = _authenticate(service_id, key) if key else None
    body = read_body(MAX_ENVELOPE_BYTES, MAX_DECODED_BYTES)
    try:
        parsed = parse_envelope(body)
        if service is None:
            service = _authenticate(service_id, _key_from_dsn(parsed.headers.get("dsn")))
        _count_client_reports(service, parsed)
        item = parsed.first(EVENT_ITEM_TYPES)
        if item is None:
            return {}  # sessions, transactions ...: accepted, not kept
        event = item.json(MAX_EVENT_BYTES)
        report_item = parsed.first(USER_REPORT_ITEM_TYPES)
        user_report = None
        if report_item is not None:
            try:
                user_report = report_item.json(MAX_EVENT_BYTES)
            except EnvelopeError:
                user_report = None  # a broken side item must not cost the event
    except EnvelopeError as exc:
        raise _envelope_error(exc) from None
    return _record(service, event, item.payload, envelope_event_id=parsed.headers.get("event_id"),
                   user_report=user_report)


def _security_payload(body: bytes):
    """The security endpoint's body: a JSON object or a Reporting API list; 400 otherwise."""
    payload = parse_json(body, (dict, list), "a JSON object or a list of reports", "send the browser's report")
    if nested_too_deep({"body": payload}, body):
        raise ApiError(400, f"the report nests more than {MAX_NESTING} levels deep", field="body",
                       code="invalid_field")
    return payload


@bp.route("/<int:service_id>/security/", methods=["POST"], strict_slashes=False)
def security(service_id: int):
    """A browser's security report(s): recorded as security reports, never routed or notified."""
    service = _authenticate(service_id, _key_from_request())
    mimetype = request.mimetype or ""
    if mimetype not in SECURITY_TYPES:
        raise ApiError(415, f"Content-Type must be one of {', '.join(SECURITY_TYPES)}, not {mimetype or 'missing'}")
    body = read_body(MAX_EVENT_BYTES, MAX_EVENT_BYTES)
    payload = _security_payload(body)
    try:
        reports = security_source.from_browser_report(mimetype, payload, service.id)
    except InvalidPayload as exc:
        raise ApiError(400, exc.message, field=exc.field, code=exc.code) from None
    if reports:
        enforce_rate_limit(service)
    raw = raw_payload_text(body, current_app.config["MAX_RAW_PAYLOAD_BYTES"])
    ids = []
    for incoming in reports:
        # Sentry's security endpoint reads these from the report URI's query too.
        incoming.environment = strip_nul(request.args.get("sentry_environment") or "")[:64] \
            or sentry_source.DEFAULT_ENVIRONMENT
        incoming.release = strip_nul(request.args.get("sentry_release") or "")[:128] or None
        incoming.platform = "javascript"
        incoming.raw_payload = raw
        ids.append(submit_error(incoming).occurrence_id)
    return {"ids": [uuid.UUID(i).hex for i in ids]}, 201


def _unwrap_store_body(body: bytes) -> bytes:
    """A /store/ body is JSON, or base64 of zlib- or gzip-compressed JSON (old SDKs, no header)."""
    stripped = body.strip()
    if not stripped or stripped[:1] == b"{":
        return body
    try:
        decoded = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return body  # not base64 either: the JSON reader explains what is wrong
    if decoded[:2] == b"\x1f\x8b":
        return decode_body(decoded, "gzip", MAX_EVENT_BYTES)
    try:
        return decode_body(decoded, "deflate", MAX_EVENT_BYTES)
    except ApiError as exc:
        if exc.status != 400:
            raise
        return decoded


@bp.route("/<int:service_id>/store/", methods=["POST"], strict_slashes=False)
def store(service_id: int):
    service = _authenticate(service_id, _key_from_request())
    body = _unwrap_store_body(read_body(MAX_ENVELOPE_BYTES, MAX_DECODED_BYTES))
    try:
        event = parse_event_json(body, MAX_EVENT_BYTES)
    except EnvelopeError as exc:
        raise _envelope_error(exc) from None
    return _record(service, event, body)


@bp.after_request
def sentry_headers(response):
    """CORS on every answer (browser SDKs post from the app's origin), and the Sentry headers SDKs read."""
    response.headers.update(CORS_HEADERS)
    retry_after = response.headers.get("Retry-After")
    if response.status_code == 429 and retry_after:
        response.headers["X-Sentry-Rate-Limits"] = f"{retry_after}:{RATE_LIMITED_CATEGORIES}:project"
    if response.status_code >= 400 and response.is_json:
        body = response.get_json(silent=True) or {}
        message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
        if message:
            # SDKs log this header when they drop an event; keep it one short line.
            response.headers["X-Sentry-Error"] = " ".join(str(message).split())[:200].encode("ascii", "replace").decode()
    return response
