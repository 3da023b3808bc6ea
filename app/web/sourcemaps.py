"""The endpoints ``sentry-cli sourcemaps upload`` calls, so a front-end build uploads its source maps
to Heartwatch as it would to Sentry (``SENTRY_URL`` = Heartwatch, ``SENTRY_ORG`` = HEARTWATCH_ORG,
``SENTRY_PROJECT`` = the service's slug, ``SENTRY_AUTH_TOKEN`` = a personal API token).

- ``GET /api/0/organizations/<org>/chunk-upload/``: the chunk options;
- ``POST`` the same URL: chunks, multipart (``file`` or gzip ``file_gzip`` parts named by SHA-1);
- ``POST /api/0/organizations/<org>/artifactbundle/assemble/``: put a bundle together (polled).

HTTP work only; the rules are in app/symbolication/uploads.py. Refusals carry ``detail`` besides
the usual error shape, since that is what sentry-cli prints.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, request

from app.extensions import db
from app.symbolication import uploads
from app.web import api
from app.web.errors import ApiError, register_json_errors
from app.web.ingest.common import decode_body, parse_json_object, read_body

bp = Blueprint("sourcemaps", __name__)
register_json_errors(bp)
bp.before_request(api.authenticate)
MULTIPART_OVERHEAD = 64 * 1024


@bp.after_request
def _detail(response):
    """sentry-cli shows a refusal's ``detail``: the error message again, under that name."""
    if response.status_code >= 400 and response.is_json:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body["detail"] = body["error"].get("message")
            response.set_data(current_app.json.dumps(body))
    return response


def _check_org(org: str) -> None:
    expected = current_app.config["UPLOAD_ORG"]
    if org != expected:
        raise ApiError(404, f"no organization {org[:100]!r}: this Heartwatch's is {expected!r} (SENTRY_ORG, "
                            "set by HEARTWATCH_ORG)", field="org")


@bp.get("/0/organizations/<org>/chunk-upload/")
def chunk_options(org: str):
    _check_org(org)
    return uploads.chunk_options(request.path)


@bp.post("/0/organizations/<org>/chunk-upload/")
def upload_chunks(org: str):
    _check_org(org)
    request.max_content_length = uploads.MAX_REQUEST_BYTES + MULTIPART_OVERHEAD
    parts = [(part, False) for part in request.files.getlist("file")]
    parts += [(part, True) for part in request.files.getlist("file_gzip")]
    if not parts:
        raise ApiError(400, "send chunks as multipart 'file' or 'file_gzip' parts named by their SHA-1",
                       field="file")
    if len(parts) > uploads.CHUNKS_PER_REQUEST:
        raise ApiError(413, f"at most {uploads.CHUNKS_PER_REQUEST} chunks a request", field="file")
    for part, gzipped in parts:
        data = part.stream.read(uploads.MAX_REQUEST_BYTES + 1)
        if gzipped:
            data = decode_body(data, "gzip", uploads.CHUNK_SIZE)
        uploads.store_chunk(part.filename, data)
    db.session.commit()
    return {}


@bp.post("/0/organizations/<org>/artifactbundle/assemble/")
def assemble_bundle(org: str):
    _check_org(org)
    payload = parse_json_object(read_body(65536, 1024 * 1024))
    return uploads.assemble(payload, g.actor)
