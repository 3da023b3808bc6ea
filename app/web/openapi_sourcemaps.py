"""The OpenAPI part for source-map uploads (app/web/sourcemaps.py): the endpoints sentry-cli calls.
Written by hand, since their shapes are sentry-cli's, not pydantic models of Heartwatch's API."""
from __future__ import annotations

from app.symbolication import bundles, uploads
from app.web.openapi_ingest import ERROR_BODY, STR, json_content, ref

SHA1 = {"type": "string", "pattern": "^[0-9a-f]{40}$"}
ORG = {"name": "org", "in": "path", "required": True, "schema": STR,
       "description": "HEARTWATCH_ORG (default `heartwatch`): what sentry-cli calls the organization (SENTRY_ORG)."}

SCHEMAS = {
    "UploadError": {
        "type": "object", "required": ["error", "detail"], "additionalProperties": False,
        "description": "The usual error answer, with its message again as `detail` (what sentry-cli prints).",
        "properties": {"error": ERROR_BODY["properties"]["error"], "detail": STR},
    },
    "ChunkUploadOptions": {
        "type": "object", "description": "Where and how sentry-cli sends an upload's chunks.",
        "required": ["url", "chunkSize", "chunksPerRequest", "maxRequestSize", "hashAlgorithm", "concurrency",
                     "compression"],
        "properties": {
            "url": {**STR, "description": "Where the chunks are posted (this path)."},
            "chunkSize": {"type": "integer", "const": uploads.CHUNK_SIZE},
            "chunksPerRequest": {"type": "integer", "const": uploads.CHUNKS_PER_REQUEST},
            "maxFileSize": {"type": "integer", "const": bundles.MAX_BUNDLE_BYTES},
            "maxRequestSize": {"type": "integer", "const": uploads.MAX_REQUEST_BYTES},
            "maxWait": {"type": "integer"},
            "concurrency": {"type": "integer"},
            "hashAlgorithm": {"type": "string", "const": "sha1"},
            "compression": {"type": "array", "items": {"type": "string", "enum": ["gzip"]}},
            "accept": {"type": "array", "items": STR},
        },
    },
    "AssembleRequest": {
        "type": "object", "required": ["checksum", "chunks", "projects"],
        "properties": {
            "checksum": {**SHA1, "description": "SHA-1 of the whole bundle (a zip with manifest.json)."},
            "chunks": {"type": "array", "items": SHA1, "minItems": 1, "maxItems": uploads.MAX_CHUNKS,
                       "description": "The chunks' checksums, in order."},
            "projects": {"type": "array", "items": STR, "minItems": 1, "maxItems": uploads.MAX_PROJECTS,
                         "description": "Service slugs (SENTRY_PROJECT)."},
            "version": {**STR, "maxLength": 128, "description": "The release (`--release`), for URL look-ups."},
            "dist": {**STR, "maxLength": 64},
        },
    },
    "AssembleState": {
        "type": "object", "required": ["state", "missingChunks"],
        "properties": {
            "state": {"type": "string", "enum": ["ok", "not_found"],
                      "description": "`not_found`: upload `missingChunks`, then ask again; `ok`: kept."},
            "missingChunks": {"type": "array", "items": SHA1},
            "detail": {"type": ["string", "null"]},
        },
    },
}

def error_response(description: str) -> dict:
    return {"description": description, "content": json_content(ref("UploadError"))}


_REFUSALS = {
    "401": error_response("No, an unknown or a revoked personal token (`detail` repeats the message)."),
    "404": error_response("Another organization than HEARTWATCH_ORG."),
}


def paths() -> dict:
    base = "/api/0/organizations/{org}"
    security = [{"BearerToken": []}]
    return {
        f"{base}/chunk-upload/": {
            "get": {"tags": ["sourcemaps"], "summary": "Chunk upload options", "security": security,
                    "parameters": [ORG],
                    "responses": {"200": {"description": "OK", "content": json_content(ref("ChunkUploadOptions"))},
                                  **_REFUSALS}},
            "post": {
                "tags": ["sourcemaps"], "summary": "Upload chunks", "security": security, "parameters": [ORG],
                "description": "Multipart: one part per chunk, `file` (raw) or `file_gzip` (gzip), whose filename "
                               "is the SHA-1 of the chunk's bytes.",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "file_gzip": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": {
                    "200": {"description": "Kept.", "content": json_content({"type": "object"})},
                    "400": error_response("No chunk, a name that is not a SHA-1, or bytes of another checksum."),
                    "413": error_response(f"A chunk over {uploads.CHUNK_SIZE} bytes (after gzip too), or more than "
                                          f"{uploads.CHUNKS_PER_REQUEST} chunks a request."),
                    **_REFUSALS}},
        },
        f"{base}/artifactbundle/assemble/": {"post": {
            "tags": ["sourcemaps"], "summary": "Assemble an artifact bundle", "security": security,
            "parameters": [ORG],
            "description": "sentry-cli asks once (answer: the missing chunks), uploads them, and asks again: the "
                           "chunks are put together, checked against `checksum`, and the bundle's minified "
                           "scripts and source maps are kept for each service named. Bundles are at most "
                           f"{bundles.MAX_BUNDLE_BYTES} bytes, {bundles.MAX_BUNDLE_ENTRIES} entries and "
                           f"{bundles.MAX_UNCOMPRESSED_BYTES} bytes unpacked.",
            "requestBody": {"required": True, "content": json_content(ref("AssembleRequest"))},
            "responses": {
                "200": {"description": "The state of the bundle.", "content": json_content(ref("AssembleState"))},
                "400": error_response("A malformed request, an unknown service slug, chunks that do not make "
                                      "the checksum, or a bundle that is not a zip with a manifest."),
                "403": error_response("The token's developer neither works on nor leads the service."),
                "413": error_response("Too many chunks, or a bundle over the limits above."),
                **_REFUSALS}},
        },
    }
