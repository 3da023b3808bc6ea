"""JavaScript ``error.stack`` text: V8 (Chrome, Edge, Node, Deno) and SpiderMonkey / JavaScriptCore
(Firefox, Safari) formats, plus React component stacks."""
from __future__ import annotations

from typing import Any

from app.ingest.in_app import is_library
from app.ingest.stacktraces.frames import (
    MAX_FRAMES,
    _abs_path,
    _is_digits,
    _is_identifier,
    _lines,
    _split_location,
    make_exception,
    make_frame,
)

UNCAUGHT_PREFIXES = ("Uncaught (in promise) ", "Uncaught ")
ERROR_SUFFIXES = ("Error", "Exception")


def _in_app(filename: str) -> bool:
    # Node's own modules are printed as bare "internal/..." paths, and "index 0" is a Promise.all slot.
    if not filename or filename.startswith(("internal/", "index ")):
        return False
    return not is_library(path=filename)


def _location_frame(function: str | None, location: str) -> dict:
    """A frame from a function name and a ``url:line:col`` location (eval locations resolved to the
    script that called eval)."""
    location = location.strip()
    if location.startswith("eval at "):
        # "eval at fn (https://x/app.js:1:2), <anonymous>:1:1": the calling script is inside the parentheses
        open_ = location.rfind("(")
        close = location.find(")", open_ + 1) if open_ >= 0 else -1
        if open_ >= 0 and close > open_:
            location = location[open_ + 1: close]
        else:
            location = location.rpartition(", ")[2] or location
    if " > eval" in location or " > Function" in location:
        # Firefox: "https://x/app.js line 10 > eval:1:5"
        filename, _, after = location.partition(" line ")
        number = after.split(" ", 1)[0]
        lineno = int(number) if _is_digits(number) else None
        colno = None
    else:
        filename, lineno, colno = _split_location(location)
    return make_frame(filename=filename, abs_path=_abs_path(filename), function=function or None,
                      lineno=lineno, colno=colno, in_app=_in_app(filename))


def _looks_like_location(location: str) -> bool:
    if location in ("<anonymous>", "native", "[native code]"):
        return True
    if _split_location(location)[1] is not None:
        return True
    return "://" in location or location.startswith(("node:", "/", "eval at "))


def _parse_v8(stripped: str) -> dict | None:
    """``at fn (url:1:2)``, ``at url:1:2``, ``at async fn (...)``, ``at new Foo (...)``, ``at eval (eval at
    ...)``, ``at <anonymous>``, ``at Promise.all (index 0)``."""
    body = stripped[3:].strip()
    if not body:
        return None
    if body.endswith(")") and " (" in body:
        index = body.find(" (")
        function, location = body[:index].strip(), body[index + 2: -1]
        if function.startswith("async "):
            function = function[6:].strip()
        if not location:
            return None
        return _location_frame(function, location)
    if " " in body and not body.startswith("async "):
        return None
    location = body[6:].strip() if body.startswith("async ") else body
    if not _looks_like_location(location):
        return None
    return _location_frame(None, location)


def _parse_gecko(stripped: str) -> dict | None:
    """``fn@url:10:5``, ``@url:1:2``, ``fn/<@url...``, ``global code@url``, ``forEach@[native code]``."""
    function, sep, location = stripped.partition("@")
    if not sep or not location or ": " in function:
        return None
    if location == "[native code]":
        return make_frame(filename="[native code]", function=function or None, in_app=False)
    if not _looks_like_location(location.strip()) and " line " not in location:
        return None
    return _location_frame(function, location)


def _parse_frame(stripped: str) -> dict | None:
    if stripped.startswith("at "):
        return _parse_v8(stripped)
    if "@" in stripped:
        return _parse_gecko(stripped)
    return None


def _parse_header(lines: list[str]) -> tuple[str | None, str | None]:
    """Type and message from the lines before the first frame (``TypeError: x is undefined``)."""
    texts = [line.rstrip() for line in lines]
    while texts and not texts[-1].strip():
        texts.pop()
    while texts and not texts[0].strip():
        texts.pop(0)
    if not texts:
        return None, None
    # first a line naming an Error-like type, else any ``Name: message`` / ``Name`` line
    for strict in (True, False):
        for index, line in enumerate(texts):
            text = line.strip()
            for prefix in UNCAUGHT_PREFIXES:
                if text.startswith(prefix):
                    text = text[len(prefix):]
                    break
            head, sep, message = text.partition(":")
            head = head.strip()
            if not _is_identifier(head, "$.") or (strict and not head.endswith(ERROR_SUFFIXES)):
                continue
            rest = texts[index + 1:]
            if sep and not message.startswith("//"):
                message = message[1:] if message.startswith(" ") else message
                return head, "\n".join([message] + rest) if rest else message
            if not sep and head.endswith(ERROR_SUFFIXES):
                return head, "\n".join(rest) if rest else None
    return None, "\n".join(line.strip() for line in texts)


def parse_js_stack(text: Any) -> list[dict]:
    """Parse a JavaScript ``error.stack`` into a one-exception chain.

    V8 lines (``at fn (https://host/main.js:1:2345)``, anonymous ``at https://...:1:2``, ``at async fn``,
    ``at new Foo``, ``at Object.<anonymous>``, ``at eval (eval at ...)``, ``at <anonymous>``,
    ``at node:internal/...``) and Firefox / Safari lines (``fn@url:10:5``, ``@url:1:2``, ``fn/<@...``,
    ``[native code]``) may be mixed. The lines before the first frame give the type and value when they look
    like ``Name: message`` (``Uncaught`` prefixes dropped); otherwise they are the value. ``async `` is dropped
    from function names, ``new `` is kept; anonymous frames have ``function`` ``None``. ``in_app`` is ``False``
    for ``node_modules``, Node internals, ``<anonymous>``, native code, vendor / polyfill bundles and browser
    extensions. Frames are reversed to oldest first (the newest ``MAX_FRAMES`` kept). Returns ``[]`` when
    there is neither a frame nor an ``Error: message`` line; never raises.
    """
    try:
        header: list[str] = []
        frames: list[dict] = []
        for line in _lines(text):
            stripped = line.strip()
            if not stripped:
                continue
            frame = _parse_frame(stripped)
            if frame is not None:
                if len(frames) < MAX_FRAMES:
                    frames.append(frame)
                continue
            if not frames and len(header) < 100:
                header.append(line)
        type_, value = _parse_header(header)
        if not frames and type_ is None:
            return []
        frames.reverse()
        return [make_exception(type_, value, None, frames)]
    except Exception:
        return []


def parse_react_component_stack(text: Any) -> list[str]:
    """Component names from a React component stack, **as printed: innermost first, the root last**.

    Reads ``    in Foo (created by Bar)`` / ``    in div`` (React <= 17), ``    at Foo (http://...)``
    (React 18+) and ``Foo@http://...`` (Firefox) lines; other lines are ignored. At most ``MAX_FRAMES``
    names; never raises.
    """
    names: list[str] = []
    try:
        for line in _lines(text):
            stripped = line.strip()
            name = None
            if stripped.startswith(("in ", "at ")):
                rest = stripped[3:].strip()
                name = rest.split(" (", 1)[0].strip()
                if name.startswith("async "):
                    name = name[6:].strip()
                if " " in name:
                    name = name.split(" ", 1)[0]
            elif "@" in stripped and not stripped.startswith("@"):
                name = stripped.partition("@")[0].strip()
                if " " in name:
                    name = None
            if name:
                names.append(name[:1000])
                if len(names) >= MAX_FRAMES:
                    break
    except Exception:
        return names
    return names
