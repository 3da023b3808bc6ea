"""PHP traces: ``Throwable::getTrace()`` arrays, ``getTraceAsString()`` text and Laravel-style exception
objects / log lines.

PHP lists the newest call first; the frames returned here are reversed to oldest first. Each entry keeps
PHP's own pairing: the ``file``/``line`` where the call was made with the name of the function called there
(``Class->method`` / ``Class::method``), the class in ``module``. The raising location of an exception
(its ``file``/``line``) is appended as the newest frame, without a function name.
"""
from __future__ import annotations

import itertools
from typing import Any

from app.ingest.in_app import is_library
from app.ingest.stacktraces.frames import (
    MAX_CHAIN,
    MAX_FRAMES,
    _abs_path,
    _cap_chain,
    _is_digits,
    _is_identifier,
    _lines,
    _to_int,
    _trunc,
    make_exception,
    make_frame,
)

INTERNAL = "[internal function]"


def _in_app(filename: str) -> bool:
    return not is_library(path=filename)


def _split_class(name: str | None) -> tuple[str | None, str | None]:
    """``App\\Exceptions\\Boom`` -> ``("Boom", "App\\Exceptions")``."""
    if not name:
        return None, None
    name = name.replace("\\\\", "\\").strip().lstrip("\\")
    namespace, _, short = name.rpartition("\\")
    return short or name, namespace or None


def _call_frame(filename: str | None, lineno: Any, class_: str | None, call_type: str | None,
                function: str | None) -> dict:
    filename = filename or INTERNAL
    if function and class_:
        rendered = f"{class_}{call_type if call_type in ('->', '::') else '->'}{function}"
    else:
        rendered = function or None
    return make_frame(filename=filename, abs_path=_abs_path(filename), function=rendered, module=class_ or None,
                      lineno=_to_int(lineno), in_app=_in_app(filename))


def _str_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    text = _trunc(value)
    return text or None


def parse_php_trace(trace: Any) -> list[dict]:
    """Frames (oldest first) from a PHP ``getTrace()`` array (newest first).

    Each entry may have ``file``, ``line``, ``function``, ``class`` and ``type`` (``->`` or ``::``); the
    function is rendered ``Class->method`` / ``Class::method`` and the class is the frame's ``module``.
    Entries without a file (calls made by PHP itself) get ``filename`` ``"[internal function]"``.
    ``in_app`` is ``False`` under ``/vendor/``. Only the newest ``MAX_FRAMES`` entries are read; entries that
    are not dicts are skipped. Never raises (returns ``[]`` on anything unusable).
    """
    try:
        if not isinstance(trace, (list, tuple)):
            return []
        frames = []
        for entry in itertools.islice(trace, MAX_FRAMES):
            if not isinstance(entry, dict):
                continue
            frames.append(_call_frame(_str_or_none(entry.get("file")), entry.get("line"),
                                      _str_or_none(entry.get("class")), _str_or_none(entry.get("type")),
                                      _str_or_none(entry.get("function"))))
        frames.reverse()
        return frames
    except Exception:
        return []


def _parse_call(call: str) -> tuple[str | None, str | None, str | None]:
    """``App\\X->show('12')`` -> ``("App\\X", "->", "show")``; ``{closure}(...)`` -> ``(None, None,
    "{closure}")``."""
    call = call.strip()
    if call.startswith("{closure"):  # {closure}(...) or PHP 8.4 {closure:/path/x.php:12}(...)
        end = call.find("}")
        return None, None, call[: end + 1] if end > 0 else call
    paren = call.find("(")
    name = call[:paren] if paren >= 0 else call
    name = name.strip()
    for sep in ("->", "::"):
        index = name.find(sep)
        if index > 0:
            return name[:index], sep, name[index + 2:] or None
    return None, None, name or None


def _parse_trace_line(stripped: str) -> dict | None:
    """One ``#N file(line): call`` / ``#N [internal function]: call`` line; ``None`` for ``{main}`` and
    anything else."""
    if not stripped.startswith("#"):
        return None
    number, _, rest = stripped[1:].partition(" ")
    if not _is_digits(number):
        return None
    rest = rest.strip()
    if rest.startswith(INTERNAL):
        class_, call_type, function = _parse_call(rest[len(INTERNAL):].lstrip(":").strip())
        return _call_frame(INTERNAL, None, class_, call_type, function)
    index = rest.find("): ")
    if index < 0:
        return None  # {main} or noise
    location, call = rest[: index + 1], rest[index + 3:]
    open_ = location.rfind("(")
    if open_ <= 0:
        return None
    filename, lineno = location[:open_], location[open_ + 1: -1]
    class_, call_type, function = _parse_call(call)
    return _call_frame(filename, lineno if _is_digits(lineno) else None, class_, call_type, function)


def parse_php_trace_text(text: Any) -> list[dict]:
    """Frames (oldest first) from ``getTraceAsString()`` text (newest first).

    Reads lines like ``#0 /var/www/app/Http/Controllers/X.php(42): App\\Http\\Controllers\\X->show('12')``
    and ``#5 [internal function]: ...``; ``#9 {main}`` and any other line are skipped (so a whole
    ``Uncaught ... Stack trace:`` block or a Laravel log entry can be passed). Only the first
    ``[stacktrace]`` block is read when several follow each other (see :func:`parse_php_exception_text`).
    Never raises.
    """
    try:
        frames = []
        for line in _lines(text):
            stripped = line.strip()
            if stripped.startswith("[previous exception]") and frames:
                break
            frame = _parse_trace_line(stripped)
            if frame is not None:
                frames.append(frame)
        frames.reverse()
        return frames[-MAX_FRAMES:]
    except Exception:
        return []


