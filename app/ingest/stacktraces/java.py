"""JVM stack traces: ``Throwable.printStackTrace()`` text and ``StackTraceElement`` lists (Java, Kotlin,
Scala, Groovy...)."""
from __future__ import annotations

import itertools
from typing import Any

from app.ingest.in_app import is_library
from app.ingest.stacktraces.frames import (
    MAX_FRAMES,
    _cap_chain,
    _is_digits,
    _is_identifier,
    _lines,
    _to_int,
    _trunc,
    make_exception,
    make_frame,
)

TYPE_SUFFIXES = ("Exception", "Error", "Throwable", "Failure", "Fault")


def _in_app(class_name: str | None) -> bool:
    return not is_library(module=class_name)


def _frame(class_name: str | None, method: str | None, filename: str | None, lineno: int | None) -> dict:
    return make_frame(filename=filename or "Unknown Source", function=method or None, module=class_name or None,
                      lineno=lineno, in_app=_in_app(class_name))


def _strip_module(qualified: str) -> str:
    """``java.base/java.lang.Thread.run`` / ``app//com.x.Y.z`` / ``java.base@17/...`` -> the class and method.

    A ``/`` after a ``$`` belongs to a hidden class (``Foo$$Lambda$14/0x0000000800c03000.run``) and stays."""
    index = qualified.find("/")
    if index >= 0 and "$" not in qualified[:index]:
        return qualified[index + 1:].lstrip("/")
    return qualified


def _parse_frame(stripped: str) -> dict | None:
    """``at com.x.Foo.bar(Foo.java:42)`` (optionally followed by ``~[app.jar:?]``) -> a frame."""
    if not stripped.startswith("at "):
        return None
    body = stripped[3:].strip()
    open_ = body.find("(")
    if open_ <= 0:
        return None
    close = body.find(")", open_)
    if close < 0:
        return None
    qualified = body[:open_].strip()
    if not qualified or " " in qualified:
        return None
    qualified = _strip_module(qualified)
    class_name, dot, method = qualified.rpartition(".")
    if not dot:
        class_name, method = "", qualified
    location = body[open_ + 1: close].strip()
    filename, sep, line = location.rpartition(":")
    if sep and _is_digits(line):
        lineno = int(line)
    else:
        filename, lineno = location, None
    return _frame(class_name, method, filename or None, lineno)


def _parse_header(lines: list[str]) -> tuple[str | None, str | None, str | None]:
    """Type, message and package from the lines printed before an exception's frames.

    Log lines before the exception line are skipped; ``Exception in thread "main" `` is dropped."""
    candidates = [line.rstrip() for line in lines]
    while candidates and not candidates[-1].strip():
        candidates.pop()
    if not candidates:
        return None, None, None
    # first a line naming a qualified / Exception-like type, else a bare identifier on the first line
    for strict in (True, False):
        for index, line in enumerate(candidates if strict else candidates[:1]):
            text = line.strip()
            if text.startswith("Exception in thread \""):
                end = text.find("\" ", len("Exception in thread \""))
                if end >= 0:
                    text = text[end + 2:].strip()
            head, sep, message = text.partition(":")
            head = head.strip()
            if not _is_identifier(head, ".$"):
                continue
            if strict and not ("." in head or head.endswith(TYPE_SUFFIXES)):
                continue
            rest = candidates[index + 1:]
            if sep:
                message = message[1:] if message.startswith(" ") else message
                value = "\n".join([message] + rest) if rest else message
            else:
                value = "\n".join(rest) if rest else None
            package, _, short = head.rpartition(".")
            return short or head, value, package or None
    return None, "\n".join(line.strip() for line in candidates), None


def parse_java_stack_trace(text: Any) -> list[dict]:
    """Parse ``printStackTrace()`` text into a chain (root cause first, the thrown exception last).

    Understands the ``com.x.FooException: message`` first line (message absent or on several lines,
    ``Exception in thread "main"`` prefix, log lines before it), ``\\tat com.x.Foo.bar(Foo.java:42)`` frames
    including ``(Native Method)``, ``(Unknown Source)``, module prefixes (``java.base/``, ``app//``),
    lambdas and ``$`` inner classes, ``Caused by:`` chains, ``Suppressed:`` blocks (indented one tab more
    than the exception that suppressed them, each with its own causes) and ``... 12 more`` (omitted frames
    are restored from the enclosing exception, the one a cause wraps or a suppressed one was suppressed
    by: they are exactly its last 12). Suppressed exceptions are entries of the chain marked
    ``"suppressed": True``; the chain reversed reads as Java printed it. Each frame has ``module`` = class,
    ``function`` = method, ``filename`` = file as printed (``"Native Method"`` / ``"Unknown Source"`` when
    there is none); ``in_app`` is ``False`` for JDK and common framework packages. Frames are reversed to
    oldest first. Returns ``[]`` when there is no frame and no exception line; never raises.
    """
    try:
        return _parse(text)
    except Exception:
        return []


CAPTIONS = (("Caused by: ", False), ("Suppressed: ", True))


