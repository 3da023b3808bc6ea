"""The official browser SDK (@sentry/browser from package.json) in chromium, on a page of another
origin than Heartwatch's, reporting through the service's DSN."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.recording.dsn import dsn_for
from tests.browser.conftest import screenshot, serve_folder
from tests.sentry.stored import stored_occurrences

ROOT = Path(__file__).resolve().parents[2]
SENTRY = ROOT / "node_modules" / "@sentry"
# The SDK's ES modules import these bare names; without a bundler an import map resolves them.
IMPORT_MAP = {
    "@sentry/core": "/node_modules/@sentry/core/build/esm/index.js",
    "@sentry/core/browser": "/node_modules/@sentry/core/build/esm/browser.js",
    "@sentry/browser-utils": "/node_modules/@sentry/browser-utils/build/esm/index.js",
    "@sentry/feedback": "/node_modules/@sentry/feedback/build/npm/esm/index.js",
    "@sentry/replay": "/node_modules/@sentry/replay/build/npm/esm/index.js",
    "@sentry/replay-canvas": "/node_modules/@sentry/replay-canvas/build/npm/esm/index.js",
    "@sentry/conventions/attributes": "/node_modules/@sentry/conventions/dist/attributes.mjs",
    "@sentry/conventions/op": "/node_modules/@sentry/conventions/dist/op.mjs",
    "@sentry/conventions/metrics": "/node_modules/@sentry/conventions/dist/metrics.mjs",
    "web-vitals": "/node_modules/web-vitals/dist/web-vitals.js",
}
SDK_ENTRY = "/node_modules/@sentry/browser/build/npm/esm/prod/index.js"

SHOP_JS = """
function renderCart(cart) {
  return cart.total.amount;
}
function checkout() {
  setTimeout(function () { renderCart({}); });
}
"""

PAGE = """<!doctype html>
<html><head><title>Shop</title>
<script type="importmap">{import_map}</script>
<script src="/shop.js"></script>
<script type="module">
  import * as Sentry from "{sdk}";
  Sentry.init({{dsn: {dsn}, release: "shop-web@3.1.0", environment: "browser-test"}});
  Sentry.setTag("storefront", "eu");
  window.Sentry = Sentry;
  document.body.dataset.ready = "yes";
</script>
</head><body><h1>Shop</h1></body></html>
"""


@pytest.fixture
def shop_site(tmp_path):
    """A tiny web server for the shop's page and the SDK files, on its own port (its own origin)."""
    if not (SENTRY / "browser" / "build").is_dir():
        pytest.skip("node_modules/@sentry/browser is missing (scripts/vendor-assets.sh installs it)")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    (tmp_path / "shop.js").write_text(SHOP_JS)
    with serve_folder(tmp_path) as origin:
        yield tmp_path, origin


def _open_shop(page, shop_site, dsn: str) -> str:
    folder, origin = shop_site
    (folder / "index.html").write_text(PAGE.format(import_map=json.dumps({"imports": IMPORT_MAP}),
                                                   sdk=SDK_ENTRY, dsn=json.dumps(dsn)))
    page.goto(f"{origin}/index.html")
    page.wait_for_selector("body[data-ready=yes]")
    return origin


def _is_event_envelope(response) -> bool:
    return "/envelope/" in response.url and '"type":"event"' in (response.request.post_data or "")


def test_browser_sdk_reports_an_uncaught_error(page, live_server, service, shop_site):
    origin = _open_shop(page, shop_site, dsn_for(service, live_server))
    with page.expect_response(_is_event_envelope) as answer:
        page.evaluate("checkout()")
    response = answer.value
    assert response.status == 200
    assert response.request.url.startswith(f"{live_server}/api/{service.id}/envelope/?")
    assert response.headers["access-control-allow-origin"] == "*"

    [occurrence] = stored_occurrences(service.id)
    assert response.json() == {"id": occurrence.id.replace("-", "")}
    assert occurrence.source == "sentry"
    raised = occurrence.exceptions[-1]
    assert raised["type"] == "TypeError"
    assert "amount" in raised["value"]
    top = raised["frames"][-1]
    assert top["function"] == "renderCart"
    assert top["filename"] == f"{origin}/shop.js"
    assert (top["lineno"], top["in_app"]) == (3, True)
    assert occurrence.tags["storefront"] == "eu"
    assert occurrence.tags["handled"] == "no"
    assert (occurrence.release, occurrence.environment) == ("shop-web@3.1.0", "browser-test")
    assert occurrence.request["url"] == f"{origin}/index.html"
    assert occurrence.endpoint == "/index.html"
    assert occurrence.extra["sdk"]["name"] == "sentry.javascript.browser"
    screenshot(page, "sentry-browser-shop")


def test_browser_sdk_capture_message_and_exception(page, live_server, service, shop_site):
    _open_shop(page, shop_site, dsn_for(service, live_server))
    with page.expect_response(_is_event_envelope) as first:
        page.evaluate("Sentry.captureException(new RangeError('quantity must be positive'))")
    with page.expect_response(_is_event_envelope) as second:
        page.evaluate("Sentry.captureMessage('coupon service slow', 'warning')")
    assert first.value.status == second.value.status == 200

    caught, message = stored_occurrences(service.id)
    assert (caught.exceptions[-1]["type"], caught.message) == ("RangeError", "quantity must be positive")
    assert caught.tags["handled"] == "yes"
    assert (message.message, message.severity) == ("coupon service slow", "medium")


def test_cross_origin_post_with_custom_headers_passes_the_preflight(page, live_server, service, shop_site):
    _open_shop(page, shop_site, dsn_for(service, live_server))
    # Custom headers make this a non-simple request: the browser sends OPTIONS first, and reads
    # the answer only if the CORS headers allow it.
    result = page.evaluate("""async ([url, key]) => {
        const body = '{}\\n{"type":"event"}\\n{"message":"from a preflighted fetch"}';
        const response = await fetch(url, {method: 'POST', body: body, headers: {
            'Content-Type': 'application/x-sentry-envelope',
            'X-Sentry-Auth': 'Sentry sentry_key=' + key + ', sentry_version=7'}});
        return {status: response.status, body: await response.json()};
    }""", [f"{live_server}/api/{service.id}/envelope/", service.ingest_key])
    assert result["status"] == 200
    assert len(result["body"]["id"]) == 32
    assert stored_occurrences(service.id)[0].message == "from a preflighted fetch"
