"""The upload endpoints refuse, with a 4xx sentry-cli can show (``detail``), what must not be kept:
no or a bad token, another organization or project, damaged chunks and hostile bundles."""
from __future__ import annotations

import gzip
import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ArtifactFile, UploadChunk
from app.symbolication import bundles
from app.symbolication.uploads import CHUNK_SIZE
from tests.web.test_openapi import assert_valid
from tests.factories import ApiClient, make_developer, make_service, make_token
from tests.symbolication.uploading import ORG_URL, assemble, post_chunks, recorded_bundle, sha1, upload


@pytest.fixture
def shop(app):
    return make_service("Shop Web", platform="javascript")


@pytest.fixture
def uploader(client, shop):
    return ApiClient(client, make_token(make_developer("Fiona Frontend", services=[shop])))


def _files() -> int:
    return db.session.execute(select(func.count()).select_from(ArtifactFile)).scalar_one()


@pytest.fixture
def refused(client):
    """``refused(response, status, text)``: a refusal as documented, whose ``detail`` says ``text``."""
    document = client.get("/api/openapi.json").json

    def check(response, status: int, text: str) -> None:
        assert response.status_code == status, response.json
        assert text in response.json["detail"]
        assert response.json["error"]["message"] == response.json["detail"]
        assert_valid(document, "UploadError", response.json)

    return check


