"""Records the client report sentry-sdk 2.75.0 sends: before_send drops three messages, an unsampled
transaction is dropped by the sample rate; flush sends the report in an envelope of its own. Writes the
envelope (decompressed: the SDK sends it brotli-compressed) to sentry-python-2.75.0-client-report.envelope.

    .venv/bin/python tests/sentry/recorded/sentry-python-2.75.0-client-report.py
"""
import http.server
import threading
from pathlib import Path

import brotli
import sentry_sdk

received = []


class Recorder(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "br":
            body = brotli.decompress(body)
        received.append(body)
        self.send_response(200)
        self.end_headers()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = sentry_sdk.Client(dsn=f"http://publickey@127.0.0.1:{server.server_port}/1", default_integrations=False,
                           before_send=lambda event, hint: None if "drop" in (event.get("message") or "") else event,
                           traces_sample_rate=0.0)
sentry_sdk.get_global_scope().set_client(client)
for i in range(3):
    sentry_sdk.capture_message(f"drop me {i}")
sentry_sdk.capture_message("keep me")
with sentry_sdk.start_transaction(name="checkout", sampled=False):
    pass
client.flush(timeout=5)
client.close(timeout=5)
server.shutdown()
report = next(body for body in received if b'"client_report"' in body)
Path(__file__).with_suffix(".envelope").write_bytes(report)