def _caption(stripped: str) -> tuple[str, bool] | None:
    for caption, suppressed in CAPTIONS:
        if stripped.startswith(caption):
            return caption, suppressed
    return None


def _new_item(printed: list[dict], open_: list[dict], indent: int, suppressed: bool) -> dict:
    """A printed exception opened by a caption at ``indent``, with the exception that encloses it: the one
    a ``Caused by:`` wraps (the last one printed at its indent) or the one a ``Suppressed:`` (one indent
    deeper) was suppressed by. ``open_`` holds the exceptions whose blocks are still open, outermost first."""
    while open_ and (open_[-1]["indent"] > indent or (suppressed and open_[-1]["indent"] == indent)):
        open_.pop()
    if not suppressed and open_ and open_[-1]["indent"] == indent:
        enclosing = open_.pop()
    else:
        enclosing = open_[-1] if open_ else None
    item = {"header": [], "frames": [], "indent": indent, "enclosing": enclosing, "suppressed": suppressed}
    open_.append(item)
    printed.append(item)
    return item


def _parse(text: Any) -> list[dict]:
    printed: list[dict] = []  # outermost first, as printed: {"header": [...], "frames": [...], ...}
    open_: list[dict] = []
    current: dict | None = None
    for line in _lines(text):
        stripped = line.strip()
        caption = _caption(stripped)
        if caption is not None:
            current = _new_item(printed, open_, len(line) - len(line.lstrip()), caption[1])
            current["header"].append(stripped[len(caption[0]):])
            continue
        if stripped.startswith("at "):
            frame = _parse_frame(stripped)
            if frame is not None:
                if current is None:
                    current = _new_item(printed, open_, 0, False)
                if len(current["frames"]) < MAX_FRAMES:  # printed newest first: keep the first ones
                    current["frames"].append(frame)
                continue
        if stripped.startswith("...") and stripped.endswith("more"):
            if current is not None:
                current["more"] = _to_int(stripped[3:-4].strip()) or 0
            continue
        if current is None:
            current = _new_item(printed, open_, 0, False)
        if not current["frames"] and len(current["header"]) < 100:
            current["header"].append(line)
    # An enclosed exception prints only the frames it does not share with the one enclosing it, then
    # "... N more": those are exactly the last N frames of the enclosing one (printed, so restored, first).
    for item in printed:
        more, enclosing = item.get("more", 0), item["enclosing"]
        if enclosing is not None and 0 < more <= len(enclosing["frames"]):
            item["frames"] = (item["frames"] + enclosing["frames"][-more:])[:MAX_FRAMES]
    chain = []
    for item in printed:
        type_, value, module = _parse_header(item["header"])
        if type_ is None and value is None and not item["frames"]:
            continue
        frames = item["frames"]
        frames.reverse()
        chain.append(make_exception(type_, value, module, frames, suppressed=item["suppressed"]))
    if len(chain) == 1 and chain[0]["type"] is None and not chain[0]["frames"]:
        return []
    chain.reverse()
    return _cap_chain(chain)


def java_frame_label(frame: dict) -> str:
    """A frame as Java prints it: ``com.x.Foo.bar (Foo.java:42)`` (``(Native Method)``, ``(Foo.java)``
    without a line)."""
    qualified = ".".join(part for part in (frame.get("module"), frame.get("function")) if part) or "?"
    where = frame.get("filename") or "Unknown Source"
    if frame.get("lineno"):
        where = f"{where}:{frame['lineno']}"
    return f"{qualified} ({where})"


def parse_java_elements(frames: Any, exception_type: Any = None, message: Any = None) -> list[dict]:
    """One-exception chain from ``Throwable.getStackTrace()`` rendered as dicts (newest first).

    Each element is ``{"className", "methodName", "fileName", "lineNumber"}``; a negative line number is
    unknown (``-2`` means a native method: ``filename`` ``"Native Method"``). ``exception_type`` such as
    ``java.lang.IllegalStateException`` becomes type ``IllegalStateException`` and module ``java.lang``.
    Frames are reversed to oldest first, at most ``MAX_FRAMES`` (the newest) are kept. Never raises.
    """
    try:
        result = []
        if isinstance(frames, (list, tuple)):
            for element in itertools.islice(frames, MAX_FRAMES):
                if not isinstance(element, dict):
                    continue
                class_name = _trunc(element.get("className")) or None
                method = _trunc(element.get("methodName")) or None
                filename = element.get("fileName")
                filename = _trunc(filename) if isinstance(filename, str) and filename else None
                raw_line = element.get("lineNumber")
                lineno = _to_int(raw_line)
                if filename is None:
                    filename = "Native Method" if raw_line == -2 or element.get("nativeMethod") is True \
                        else "Unknown Source"
                result.append(_frame(class_name, method, filename, lineno))
        result.reverse()
        full_type = _trunc(exception_type) if exception_type is not None else None
        module = None
        type_ = full_type
        if full_type:
            package, _, short = full_type.strip().rpartition(".")
            type_, module = short or full_type, package or None
        return [make_exception(type_, _trunc(message), module, result)]
    except Exception:
        return [make_exception(None, None, None, [])]
