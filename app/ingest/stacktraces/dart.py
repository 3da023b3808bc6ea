"""Dart / Flutter stack traces: the VM format (``#0      f (package:x/y.dart:1:2)``) and the web format
of dart2js / DDC (``packages/x/y.dart 12:3  f``)."""
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

LOG_PREFIXES = ("E/flutter", "I/flutter", "W/flutter", "D/flutter", "E/DartVM")
HEADER_PREFIXES = ("Unhandled Exception: ", "Unhandled exception: ", "Uncaught Error: ", "Uncaught exception: ",
                   "Error: ")
SKIP_HEADERS = ("Unhandled exception:", "Unhandled Exception:", "Stack trace:", "StackTrace:")


def _in_app(filename: str) -> bool:
    return not is_library(path=filename)


def _module(filename: str) -> str | None:
    """``package:my_app/x.dart`` -> ``my_app``; ``dart:async/zone.dart`` -> ``dart:async``;
    ``packages/my_app/x.dart`` -> ``my_app``; ``None`` for file paths and URLs."""
    if filename.startswith("package:"):
        name = filename[len("package:"):].split("/", 1)[0]
        return name or None
    if filename.startswith("dart:"):
        return filename.split("/", 1)[0]
    if filename.startswith("packages/"):
        name = filename[len("packages/"):].split("/", 1)[0]
        return name or None
    return None


def _frame(function: str | None, filename: str, lineno: int | None, colno: int | None) -> dict:
    return make_frame(filename=filename, abs_path=_abs_path(filename), function=function or None,
                      module=_module(filename), lineno=lineno, colno=colno, in_app=_in_app(filename))


def _strip_log_prefix(line: str) -> str:
    """``E/flutter ( 6310): #0 ...`` (Android logcat) -> ``#0 ...``; ``[ERROR:flutter/...cc(41)] x`` -> ``x``."""
    stripped = line.strip()
    if stripped.startswith(LOG_PREFIXES):
        index = stripped.find("): ")
        if 0 < index < 40:
            stripped = stripped[index + 3:].strip()
        elif stripped.endswith("):") and len(stripped) < 40:
            return ""
    if stripped.startswith("[ERROR:flutter/") or stripped.startswith("[ERROR:"):
        index = stripped.find("] ")
        if index > 0:
            stripped = stripped[index + 2:].strip()
    return stripped


def _parse_vm(stripped: str) -> dict | None:
    """``#0      MyWidget.build (package:my_app/widgets/home.dart:42:7)``; obfuscated
    ``#00 abs 000000000017a5c3 virt ...`` lines and other noise give ``None``."""
    number_end = 1
    while number_end < len(stripped) and stripped[number_end].isdigit():
        number_end += 1
    if number_end == 1:
        return None
    body = stripped[number_end:].strip()
    if not body.endswith(")"):
        return None
    open_ = body.rfind(" (")
    if open_ <= 0:
        return None
    function, location = body[:open_].strip(), body[open_ + 2: -1].strip()
    if not location or " " in location:
        return None
    filename, lineno, colno = _split_location(location)
    return _frame(function, filename, lineno, colno)


def _parse_web(stripped: str) -> dict | None:
    """``packages/my_app/main.dart 12:3   main`` / ``dart:sdk_internal 1234:12  throw_`` (path, ``line:col``
    or ``line``, then the function)."""
    parts = stripped.split(None, 2)
    if len(parts) < 2:
        return None
    path, position = parts[0], parts[1]
    line, sep, col = position.partition(":")
    if not _is_digits(line) or (sep and not _is_digits(col)):
        return None
    if not (".dart" in path or path.startswith(("dart:", "packages/")) or path.endswith(".js")):
        return None
    function = parts[2].strip() if len(parts) > 2 else None
    return _frame(function, path, int(line), int(col) if sep else None)


def _parse_header(lines: list[str]) -> tuple[str | None, str | None]:
    texts = [line for line in lines if line and line not in SKIP_HEADERS]
    if not texts:
        return None, None
    first = texts[0]
    for prefix in HEADER_PREFIXES:
        if first.startswith(prefix):
            first = first[len(prefix):]
            break
    head, sep, message = first.partition(": ")
    rest = texts[1:]
    if sep and " (" in head and _is_identifier(head.split(" (", 1)[0], "$"):
        head = head.split(" (", 1)[0]  # RangeError (index): Invalid value ...
    if sep and _is_identifier(head.strip(), "$<>,. ") and " " not in head.strip().split("<", 1)[0]:
        value = "\n".join([message] + rest) if rest else message
        return head.strip(), value
    if not sep and _is_identifier(first.strip(), "$") and first.strip().endswith(("Error", "Exception")):
        return first.strip(), "\n".join(rest) if rest else None
    return None, "\n".join([first] + rest)


def parse_dart_stack(text: Any) -> list[dict]:
    """Parse a Dart VM / Flutter stack trace (optionally preceded by its error line) into a one-exception
    chain.

    Frames: ``#0      MyWidget.build (package:my_app/widgets/home.dart:42:7)``, ``#1      _rootRun
    (dart:async/zone.dart:1418:47)``, frames without a column, and the web format
    ``packages/my_app/main.dart 12:3  main``. ``<asynchronous suspension>``, obfuscated (``abs ... virt``)
    and unknown lines are skipped; Android ``E/flutter (123):`` prefixes are removed. ``module`` is the
    package (``my_app``) or the ``dart:`` library (``dart:async``); ``in_app`` is ``False`` for ``dart:``,
    Flutter and the SDK. The lines before the first frame give type and value (``FormatException: bad`` ->
    type ``FormatException``; ``Bad state: x`` has no type). Frames are reversed to oldest first (the newest
    ``MAX_FRAMES`` kept). Returns ``[]`` when no frame is found; never raises.
    """
    try:
        header: list[str] = []
        frames: list[dict] = []
        for line in _lines(text):
            stripped = _strip_log_prefix(line)
            if not stripped or stripped == "<asynchronous suspension>":
                continue
            if stripped.startswith("#"):
                frame = _parse_vm(stripped)
            else:
                frame = _parse_web(stripped)
            if frame is not None:
                if len(frames) < MAX_FRAMES:
                    frames.append(frame)
                continue
            if not frames and len(header) < 50 and not stripped.startswith(("***", "pid:", "os:", "build_id",
                                                                             "isolate_", "vm_")):
                header.append(stripped)
        if not frames:
            return []
        type_, value = _parse_header(header)
        frames.reverse()
        return [make_exception(type_, value, None, frames)]
    except Exception:
        return []
