"""End to end: esbuild minifies the shop's sources, sentry-cli injects debug ids and uploads the maps
to a live Heartwatch, @sentry/browser in chromium reports an error thrown by the minified bundle,
and Heartwatch stores (and shows) the frames at the original source lines."""
from __future__ import annotations

import json
import shutil

from app.recording.dsn import dsn_for
from tests.browser.conftest import screenshot, serve_folder
from tests.browser.test_sentry_browser import IMPORT_MAP, ROOT, SDK_ENTRY
from tests.factories import make_developer, make_service, make_token
from tests.sentry.stored import stored_errors, stored_occurrences
from tests.symbolication.conftest import SOURCES, build, sentry_cli  # noqa: F401  (fixtures)

PAGE = """<!doctype html>
<html><head><title>Shop</title>
<script type="importmap">{import_map}</script>
<script src="/main.js"></script>
<script type="module">
  import * as Sentry from "{sdk}";
  Sentry.init({{dsn: {dsn}, release: "shop-web@3.2.0"}});
  document.body.dataset.ready = "yes";
</script>
</head><body><h1>Shop</h1></body></html>
"""


def _line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def _is_event_envelope(response) -> bool:
    return "/envelope/" in response.url and '"type":"event"' in (response.request.post_data or "")


def test_minified_frames_are_stored_at_the_original_lines(page, live_server, build, sentry_cli, tmp_path):  # noqa: F811
    shop = make_service("Shop Web", platform="javascript")
    developer = make_developer("Fiona Frontend", services=[shop], password="correct horse battery")
    email = developer.email
    uploaded = sentry_cli(live_server, make_token(developer), shop.slug, "sourcemaps", "upload", str(build))
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr

    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(build / "main.js", site / "main.js")  # the map is not served: only Heartwatch has it
    (site / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    (site / "index.html").write_text(PAGE.format(import_map=json.dumps({"imports": IMPORT_MAP}), sdk=SDK_ENTRY,
                                                 dsn=json.dumps(dsn_for(shop, live_server))))
    with serve_folder(site) as origin:
        page.goto(f"{origin}/index.html")
        page.wait_for_selector("body[data-ready=yes]")
        with page.expect_response(_is_event_envelope) as answer:
            page.evaluate("checkout()")
        assert answer.value.status == 200
        request = answer.value.request.post_data
    assert '"debug_meta"' in request  # the SDK names the bundle's debug id

    [occurrence] = stored_occurrences(shop.id)
    frames = occurrence.exceptions[-1]["frames"]
    cart, shop_js = (SOURCES / "cart.js").read_text(), (SOURCES / "shop.js").read_text()
    top, caller = frames[-1], frames[-2]
    assert (top["filename"], top["function"]) == ("src/cart.js", "price")
    assert top["lineno"] == _line_of(cart, "cart.lines.reduce")
    assert top["context_line"] == "  return cart.lines.reduce((sum, line) => sum + line.amount, 0);"
    assert top["pre_context"][-1] == "  // A cart without lines has no total: this throws."
    assert top["minified"]["filename"] == f"{origin}/main.js"
    assert top["minified"]["lineno"] == 3  # sentry-cli's snippet comes first in the minified file
    assert (caller["filename"], caller["function"]) == ("src/shop.js", "renderCart")
    assert caller["lineno"] == _line_of(shop_js, "const total = price(cart)")
    anonymous = frames[-3]  # the setTimeout callback: anonymous, not named after what it calls
    assert (anonymous["filename"], anonymous["function"]) == ("src/shop.js", None)
    assert anonymous["lineno"] == _line_of(shop_js, "setTimeout(function () { renderCart({}); });")

    [error] = stored_errors(shop.id)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.goto(f"{live_server}/errors/{error.id}")
    text = page.inner_text(".stacktrace")
    assert "src/cart.js in price at line 3:" in text
    assert "cart.lines.reduce" in text
    assert f"minified: {origin}/main.js:3:" in text
    screenshot(page, "sourcemaps-resolved-frames")
