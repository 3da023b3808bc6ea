"""Records what chromium posts for CSP violations, into chromium-<major>-csp-*.json here.

    .venv/bin/python tests/sentry/recorded/record_chromium_security.py uri ro   # report-uri, http
    TLS=1 WAIT=80 .venv/bin/python tests/sentry/recorded/record_chromium_security.py to   # report-to

A page with a picture, a script from another origin, an inline script and an inline style, under
a policy that forbids them all; the recorder is the page's own server. Chromium reads
``Reporting-Endpoints`` only from https responses (TLS=1 serves a self-signed certificate from
CERT/KEY) and sends Reporting API batches about a minute apart. Prints the requests as JSON.
"""
import http.server
import json
import os
import ssl
import sys
import threading
import time

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
BODY = (b"<!doctype html><html><head><title>shop</title></head><body><h1>Shop</h1>"
        b"<img src='https://evil.example/pixel.gif?u=1'>"
        b"<script src='https://cdn.evil.example/tracker.js'></script>"
        b"<script>document.title='inline ran'</script>"
        b"<div style='color:red'>x</div></body></html>")
received = []


class Recorder(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        origin = f"{self.server.scheme}://127.0.0.1:{self.server.server_port}"
        if self.path.startswith("/uri"):
            headers = {"Content-Security-Policy": "default-src 'self'; script-src 'self'; img-src 'self'; "
                                                  f"style-src 'self'; report-uri {origin}/report-uri"}
        elif self.path.startswith("/ro"):
            headers = {"Content-Security-Policy-Report-Only": f"script-src 'self'; report-uri {origin}/report-uri"}
        else:
            headers = {"Content-Security-Policy": "default-src 'self'; script-src 'self'; img-src 'self'; "
                                                  "report-to csp-endpoint",
                       "Reporting-Endpoints": f'csp-endpoint="{origin}/report-to"'}
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(BODY)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received.append({"path": self.path, "content_type": self.headers.get("Content-Type"), "body": body.decode()})
        self.send_response(204)
        self.end_headers()


def main(paths: list[str]) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.scheme = "http"
    args = list(ARGS)
    if os.environ.get("TLS"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ.get("CERT", "cert.pem"), os.environ.get("KEY", "key.pem"))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.scheme = "https"
        args.append("--ignore-certificate-errors")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(ignore_https_errors=True)
        for path in paths:
            page.goto(f"{server.scheme}://127.0.0.1:{server.server_port}/{path}")
            time.sleep(float(os.environ.get("WAIT", "20")))
        print(json.dumps({"browser": browser.version, "requests": received}, indent=1))
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:] or ["uri", "ro"])
