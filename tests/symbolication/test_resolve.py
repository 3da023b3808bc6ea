"""Resolving minified frames: the recorded @sentry/browser event (chromium, 11.12.0) of the recorded
shop bundle (esbuild 0.28.2, sentry-cli 3.8.0), posted to the envelope endpoint and resolved directly."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from app.ingest.fingerprint import compute_fingerprint, culprit
from app.ingest.incoming import IncomingError
from app.ingest.sources import sentry as sentry_source
from app.ingest.stacktraces import make_exception, make_frame
from app.symbolication import resolve
from tests.factories import ApiClient, drain_ingest_writer, make_developer, make_service, make_token
from tests.sentry.stored import stored_errors, stored_occurrences
from tests.symbolication.conftest import SOURCES, _tool
from tests.web.test_openapi import assert_valid
from tests.symbolication.uploading import RECORDED, recorded_bundle, upload

ENVELOPE = (RECORDED / "browser-envelope.txt").read_text()
EVENT = json.loads(ENVELOPE.split("\n")[2])
SCRIPT = EVENT["debug_meta"]["images"][0]["code_file"]
CART = (SOURCES / "cart.js").read_text().splitlines()


@pytest.fixture
def shop(app):
    resolve.cache().clear()
    return make_service("Shop Web", platform="javascript")


@pytest.fixture
def uploader(client, shop):
    return ApiClient(client, make_token(make_developer("Fiona Frontend", services=[shop])))


def _incoming(shop, event=EVENT) -> IncomingError:
    return sentry_source.normalise(json.loads(json.dumps(event)), shop.id)


def test_the_recorded_event_resolves_to_the_original_lines(shop, uploader):
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"
    incoming = _incoming(shop)
    assert resolve.resolve_event(incoming, EVENT["debug_meta"]) == 3
    anonymous, render, price = incoming.frames
    assert (price["filename"], price["abs_path"], price["function"]) == ("src/cart.js", "../src/cart.js", "price")
    assert (price["lineno"], price["colno"]) == (3, 21)
    assert price["context_line"] == CART[2]
    assert price["pre_context"] == CART[:2]
    assert price["post_context"] == CART[3:]
    assert price["minified"] == {"filename": SCRIPT, "abs_path": None, "lineno": 3, "colno": 36, "function": "e"}
    assert (render["filename"], render["function"], render["lineno"]) == ("src/shop.js", "renderCart", 4)
    assert (anonymous["filename"], anonymous["function"], anonymous["lineno"]) == ("src/shop.js", None, 9)
    assert culprit(incoming) == "price in src/cart.js"


def test_the_envelope_endpoint_stores_resolved_frames_and_groups_by_them(client, shop, uploader):
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"
    response = client.post(f"/api/{shop.id}/envelope/?sentry_key={shop.ingest_key}", data=ENVELOPE,
                           content_type="application/x-sentry-envelope")
    assert response.status_code == 200
    [occurrence] = stored_occurrences(shop.id)
    assert occurrence.exceptions[-1]["frames"][-1]["filename"] == "src/cart.js"
    [error] = stored_errors(shop.id)
    unresolved = _incoming(shop)
    resolved = _incoming(shop)
    resolve.resolve_event(resolved, EVENT["debug_meta"])
    assert error.fingerprint == compute_fingerprint(resolved) != compute_fingerprint(unresolved)
    answer = uploader.get(f"/api/errors/{error.id}/")
    assert answer.status_code == 200
    assert_valid(client.get("/api/openapi.json").json, "ErrorDetail", answer.json)
    frame = answer.json["latest_occurrence"]["exceptions"][-1]["frames"][-1]
    assert (frame["filename"], frame["minified"]["filename"], frame["minified"]["colno"]) == ("src/cart.js", SCRIPT, 36)
    drain_ingest_writer(shop)


def test_an_event_with_nothing_to_resolve_costs_no_lookup(shop, uploader):
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"
    event = {**EVENT, "release": None}
    event.pop("debug_meta")
    incoming = _incoming(shop, event)
    assert resolve.resolve_event(incoming, None) == 0
    assert (resolve.cache().hits, resolve.cache().misses) == (0, 0)
    assert incoming.frames[-1]["filename"] == SCRIPT


def test_maps_are_parsed_once_then_served_from_the_cache(shop, uploader):
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"
    resolve.resolve_event(_incoming(shop), EVENT["debug_meta"])
    assert (resolve.cache().hits, resolve.cache().misses) == (2, 1)  # three frames of one script
    resolve.resolve_event(_incoming(shop), EVENT["debug_meta"])
    assert (resolve.cache().hits, resolve.cache().misses) == (5, 1)
    assert 0 < resolve.cache().size < 4096


def test_without_an_upload_frames_stay_as_they_came(shop):
    incoming = _incoming(shop)
    assert resolve.resolve_event(incoming, EVENT["debug_meta"]) == 0
    assert incoming.frames[-1]["filename"] == SCRIPT and "minified" not in incoming.frames[-1]
    misses = resolve.cache().misses
    assert resolve.resolve_event(_incoming(shop), EVENT["debug_meta"]) == 0
    assert resolve.cache().misses == misses  # "nothing uploaded" is remembered (briefly)


def test_another_services_upload_is_not_used(shop, client):
    other = make_service("Admin Web", platform="javascript")
    admin = ApiClient(client, make_token(make_developer("Ada Admin", role="admin")))
    assert upload(admin, recorded_bundle(), other.slug).json["state"] == "ok"
    assert resolve.resolve_event(_incoming(shop), EVENT["debug_meta"]) == 0


def test_hostile_debug_meta_is_ignored(shop, uploader):
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"
    for debug_meta in ({"images": "x"}, {"images": [1, None, {"type": "sourcemap", "code_file": SCRIPT,
                                                                  "debug_id": "not-an-id"}]}, [], "x"):
        assert resolve.resolve_event(_incoming(shop), debug_meta) == 0


def test_a_release_upload_without_debug_ids_resolves_by_url(shop, uploader, tmp_path, sentry_cli, live_server):
    """esbuild's output as it comes (no inject), uploaded by the real sentry-cli with --release."""
    shutil.copytree(SOURCES, tmp_path / "src")
    subprocess.run([str(_tool("esbuild")), "src/shop.js", "--bundle", "--minify", "--sourcemap", "--format=iife",
                    "--outfile=dist/main.js"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    done = sentry_cli(live_server, uploader.token, shop.slug, "sourcemaps", "upload", "--release", "shop-web@3.1.0",
                      "--url-prefix", "~/static", str(tmp_path / "dist"))
    assert done.returncode == 0, done.stdout + done.stderr
    minified = (tmp_path / "dist" / "main.js").read_text().splitlines()
    column = minified[0].index("t.lines.reduce") + 1
    frame = make_frame(filename="https://shop.example/static/main.js?v=3", function="e", lineno=1, colno=column,
                       in_app=True)
    incoming = IncomingError(service_id=shop.id, source="sentry", error_type="TypeError", message="x",
                             exceptions=[make_exception("TypeError", "x", None, [frame])], release="shop-web@3.1.0")
    assert resolve.resolve_event(incoming, None) == 1
    assert (frame["filename"], frame["lineno"], frame["function"]) == ("src/cart.js", 3, "price")
    other_release = IncomingError(service_id=shop.id, source="sentry", error_type="TypeError", message="x",
                                  exceptions=[make_exception("TypeError", "x", None, [dict(frame["minified"],
                                              in_app=True)])], release="shop-web@3.0.0")
    assert resolve.resolve_event(other_release, None) == 0


def test_a_stored_file_that_is_no_source_map_loses_no_event(shop, uploader):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"files": {"files/m": {
            "type": "source_map", "url": "~/main.js.map", "headers": {"debug-id": EVENT["debug_meta"]["images"][0][
                "debug_id"]}}}}))
        archive.writestr("files/m", b"{not json")
    assert upload(uploader, out.getvalue(), shop.slug).json["state"] == "ok"
    incoming = _incoming(shop)
    assert resolve.resolve_event(incoming, EVENT["debug_meta"]) == 0
    assert incoming.frames[-1]["filename"] == SCRIPT


def test_source_paths_lose_the_bundlers_scheme_and_the_climb_out_of_the_build():
    assert resolve.source_path("webpack://shop/./src/cart.js") == "shop/src/cart.js"
    assert resolve.source_path("webpack:///src/app.tsx") == "src/app.tsx"
    assert resolve.source_path("../../src/cart.js") == "src/cart.js"
    assert resolve.source_path("ng://app/main.ts") == "app/main.ts"


def test_an_upload_after_a_miss_is_used_at_once(shop, uploader):
    assert resolve.resolve_event(_incoming(shop), EVENT["debug_meta"]) == 0
    assert upload(uploader, recorded_bundle(), shop.slug).json["state"] == "ok"
    assert resolve.resolve_event(_incoming(shop), EVENT["debug_meta"]) == 3
