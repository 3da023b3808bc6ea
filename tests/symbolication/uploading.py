"""Uploading a bundle through Heartwatch's endpoints the way sentry-cli does (chunks, then assemble)."""
from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

from app.symbolication.uploads import CHUNK_SIZE

RECORDED = Path(__file__).resolve().parent / "recorded"
ORG_URL = "/api/0/organizations/heartwatch"


def recorded_bundle() -> bytes:
    """The bundle sentry-cli 3.8.0 built of tests/symbolication/shop (esbuild 0.28.2, debug ids injected)."""
    return (RECORDED / "shop-bundle.zip").read_bytes()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def post_chunks(api, pieces: list[bytes], gzipped: bool = True):
    field = "file_gzip" if gzipped else "file"
    data = [(field, (io.BytesIO(gzip.compress(p) if gzipped else p), sha1(p))) for p in pieces]
    return api.post(f"{ORG_URL}/chunk-upload/", data={field: [d[1] for d in data]},
                    content_type="multipart/form-data")


def assemble(api, bundle: bytes, projects: list[str], chunks: list[str] | None = None, **fields):
    chunks = chunks if chunks is not None else [sha1(bundle[i:i + CHUNK_SIZE])
                                                for i in range(0, len(bundle), CHUNK_SIZE)]
    return api.post(f"{ORG_URL}/artifactbundle/assemble/",
                    json={"checksum": sha1(bundle), "chunks": chunks, "projects": projects, **fields})


def upload(api, bundle: bytes, project: str, **fields):
    """Upload a bundle as sentry-cli does; the last assemble answer."""
    first = assemble(api, bundle, [project], **fields)
    if first.status_code != 200 or first.json["state"] != "not_found":
        return first
    pieces = [bundle[i:i + CHUNK_SIZE] for i in range(0, len(bundle), CHUNK_SIZE)]
    assert post_chunks(api, pieces).status_code == 200
    return assemble(api, bundle, [project], **fields)
