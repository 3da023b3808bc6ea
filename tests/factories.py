"""Plain make_* functions that create test data through the real services."""
from __future__ import annotations

import itertools

from app.models import Developer, Service
from app.accounts import developers as accounts
from app.accounts import tokens

_counter = itertools.count(1)


def make_service(name: str | None = None, platform: str = "python", **kwargs) -> Service:
    return accounts.create_service(name or f"Service {next(_counter)}", platform, **kwargs)


def make_developer(name: str | None = None, *, email: str | None = None, role: str = "developer",
                   services: list[Service] | None = None, on_call: bool = False, max_load: int = 10,
                   password: str | None = "correct horse battery", phone: str | None = None) -> Developer:
    n = next(_counter)
    return accounts.create_developer(name or f"Developer {n}", email or f"dev{n}@example.test", role=role,
                                     services=services, on_call=on_call, max_load=max_load,
                                     password=password, phone=phone)


def make_token(developer: Developer) -> str:
    return tokens.create_api_token(developer)


class ApiClient:
    """The Flask test client with a bearer token on every request."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def _headers(self, headers=None):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url, **kw):
        return self.client.patch(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url, **kw):
        return self.client.put(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


def ingest(client, service: Service, payload: dict, path: str = "/api/errors/", **headers):
    """Post an event with the service's ingest key; returns the response."""
    return client.post(path, json=payload, headers={"X-Api-Key": service.ingest_key, **headers})


def make_error(service: Service, error_type: str = "ValueError", message: str = "bad value", **fields):
    """Record one event through the real ingest path (normaliser + record_error); returns its ErrorLog."""
    from app.extensions import db
    from app.ingest.sources import NORMALISERS
    from app.models import ErrorLog
    from app.recording.record import record_error

    incoming = NORMALISERS["api"]({"error_type": error_type, "message": message, **fields}, service.id)
    incoming.platform = incoming.platform or service.platform
    result = record_error(incoming)
    return db.session.get(ErrorLog, result.error_id, populate_existing=True)


def submit_concurrently(app, events: list) -> list:
    """Hand ``events`` (IncomingError) to the group-commit writer from a thread each, as concurrent
    requests would; their answers, once the writer has finished with them."""
    import threading

    from app.recording.writer import submit_error

    answers = []

    def post(event):
        with app.app_context():
            answers.append(submit_error(event))

    threads = [threading.Thread(target=post, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain_ingest_writer(events[0].service_id)
    return answers


def drain_ingest_writer(service: Service | int) -> None:
    """Return once the group-commit writer of the current app has finished its hand-offs.

    The writer answers a batch, then runs its hand-off (routing, notifications) before taking the
    next batch; a resent event (a duplicate) hands nothing off. So when the resend of a sentinel event
    is answered, everything queued before it is done and nothing is left running against this test's
    database while the next test resets it.
    """
    from app.ingest.incoming import IncomingError
    from app.recording.writer import submit_error

    service_id = service if isinstance(service, int) else service.id
    for _ in range(2):
        submit_error(IncomingError(service_id=service_id, source="api", error_type="WriterDrained",
                                   message="sentinel", event_id="00000000-0000-4000-8000-00000000d0a1"))
