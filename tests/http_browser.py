"""A plain HTTP browser on the live server: a real cookie jar over real HTTP, no JavaScript.

Each request runs in the server's own thread and contexts, as in production; cookies can be copied
off one browser into another, as someone who got hold of them would.
"""
from __future__ import annotations

import pytest
import requests

PASSWORD = "correct horse battery"  # tests/factories.py: make_developer's default


@pytest.fixture
def visitor(live_server):
    """A browser on the live server; more with ``visitor.new()``."""
    return Browser(live_server)


class Browser:
    def __init__(self, base: str):
        self.base, self.http = base, requests.Session()

    def new(self, cookies: dict[str, str] | None = None) -> Browser:
        """Another browser, holding only ``cookies`` (copied off this one, say)."""
        other = Browser(self.base)
        for name, value in (cookies or {}).items():
            other.http.cookies.set(name, value, domain="127.0.0.1", path="/")
        return other

    def get(self, path: str, **kw):
        return self.http.get(self.base + path, allow_redirects=False, timeout=10, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        return self.http.post(self.base + path, data=data or {}, allow_redirects=False, timeout=10, **kw)

    def login(self, email: str, password: str = PASSWORD, **extra):
        response = self.post("/login", {"email": email, "password": password, **extra})
        assert response.status_code == 303, response.text
        return response

    def cookies(self) -> dict[str, str]:
        """The cookies, as someone who copied them off the machine would have them."""
        return {c.name: c.value for c in self.http.cookies if c.name in ("session", "remember_token")}

    def signed_in(self) -> bool:
        response = self.get("/")
        assert response.status_code in (200, 302)
        return response.status_code == 200
