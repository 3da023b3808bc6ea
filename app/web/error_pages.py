"""The pages of 404, 405 and 500 (and every other refusal a page gives): one styled page wherever a
browser meets them, the JSON error shape under the JSON prefixes (/api/, /webhook/) and for clients
that ask for JSON, the flash bar for HTMX. The security headers are added to these answers like any
other (app/web/headers.py runs after the error handlers)."""
from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException, default_exceptions

from app.web.errors import error_response, from_http_exception, under_json_prefix

log = logging.getLogger("heartwatch.web")

# What the page says, in place of werkzeug's descriptions (which speak of "the server").
TITLES = {400: "Bad request", 401: "Sign in first", 403: "Not allowed", 404: "Page not found",
          405: "Method not allowed", 409: "Conflict", 413: "Too large", 429: "Too many requests",
          500: "Something went wrong", 503: "Unavailable"}
SAID = {
    404: "There is no page at this address. The link may be old, or the error it pointed to deleted.",
    405: "This address does not take a {method} request.",
    500: "Heartwatch could not answer this request. It has been logged; trying again in a moment may work.",
}
# werkzeug's own descriptions are replaced; a view's own sentence (abort(404, description=...)) is kept.
_GENERIC = {code: cls.description for code, cls in default_exceptions.items()}

# The last resort when the page itself cannot be rendered (the database gone, a template broken).
BARE_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status} · Heartwatch</title>"
             "<link rel=\"stylesheet\" href=\"/static/css/app.css\"></head><body><main><section class=\"card "
             "problem\"><p class=\"problem-code\">{status}</p><h1>{title}</h1><p>{message}</p><p><a href=\"/\">"
             "The overview</a></p></section></main></body></html>")


def wants_json() -> bool:
    """A client that asked for JSON rather than a page (HTMX asks for HTML)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.headers.get("HX-Request") != "true"


def message_of(exc: HTTPException) -> str:
    status = exc.code or 500
    description = exc.description if exc.description != _GENERIC.get(status) else None
    if status == 500 or not description:
        return SAID.get(status, exc.description or exc.name).format(method=request.method)
    return description


def problem_page(status: int, message: str, headers: dict | None = None):
    """The styled page of an answer that is not a success."""
    from flask import render_template

    from app.extensions import db

    title = TITLES.get(status, "Something went wrong" if status >= 500 else "Not possible")
    allowed = (headers or {}).get("Allow")
    back = _same_site_referrer()
    try:
        if status >= 500:
            db.session.rollback()  # what failed may have left the transaction unusable
        body = render_template("dashboard/problem.html", status=status, title=title, message=message,
                               allowed=allowed, back=back)
    except Exception:  # noqa: BLE001 - the page of a failure must not fail in turn
        log.exception("the %s page could not be rendered", status)
        from markupsafe import escape

        body = BARE_PAGE.format(status=status, title=escape(title), message=escape(message))
    return body, status, {**(headers or {}), "Content-Type": "text/html; charset=utf-8"}


def _same_site_referrer() -> str | None:
    """The page the visitor came from, when it is one of Heartwatch's (a path, never another site)."""
    referrer = request.referrer or ""
    root = request.host_url.rstrip("/")
    path = referrer[len(root):] if referrer.startswith(root + "/") else ""
    ok = path.startswith("/") and not path.startswith("//") and "\\" not in path and path != request.full_path
    return path if ok else None


def answer(exc: HTTPException):
    """A refusal as the asker reads it: JSON, a flash for HTMX, or the styled page."""
    status = exc.code or 500
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    if under_json_prefix(request.path) or wants_json():
        return from_http_exception(exc)
    message = message_of(exc)
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true":
        from flask import render_template

        # Show the refusal in the flash bar instead of replacing the form that was sent.
        body = render_template("partials/_flash.html", messages=[("error", message)], oob=False)
        return body, status, {**headers, "HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
    return problem_page(status, message, headers)


def register(app: Flask) -> None:
    """Every 404, 405 and 500 of the app that no blueprint answered itself."""
    for status in (404, 405, 500):
        app.register_error_handler(status, answer)


__all__ = ["answer", "error_response", "problem_page", "register", "wants_json"]
