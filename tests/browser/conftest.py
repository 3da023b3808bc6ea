"""Browser fixtures: Playwright driving Debian's chromium against a live Heartwatch."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def app(app):
    """The app with CSRF protection on, as in production: browser tests submit real forms.

    Failed sign-ins and cached overview figures from earlier tests are forgotten, so a test sees
    only its own data."""
    from app.reports import overview as dashboard
    from app.accounts import sign_in

    app.config["WTF_CSRF_ENABLED"] = True
    sign_in.reset_local_state()
    if app.config.get("REDIS_URL"):
        import redis

        client = redis.Redis.from_url(app.config["REDIS_URL"])
        stale = list(client.scan_iter("heartwatch:login:*"))
        if stale:
            client.delete(*stale)
    dashboard.clear_cache()
    return app


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}; scripts/install-browser.sh installs it")
        pytest.skip(f"chromium not found at {CHROMIUM} (scripts/install-browser.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under tests/artifacts/ (ignored by git; CI keeps it as an artefact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    extensions_map = {".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html"}

    def log_message(self, format, *args):  # keep the test output quiet
        pass


@contextlib.contextmanager
def serve_folder(folder: Path):
    """Serve a folder over HTTP on a loopback port of its own (so a page there has its own origin);
    yields the origin."""
    with serve_handler(functools.partial(_QuietFiles, directory=str(folder))) as origin:
        yield origin


@contextlib.contextmanager
def serve_handler(handler):
    """Serve requests with ``handler`` (a BaseHTTPRequestHandler) on a loopback port of its own; yields
    the origin."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