def _zip(entries: dict[str, bytes], manifest: dict | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if manifest is not None:
            import json
            archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _bomb() -> bytes:
    """A zip bomb: past the unpacked limit in zeros, deflated to a few hundred KiB (written in pieces)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", '{"files": {"files/main.js.map": {"type": "source_map", "url": "~/m"}}}')
        with archive.open("files/main.js.map", "w", force_zip64=True) as entry:
            piece = bytes(1024 * 1024)
            for _ in range(bundles.MAX_UNCOMPRESSED_BYTES // len(piece) + 1):
                entry.write(piece)
    return out.getvalue()


def test_the_recorded_bundle_is_accepted_and_kept(uploader, shop):
    answer = upload(uploader, recorded_bundle(), shop.slug)
    assert answer.status_code == 200
    assert answer.json == {"state": "ok", "missingChunks": [], "detail": None}
    assert _files() == 2
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"  # already kept: at once


def test_options_name_sha1_gzip_and_the_limits(uploader):
    options = uploader.get(f"{ORG_URL}/chunk-upload/").json
    assert options["url"] == f"{ORG_URL}/chunk-upload/"
    assert (options["hashAlgorithm"], options["compression"], options["chunkSize"]) == ("sha1", ["gzip"], CHUNK_SIZE)
    assert options["maxFileSize"] == bundles.MAX_BUNDLE_BYTES


def test_no_token_or_a_bad_one_is_401(refused, client, shop):
    refused(client.get(f"{ORG_URL}/chunk-upload/"), 401, "personal API token")
    bad = ApiClient(client, "hw_not-a-real-token")
    refused(bad.get(f"{ORG_URL}/chunk-upload/"), 401, "invalid or revoked API token")
    refused(assemble(bad, recorded_bundle(), [shop.slug]), 401, "invalid or revoked API token")


def test_another_organization_is_404(refused, uploader):
    refused(uploader.get("/api/0/organizations/acme/chunk-upload/"), 404, "no organization 'acme'")


def test_an_unknown_project_or_someone_elses_isrefused(refused, client, uploader, shop):
    refused(assemble(uploader, recorded_bundle(), ["no-such-service"]), 400, "no project 'no-such-service'")
    other = make_service("Billing")
    refused(assemble(uploader, recorded_bundle(), [other.slug]), 403, "you may not upload source maps")
    refused(assemble(uploader, recorded_bundle(), []), 400, "'projects'")
    admin = ApiClient(client, make_token(make_developer("Ada Admin", role="admin")))
    assert upload(admin, recorded_bundle(), other.slug).json["state"] == "ok"


def test_a_chunk_must_have_the_checksum_it_is_named_by(refused, uploader):
    response = uploader.post(f"{ORG_URL}/chunk-upload/", content_type="multipart/form-data",
                             data={"file": [(io.BytesIO(b"minified"), sha1(b"something else"))]})
    refused(response, 400, "does not have that SHA-1 checksum")
    response = uploader.post(f"{ORG_URL}/chunk-upload/", content_type="multipart/form-data",
                             data={"file": [(io.BytesIO(b"minified"), "not-a-checksum")]})
    refused(response, 400, "SHA-1 checksum")
    refused(uploader.post(f"{ORG_URL}/chunk-upload/", content_type="multipart/form-data", data={}), 400,
             "multipart")
    assert db.session.execute(select(func.count()).select_from(UploadChunk)).scalar_one() == 0


def test_a_gzip_bomb_chunk_is_413(refused, uploader):
    zeros = bytes(CHUNK_SIZE + 1)
    bomb = gzip.compress(zeros)  # some 8 KiB that inflate past the chunk size
    response = uploader.post(f"{ORG_URL}/chunk-upload/", content_type="multipart/form-data",
                             data={"file_gzip": [(io.BytesIO(bomb), sha1(zeros))]})
    refused(response, 413, "larger than")


def test_chunks_that_do_not_make_the_checksum_are_400(refused, uploader, shop):
    bundle = recorded_bundle()
    assert post_chunks(uploader, [bundle]).status_code == 200
    other = bundle + b"tampered"
    response = uploader.post(f"{ORG_URL}/artifactbundle/assemble/", json={
        "checksum": sha1(other), "chunks": [sha1(bundle)], "projects": [shop.slug]})
    refused(response, 400, "do not have the bundle's checksum")
    refused(uploader.post(f"{ORG_URL}/artifactbundle/assemble/", json={
        "checksum": "xyz", "chunks": [sha1(bundle)], "projects": [shop.slug]}), 400, "'checksum'")
    too_many = [sha1(bytes([i])) for i in range(100)]
    refused(assemble(uploader, bundle, [shop.slug], chunks=too_many), 413, "'chunks'")
    assert _files() == 0


@pytest.mark.parametrize("bundle, status, text", [
    (b"not a zip at all", 400, "not an artifact bundle"),
    (_zip({"files/main.js": b"x"}), 400, "no manifest.json"),
    (_zip({}, {"files": {"files/main.js": {"type": "minified_source", "url": "~/main.js"}}}), 400,
     "does not hold"),
    (_zip({"files/a.js": b"x"}, {"files": {"files/a.js": {"type": "source", "url": "~/a.js"}}}), 400,
     "no minified script or source map"),
    (_zip({f"files/{n}.js": b"" for n in range(bundles.MAX_BUNDLE_ENTRIES + 1)}, {"files": {}}), 413, "entries"),
    ("bomb", 413, "unpacks to"),
])
def test_hostile_or_damaged_bundles_arerefused(refused, uploader, shop, bundle, status, text):
    refused(upload(uploader, _bomb() if bundle == "bomb" else bundle, shop.slug), status, text)
    assert _files() == 0


def test_a_service_keeps_its_newest_bundles(uploader, shop, monkeypatch):
    from app.models import ArtifactBundle
    from app.symbolication import uploads

    monkeypatch.setattr(uploads, "MAX_BUNDLES_PER_SERVICE", 1)
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"
    newer = _zip({"files/m": b'{"version":3,"sources":[],"names":[],"mappings":""}'},
                 {"files": {"files/m": {"type": "source_map", "url": "~/vendor.js.map"}}})
    assert upload(uploader, newer, shop.slug).json["state"] == "ok"
    assert [b.checksum for b in db.session.execute(select(ArtifactBundle)).scalars()] == [sha1(newer)]
    assert [f.url for f in db.session.execute(select(ArtifactFile)).scalars()] == ["~/vendor.js.map"]
