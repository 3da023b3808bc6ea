"""The real sentry-cli (@sentry/cli from package.json) uploading an esbuild bundle's source maps to a
live Heartwatch, as a front-end team's CI does it."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ArtifactBundle, ArtifactFile, AuditEvent, UploadChunk
from tests.factories import make_developer, make_service, make_token

pytestmark = pytest.mark.integration


@pytest.fixture
def shop(app):
    return make_service("Shop Web", platform="javascript")


@pytest.fixture
def token(shop):
    return make_token(make_developer("Fiona Frontend", services=[shop]))


def _stored_files(service_id: int) -> list[ArtifactFile]:
    db.session.remove()
    return list(db.session.execute(select(ArtifactFile).where(ArtifactFile.service_id == service_id)
                                   .order_by(ArtifactFile.kind)).scalars())


def test_inject_then_upload_keeps_the_script_and_its_map_by_debug_id(live_server, shop, token, build,
                                                                      sentry_cli):
    script = (build / "main.js").read_text()
    debug_id = script.rsplit("//# debugId=", 1)[1].strip()

    done = sentry_cli(live_server, token, shop.slug, "sourcemaps", "upload", str(build))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "File processing complete" in done.stdout
    assert f"Projects: {shop.slug}" in done.stdout

    minified, sourcemap = _stored_files(shop.id)
    assert (minified.kind, minified.url, minified.debug_id, minified.sourcemap) == \
        ("minified_source", "~/main.js", debug_id, "main.js.map")
    assert minified.content.decode() == script
    assert (sourcemap.kind, sourcemap.url, sourcemap.debug_id) == ("source_map", "~/main.js.map", debug_id)
    assert json.loads(sourcemap.content)["sources"] == ["../src/cart.js", "../src/shop.js"]
    [bundle] = db.session.execute(select(ArtifactBundle)).scalars()
    assert (bundle.service_id, bundle.file_count, bundle.release) == (shop.id, 2, None)
    assert db.session.execute(select(UploadChunk)).first() is None  # assembled chunks are dropped
    assert db.session.execute(select(AuditEvent.action)).scalars().all()[-1] == "sourcemaps.uploaded"

    again = sentry_cli(live_server, token, shop.slug, "sourcemaps", "upload", str(build))
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(_stored_files(shop.id)) == 2


def test_upload_with_a_release_keeps_the_urls_for_builds_without_debug_ids(live_server, shop, token, tmp_path,
                                                                           sentry_cli, build):
    done = sentry_cli(live_server, token, shop.slug, "sourcemaps", "upload", "--release", "shop-web@3.1.0",
                      "--url-prefix", "~/static/js", str(build))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Release: shop-web@3.1.0" in done.stdout
    files = _stored_files(shop.id)
    assert {(f.kind, f.url, f.release) for f in files} == {
        ("minified_source", "~/static/js/main.js", "shop-web@3.1.0"),
        ("source_map", "~/static/js/main.js.map", "shop-web@3.1.0")}


def test_sentry_cli_reports_the_refusals(live_server, shop, token, build, sentry_cli):
    wrong_token = sentry_cli(live_server, "hw_not-a-token", shop.slug, "sourcemaps", "upload", str(build))
    assert wrong_token.returncode != 0
    assert "invalid or revoked API token" in wrong_token.stderr

    wrong_org = sentry_cli(live_server, token, shop.slug, "sourcemaps", "upload", str(build), org="acme")
    assert wrong_org.returncode != 0
    assert "organization not found" in wrong_org.stderr

    wrong_project = sentry_cli(live_server, token, "no-such-service", "sourcemaps", "upload", str(build))
    assert wrong_project.returncode != 0
    assert "no project 'no-such-service'" in wrong_project.stderr
    assert _stored_files(shop.id) == []
