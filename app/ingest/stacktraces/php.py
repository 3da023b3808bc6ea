"""PHP traces: ``Throwable::getTrace()`` arrays, ``getTraceAsString()`` text and Laravel-style exception
objects / log lines.

PHP lists the newest call first; the frames returned here are reversed to oldest first. A PHP trace entry
pairs the ``file``/``line`` where a call was made with the function *called* there; a frame names the
function that *contains* its line, as Sentry's PHP SDK builds them. So the names shift by one: the raising
location (the exception's own ``file``/``line``) takes the first entry's function, each entry's location
the next entry's function, and the outermost location (the script's top level) is ``{main}``. Functions are
rendered ``Class->method`` / ``Class::method``, the class in ``module``.
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
MAIN = "{main}"


def _in_app(filename: str) -> bool:
    return bool(filename) and not is_library(path=filename)


def _split_class(name: str | None) -> tuple[str | None, str | None]:
    """``App\\Exceptions\\Boom`` -> ``("Boom", "App\\Exceptions")``."""
    if not name:
        return None, None
    name = name.replace("\\\\", "\\").strip().lstrip("\\")
    namespace, _, short = name.rpartition("\\")
    return short or name, namespace or None


def _call_frame(filename: str | None, lineno: Any, class_: str | None, call_type: str | None,
                function: str | None) -> dict:
    """A frame at ``filename``/``lineno`` inside ``class_``/``function``; ``filename`` ``""`` is a location
    the trace does not give (a bare trace's raising line)."""
    if function and class_:
        rendered = f"{class_}{call_type if call_type in ('->', '::') else '->'}{function}"
    else:
        rendered = function or None
    return make_frame(filename=filename, abs_path=_abs_path(filename), function=rendered, module=class_ or None,
                      lineno=_to_int(lineno), in_app=_in_app(filename or ""))


# A call as PHP's trace lists it: (file, line, class, call type, function), the file None for a call made
# by PHP itself ([internal function]).
Call = tuple[str | None, Any, str | None, str | None, str | None]


def _frames_from_calls(calls: list[Call], file: Any = None, line: Any = None) -> list[dict]:
    """Frames (oldest first) from trace entries (newest first) and the raising ``file``/``line``.

    Each location takes the function of the entry after it (see the module docstring); the outermost is
    ``{main}``. Without a raising location the newest frame has no file (and is not in the app). At most
    the newest ``MAX_FRAMES`` frames are kept (so pass ``MAX_FRAMES + 1`` entries for the names to be right).
    """
    if not calls and not _str_or_none(file):
        return []
    frames = []
    location, lineno = _str_or_none(file) or "", line
    for filename, call_line, class_, call_type, function in calls:
        frames.append(_call_frame(location, lineno, class_, call_type, function))
        location, lineno = filename or INTERNAL, call_line
    frames.append(_call_frame(location, lineno, None, None, MAIN))
    frames.reverse()
    return frames[-MAX_FRAMES:]


def _str_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    text = _trunc(value)
    return text or None


def parse_php_trace(trace: Any, file: Any = None, line: Any = None) -> list[dict]:
    """Frames (oldest first) from a PHP ``getTrace()`` array (newest first) raised at ``file``/``line``.

    Each entry may have ``file``, ``line``, ``function``, ``class`` and ``type`` (``->`` or ``::``); the
    function is rendered ``Class->method`` / ``Class::method`` and the class is the frame's ``module``.
    Function names are shifted so that each frame names the function containing its line (see the module
    docstring). Locations of calls made by PHP itself get ``filename`` ``"[internal function]"``.
    ``in_app`` is ``False`` under ``/vendor/``. Only the newest ``MAX_FRAMES`` entries are read; entries that
    are not dicts are skipped. Never raises (returns ``[]`` on anything unusable).
    """
    try:
        if not isinstance(trace, (list, tuple)):
            return []
        calls: list[Call] = []
        for entry in itertools.islice(trace, MAX_FRAMES + 1):
            if not isinstance(entry, dict):
                continue
            calls.append((_str_or_none(entry.get("file")), entry.get("line"), _str_or_none(entry.get("class")),
                          _str_or_none(entry.get("type")), _str_or_none(entry.get("function"))))
        return _frames_from_calls(calls, file, line)
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


def _parse_trace_line(stripped: str) -> Call | None:
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
        return None, None, class_, call_type, function
    index = rest.find("): ")
    if index < 0:
        return None  # {main} or noise
    location, call = rest[: index + 1], rest[index + 3:]
    open_ = location.rfind("(")
    if open_ <= 0:
        return None
    filename, lineno = location[:open_], location[open_ + 1: -1]
    class_, call_type, function = _parse_call(call)
    return filename, lineno if _is_digits(lineno) else None, class_, call_type, function


def _starts_section(stripped: str) -> bool:
    """``[previous exception] ...`` (a Laravel log's cause) or ``Next App\\Boom: ...`` (PHP's uncaught
    output, which prints the previous exception first and each one wrapping it after ``Next``)."""
    return stripped.startswith("[previous exception]") or _is_next(stripped)


def _is_next(stripped: str) -> bool:
    if not stripped.startswith("Next "):
        return False
    head, sep, _ = stripped[5:].partition(": ")
    return bool(sep) and _is_identifier(head, "\\")


def parse_php_trace_text(text: Any, file: Any = None, line: Any = None) -> list[dict]:
    """Frames (oldest first) from ``getTraceAsString()`` text (newest first) raised at ``file``/``line``.

    Reads lines like ``#0 /var/www/app/Http/Controllers/X.php(42): App\\Http\\Controllers\\X->show('12')``
    and ``#5 [internal function]: ...``; ``#9 {main}`` and any other line are skipped (so a whole
    ``Uncaught ... Stack trace:`` block or a Laravel log entry can be passed). Function names are shifted
    as for :func:`parse_php_trace`. Only the first trace is read when several follow each other (see
    :func:`parse_php_exception_text`). Never raises.
    """
    try:
        calls: list[Call] = []
        for text_line in _lines(text):
            stripped = text_line.strip()
            if calls and _starts_section(stripped):
                break
            call = _parse_trace_line(stripped)
            if call is not None and len(calls) <= MAX_FRAMES:
                calls.append(call)
        return _frames_from_calls(calls, file, line)
    except Exception:
        return []


def php_exception_chain(exc: Any) -> list[dict]:
    """A chain (cause first) from a Laravel-style exception object.

    ``exc`` is ``{"class", "message", "code", "file", "line", "trace": [...], "previous": {...}}`` where
    ``trace`` is a ``getTrace()`` array (or ``getTraceAsString()`` text) and ``previous`` an object of the
    same shape, or ``None``. Each exception's frames are its trace, oldest first, the raising location
    (``file``/``line``) the newest (see :func:`parse_php_trace`). ``previous`` is the cause, so it comes first. The type
    is the short class name and ``module`` its namespace. At most ``MAX_CHAIN`` exceptions are followed
    (cycles are cut). Never raises (returns ``[]`` when ``exc`` is not a dict).
    """
    chain: list[dict] = []
    try:
        seen: set[int] = set()
        node = exc
        while isinstance(node, dict) and id(node) not in seen and len(chain) < MAX_CHAIN:
            seen.add(id(node))
            trace, file, line = node.get("trace"), node.get("file"), node.get("line")
            frames = (parse_php_trace_text(trace, file, line) if isinstance(trace, str)
                      else parse_php_trace(trace, file, line))
            type_, module = _split_class(_str_or_none(node.get("class") or node.get("type")))
            message = node.get("message")
            chain.append(make_exception(type_, _str_or_none(message) if message != "" else "", module, frames))
            node = node.get("previous")
        chain.reverse()
    except Exception:
        pass
    return _cap_chain(chain)


def _location(text: str) -> tuple[str | None, int | None]:
    """``/path/x.php:12`` -> ``("/path/x.php", 12)``; ``(None, None)`` when it is not that."""
    filename, _, lineno = text.strip().rpartition(":")
    return (filename, int(lineno)) if filename and _is_digits(lineno) else (None, None)


def _parse_header(lines: list[str]) -> tuple[str | None, str | None, str | None, str | None, int | None]:
    """Type, message, namespace and raising file and line from the lines before a PHP trace.

    Understands ``PHP Fatal error:  Uncaught App\\Boom: message in /path/x.php:12`` (and the ``Next
    App\\Wrapper: message in /path/x.php:30`` that follows for each exception wrapping it) and Laravel's
    ``[object] (App\\Boom(code: 0): message at /path/x.php:12)``; otherwise the first line is the message.
    """
    text = "\n".join(line for line in lines if line.strip())
    if not text:
        return None, None, None, None, None
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
            filename = lineno = None
            if at >= 0:
                filename, lineno = _location(message[at + 4:].rstrip().rstrip(")"))
                message = message[:at]
            return type_, message, module, filename, lineno
    uncaught = text.find("Uncaught ")
    start = uncaught + len("Uncaught ") if uncaught >= 0 else (len("Next ") if _is_next(text) else -1)
    if start >= 0:
        head, sep, message = text[start:].partition(": ")
        if sep and _is_identifier(head.strip(), "\\"):
            type_, module = _split_class(head.strip())
            filename = lineno = None
            cut = message.find("\nStack trace:")
            if cut >= 0:
                message = message[:cut]
            at = message.rfind(" in ")
            if at >= 0:
                filename, lineno = _location(message[at + 4:])
                if filename:
                    message = message[:at]
            return type_, message, module, filename, lineno
    first = text.split("\n", 1)[0].strip()
    if first == "Stack trace:":
        return None, None, None, None, None
    return None, first, None, None, None


def parse_php_exception_text(text: Any) -> list[dict]:
    """A chain (cause first) from PHP error text: an ``Uncaught ...`` fatal error (its ``Next ...`` blocks
    are the exceptions wrapping the first one) or a Laravel log entry (``[previous exception]`` blocks
    become causes) with their ``#N`` trace lines, or a bare ``getTraceAsString()``. Frames are named as
    :func:`parse_php_trace` names them. Returns ``[]`` when no trace line is found; never raises.
    """
    try:
        sections: list[list[str]] = [[]]
        wrapped_last = False  # PHP's "Next" order: cause first, as the chain is
        for line in _lines(text):
            stripped = line.strip()
            if _starts_section(stripped) and len(sections) < MAX_CHAIN:
                wrapped_last = wrapped_last or _is_next(stripped)
                sections.append([])
            sections[-1].append(line)
        chain = []
        for section in sections:
            header: list[str] = []
            calls: list[Call] = []
            main = False  # "#0 {main}": a trace, even with no call in it (thrown at the top level)
            for line in section:
                stripped = line.strip()
                call = _parse_trace_line(stripped)
                if call is not None:
                    if len(calls) <= MAX_FRAMES:
                        calls.append(call)
                elif stripped.startswith("#") and stripped.endswith(" " + MAIN):
                    main = True
                elif (not calls and not main and not stripped.startswith("#") and len(header) < 50
                        and stripped not in ("[stacktrace]", "Stack trace:")):
                    header.append(stripped.replace("[previous exception]", "", 1).strip())
            if not calls and not main:
                continue
            type_, message, module, file, line_number = _parse_header(header)
            chain.append(make_exception(type_, message, module, _frames_from_calls(calls, file, line_number)))
        if not wrapped_last:
            chain.reverse()
        return _cap_chain(chain)
    except Exception:
        return []
