"""The HTTP side of ingest, shared by the JSON API, the webhooks and the Sentry endpoints:
reading a size-capped (and possibly compressed) body, decoding JSON, the ingest key, the rate limit.
"""
from __future__ import annotations

import io
import time
import zlib

import brotli
import orjson
import zstandard
from flask import Flask, current_app, g, request

from app.ingest.incoming import MAX_NESTING, IncomingError, InvalidPayload, nested_too_deep
from app.ingest.scrubbing import check_parsed_payload
from app.platform import metrics
from app.recording import rate_limit
from app.recording.record import RecordResult, raw_payload_text
from app.recording.keys import IngestService, resolve_ingest_key
from app.recording.writer import submit_error
from app.web.errors import ApiError

JSON_TYPES = ("application/json", "text/plain")


def read_body(max_raw: int, max_decoded: int) -> bytes:
    """The request body, decompressed; 413 when either the wire size or the decoded size is too big
    (decoding is bounded as it goes: compressed bodies can expand a thousandfold)."""
    if request.content_length is not None and request.content_length > max_raw:
        raise ApiError(413, f"request body is larger than {max_raw} bytes")
    stream = request.stream
    chunks, size = [], 0
    while True:  # chunked bodies have no Content-Length: read until the end or past the limit
        chunk = stream.read(min(65536, max_raw + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_raw:
            raise ApiError(413, f"request body is larger than {max_raw} bytes")
    body = b"".join(chunks)
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    return decode_body(body, encoding, max_decoded)


def decode_body(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            out = _inflate(body, zlib.MAX_WBITS | 16, limit)
        elif encoding == "deflate":
            # Clients disagree on "deflate": zlib-wrapped (the standard) or raw.
            try:
                out = _inflate(body, zlib.MAX_WBITS, limit)
            except zlib.error:
                out = _inflate(body, -zlib.MAX_WBITS, limit)
        elif encoding == "br":
            out = brotli.Decompressor().process(body, output_buffer_limit=limit + 1)
        elif encoding == "zstd":
            # Read at most one byte past the limit: a zstd frame may announce no size, or lie about it.
            out = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)).read(limit + 1)
        else:
            raise ApiError(415, f"unsupported Content-Encoding {encoding!r}; use gzip, deflate, br or zstd",
                           code="unsupported_encoding")
    except (zlib.error, brotli.error, zstandard.ZstdError):
        raise ApiError(400, f"the body is not valid {encoding} data", code="bad_encoding") from None
    if len(out) > limit:
        raise ApiError(413, f"decompressed body is larger than {limit} bytes")
    return out


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    return inflater.decompress(body, limit + 1)


def parse_json(body: bytes, kinds: tuple[type, ...], expected: str, hint: str):
    """A request body as JSON of one of ``kinds`` (``expected`` says which in words); 400 otherwise."""
    if not body.strip():
        raise ApiError(400, f"the request body is empty; {hint}", code="malformed_json")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}", code="malformed_json") from None
    if not isinstance(payload, kinds):
        raise ApiError(400, f"the body must be {expected}", code="malformed_json")
    return payload


def parse_json_object(body: bytes) -> dict:
    payload = parse_json(body, (dict,), "a JSON object", "send a JSON object")
    if field := nested_too_deep(payload, body):
        raise ApiError(400, f"'{field}' nests more than {MAX_NESTING} levels deep", field=field,
                       code="invalid_field")
    return payload


def require_json_content_type() -> None:
    mimetype = request.mimetype or ""
    if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
        raise ApiError(415, f"Content-Type must be application/json, not {mimetype or 'missing'}")


def ingest_key_from_request() -> str | None:
    return request.headers.get("X-Api-Key") or request.args.get("key")


def authenticate_service(key: str | None) -> IngestService:
    if not key:
        raise ApiError(401, "missing ingest key: send the service's key in the X-Api-Key header or ?key=",
                       field="X-Api-Key")
    service = resolve_ingest_key(key)
    if service is None:
        raise ApiError(401, "unknown ingest key", field="X-Api-Key")
    return note_service(service)


def note_service(service: IngestService) -> IngestService:
    """The service an ingest request turned out to be for (the metrics label its answer with it)."""
    g.ingest_service = service.slug
    return service


# The ways in: every route of the Sentry and webhook blueprints, and the JSON API's POST /api/errors/.
INGEST_BLUEPRINTS = frozenset({"sentry", "webhooks"})
INGEST_ENDPOINTS = frozenset({"api.ingest"})


def count_ingest_answers(app: Flask) -> None:
    """With metrics on, every ingest answer is counted by service and outcome, and timed."""
    def started() -> None:
        if request.blueprint in INGEST_BLUEPRINTS or request.endpoint in INGEST_ENDPOINTS:
            g.ingest_started = time.perf_counter()

    def answered(response):
        began = g.pop("ingest_started", None)
        if began is not None:
            metrics.ingest_answered(g.get("ingest_service"), response.status_code, time.perf_counter() - began)
        return response

    app.before_request(started)
    app.after_request(answered)


def enforce_rate_limit(service: IngestService, extra_headers: dict | None = None) -> None:
    retry_after = rate_limit.check_rate(service.id, service.rate_limit_per_minute)
    if retry_after is not None:
        rate_limit.record_dropped(service.id)
        headers = {"Retry-After": str(retry_after), **(extra_headers or {})}
        raise ApiError(429, f"rate limit for this service exceeded; retry in {retry_after} s",
                       headers=headers)


def ingest_json(normalise) -> tuple[RecordResult, IncomingError]:
    """Authenticate, check the rate limit, read and decode the body, normalise it, record it."""
    service = authenticate_service(ingest_key_from_request())
    enforce_rate_limit(service)
    require_json_content_type()
    limit = current_app.config["MAX_BODY_BYTES"]
    body = read_body(limit, limit)
    payload = parse_json_object(body)
    raw = raw_payload_text(body, current_app.config["MAX_RAW_PAYLOAD_BYTES"])
    parsed = check_parsed_payload(service.settings.scrubber, payload, raw)  # before the normaliser reads it
    try:
        incoming = normalise(payload, service.id)
    except InvalidPayload as exc:
        raise ApiError(400, exc.message, field=exc.field, code=exc.code) from None
    incoming.platform = incoming.platform or service.platform
    incoming.raw_payload = raw
    return submit_error(incoming, service.settings, parsed), incoming


def record_response(result: RecordResult) -> tuple[dict, int]:
    if result.spooled:  # durably accepted; stored, grouped and told once the database is back
        return {"occurrence_id": result.occurrence_id, "spooled": True}, 202
    return {"error_id": result.error_id, "occurrence_id": result.occurrence_id, "new": result.is_new,
            "status": result.status, "severity": result.severity}, 201
