"""The cookie session, only where a browser signs in.

The JSON API, the webhooks, the Sentry endpoints and the source-map uploads (everything under the
prefixes :func:`register` is given) authenticate each request by a key or a token: for them no session
cookie is read, verified or written (Flask gives such a request its null session, whose writes fail
loudly), and no ``Vary: Cookie`` is added to their answers. The dashboard keeps Flask's signed cookie
session as it was.
"""
from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class BrowserSessionInterface(SecureCookieSessionInterface):
    def __init__(self, sessionless_prefixes: tuple[str, ...]):
        self.sessionless_prefixes = sessionless_prefixes

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # (Sessions open before the URL is matched: the path's prefix is what is known.)
        if request.path.startswith(self.sessionless_prefixes):
            return None
        return super().open_session(app, request)


def register(app: Flask, sessionless_prefixes) -> None:
    app.session_interface = BrowserSessionInterface(tuple(p.rstrip("/") + "/" for p in sessionless_prefixes))
