"""Heartwatch's own browser helper, /static/capture.js, on a page of another origin: an uncaught
error and an unhandled promise rejection arrive through the frontend webhook and are stored."""
from __future__ import annotations


import pytest

from tests.browser.conftest import screenshot, serve_folder
from tests.sentry.stored import stored_occurrences

SHOP_JS = """
function applyCoupon(code) {
  throw new RangeError('coupon ' + code + ' has expired');
}
function loadRecommendations() {
  return Promise.reject(new Error('recommendations service answered 503'));
}
"""

PAGE = """<!doctype html>
<html><head><title>Shop</title>
<script src="{heartwatch}/static/capture.js" data-key="{key}" data-release="shop-web@3.1.0"
        data-environment="browser-test" data-framework="vanilla"></script>
<script src="/shop.js"></script>
</head><body><h1>Shop</h1></body></html>
"""


@pytest.fixture
def shop_site(tmp_path):
    """A tiny web server for the shop's page, on its own port (its own origin)."""
    (tmp_path / "shop.js").write_text(SHOP_JS)
    with serve_folder(tmp_path) as origin:
        yield tmp_path, origin


def _is_report(response) -> bool:
    return "/webhook/frontend/" in response.url


def test_capture_js_reports_an_error_and_an_unhandled_rejection(page, live_server, service, shop_site):
    folder, origin = shop_site
    (folder / "index.html").write_text(PAGE.format(heartwatch=live_server, key=service.ingest_key))
    page.goto(f"{origin}/index.html")
    page.wait_for_function("window.Heartwatch && window.Heartwatch.version")

    with page.expect_response(_is_report) as first:
        page.evaluate("setTimeout(function () { applyCoupon('SPRING24'); })")
    with page.expect_response(_is_report) as second:
        page.evaluate("loadRecommendations(); undefined")
    for answer in (first.value, second.value):
        assert answer.request.url.startswith(f"{live_server}/webhook/frontend/?key=")
        assert answer.request.method == "POST"

    error, rejection = stored_occurrences(service.id)
    assert error.source == rejection.source == "frontend"
    assert (error.exceptions[-1]["type"], error.message) == ("RangeError", "coupon SPRING24 has expired")
    top = error.exceptions[-1]["frames"][-1]
    assert (top["function"], top["filename"], top["lineno"]) == ("applyCoupon", f"{origin}/shop.js", 3)
    assert (error.release, error.environment) == ("shop-web@3.1.0", "browser-test")
    assert error.tags["framework"] == "vanilla"
    assert error.request["url"] == f"{origin}/index.html"

    assert rejection.exceptions[-1]["type"] == "Error"
    assert rejection.message == "recommendations service answered 503"
    assert rejection.tags["event_type"] == "unhandledrejection"
    assert rejection.exceptions[-1]["frames"][-1]["function"] == "loadRecommendations"
    screenshot(page, "capture-js-shop")