def _raise_frame(file: Any, line: Any) -> dict | None:
    filename = _str_or_none(file)
    if not filename:
        return None
    return make_frame(filename=filename, abs_path=_abs_path(filename), lineno=_to_int(line),
                      in_app=_in_app(filename))


def php_exception_chain(exc: Any) -> list[dict]:
    """A chain (cause first) from a Laravel-style exception object.

    ``exc`` is ``{"class", "message", "code", "file", "line", "trace": [...], "previous": {...}}`` where
    ``trace`` is a ``getTrace()`` array (or ``getTraceAsString()`` text) and ``previous`` an object of the
    same shape, or ``None``. Each exception's frames are its reversed trace followed by the raising
    location (``file``/``line``) as the newest frame. ``previous`` is the cause, so it comes first. The type
    is the short class name and ``module`` its namespace. At most ``MAX_CHAIN`` exceptions are followed
    (cycles are cut). Never raises (returns ``[]`` when ``exc`` is not a dict).
    """
    chain: list[dict] = []
    try:
        seen: set[int] = set()
        node = exc
        while isinstance(node, dict) and id(node) not in seen and len(chain) < MAX_CHAIN:
            seen.add(id(node))
            trace = node.get("trace")
            frames = parse_php_trace_text(trace) if isinstance(trace, str) else parse_php_trace(trace)
            raising = _raise_frame(node.get("file"), node.get("line"))
            if raising is not None:
                frames.append(raising)
            type_, module = _split_class(_str_or_none(node.get("class") or node.get("type")))
            message = node.get("message")
            chain.append(make_exception(type_, _str_or_none(message) if message != "" else "", module, frames))
            node = node.get("previous")
        chain.reverse()
    except Exception:
        pass
    return _cap_chain(chain)


def _parse_header(lines: list[str]) -> tuple[str | None, str | None, str | None, dict | None]:
    """Type, message, namespace and raising frame from the lines before a PHP trace.

    Understands ``PHP Fatal error:  Uncaught App\\Boom: message in /path/x.php:12`` and Laravel's
    ``[object] (App\\Boom(code: 0): message at /path/x.php:12)``; otherwise the first line is the message.
    """
    text = "\n".join(line for line in lines if line.strip())
    if not text:
        return None, None, None, None
    marker = text.find("[object] (")
    if marker >= 0:
        body = text[marker + len("[object] ("):]
        code = body.find("(code: ")
        if code > 0 and _is_identifier(body[:code], "\\"):
            type_, module = _split_class(body[:code])
            after = body[code:]
            colon = after.find("): ")
            message = after[colon + 3:] if colon >= 0 else ""
            at = message.rfind(" at ")
            raising = None
            if at >= 0:
                location = message[at + 4:].rstrip().rstrip(")")
                message = message[:at]
                filename, _, lineno = location.rpartition(":")
                if filename and _is_digits(lineno):
                    raising = _raise_frame(filename, lineno)
            return type_, message, module, raising
    uncaught = text.find("Uncaught ")
    if uncaught >= 0:
        body = text[uncaught + len("Uncaught "):]
        head, sep, message = body.partition(": ")
        if sep and _is_identifier(head.strip(), "\\"):
            type_, module = _split_class(head.strip())
            raising = None
            cut = message.find("\nStack trace:")
            if cut >= 0:
                message = message[:cut]
            at = message.rfind(" in ")
            if at >= 0:
                filename, _, lineno = message[at + 4:].strip().rpartition(":")
                if filename and _is_digits(lineno):
                    raising = _raise_frame(filename, lineno)
                    message = message[:at]
            return type_, message, module, raising
    first = text.split("\n", 1)[0].strip()
    if first == "Stack trace:":
        return None, None, None, None
    return None, first, None, None


def parse_php_exception_text(text: Any) -> list[dict]:
    """A chain (cause first) from PHP error text: an ``Uncaught ...`` fatal error or a Laravel log entry
    (``[previous exception]`` blocks become causes) with their ``#N`` trace lines, or a bare
    ``getTraceAsString()``. Returns ``[]`` when no trace line is found; never raises.
    """
    try:
        sections: list[list[str]] = [[]]
        for line in _lines(text):
            if line.strip().startswith("[previous exception]") and len(sections) < MAX_CHAIN:
                sections.append([])
            sections[-1].append(line)
        chain = []
        for section in sections:
            header: list[str] = []
            frames = []
            for line in section:
                stripped = line.strip()
                frame = _parse_trace_line(stripped)
                if frame is not None:
                    frames.append(frame)
                elif (not frames and not stripped.startswith("#") and len(header) < 50
                        and stripped not in ("[stacktrace]", "Stack trace:")):
                    header.append(stripped.replace("[previous exception]", "", 1).strip())
            if not frames:
                continue
            frames.reverse()
            type_, message, module, raising = _parse_header(header)
            if raising is not None:
                frames.append(raising)
            chain.append(make_exception(type_, message, module, frames))
        chain.reverse()
        return _cap_chain(chain)
    except Exception:
        return []
