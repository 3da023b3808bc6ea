"""CPython tracebacks (``traceback.print_exc()`` / ``logging.exception`` output)."""
from __future__ import annotations

from typing import Any

from app.ingest.in_app import is_library
from app.ingest.stacktraces.frames import (
    _abs_path,
    _cap_chain,
    _is_identifier,
    _lines,
    _to_int,
    make_exception,
    make_frame,
)

HEADER = "Traceback (most recent call last):"
CHAIN_MARKERS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
MARKER_CHARS = frozenset("^~- ")


def _in_app(filename: str) -> bool:
    return not is_library(path=filename)


def _module_from_path(filename: str) -> str | None:
    """``.../site-packages/flask/app.py`` -> ``flask.app``; ``/usr/lib/python3.11/json/decoder.py`` ->
    ``json.decoder``; ``None`` for anything else (application paths are ambiguous)."""
    path = filename.replace("\\", "/")
    lower = path.lower()
    start = -1
    for marker in ("/site-packages/", "/dist-packages/"):
        index = lower.rfind(marker)
        if index >= 0:
            start = index + len(marker)
            break
    if start < 0:
        index = lower.find("/lib/python3")
        if index < 0:
            return None
        slash = path.find("/", index + len("/lib/python3"))
        if slash < 0:
            return None
        start = slash + 1
    rest = path[start:]
    if not rest.endswith(".py"):
        return None
    rest = rest[:-3]
    if rest.endswith("/__init__"):
        rest = rest[: -len("/__init__")]
    parts = rest.split("/")
    if not parts or not all(_is_identifier(part) for part in parts):
        return None
    return ".".join(parts)


def _parse_file_line(stripped: str) -> dict | None:
    """``File "x.py", line 3, in fn`` -> a frame (``None`` when the line is not one)."""
    if not stripped.startswith('File "'):
        return None
    rest = stripped[6:]
    index = rest.rfind('", line ')
    if index < 0:
        if rest.endswith('"'):  # File "x" with no line number
            filename = rest[:-1]
            return make_frame(filename=filename, abs_path=_abs_path(filename), in_app=_in_app(filename),
                              module=_module_from_path(filename))
        return None
    filename = rest[:index]
    after = rest[index + 8:]
    line_part, sep, function = after.partition(", in ")
    lineno = _to_int(line_part.strip())
    return make_frame(filename=filename, abs_path=_abs_path(filename), function=function.strip() if sep else None,
                      module=_module_from_path(filename), lineno=lineno, in_app=_in_app(filename))


def _parse_exception_line(text: str) -> tuple[str | None, str | None, str | None]:
    """``pkg.mod.Error: message`` -> ``("Error", "message", "pkg.mod")``; ``KeyError`` -> ``("KeyError", None,
    None)``; anything else -> ``(None, text, None)``."""
    head, sep, message = text.partition(":")
    head = head.strip()
    if sep and _is_identifier(head, "."):
        value = message[1:] if message.startswith(" ") else message
    elif not sep and _is_identifier(text.strip(), "."):
        head, value = text.strip(), None
    elif sep and _is_identifier(head, ".<>"):  # module.func.<locals>.Error
        value = message[1:] if message.startswith(" ") else message
    else:
        return None, text, None
    module, _, type_ = head.rpartition(".")
    if not type_:
        return None, text, None
    return type_, value, module or None


def _ungroup(lines: list[str]) -> list[str]:
    """Flatten Python 3.11+ exception-group output: keep the group's own traceback (without the ``| ``
    margin) and drop the nested sub-exception blocks."""
    if not any("Exception Group Traceback" in line for line in lines):
        return lines
    out: list[str] = []
    col = -1
    in_sub = False
    for line in lines:
        if col < 0:
            if line.rstrip().endswith("Exception Group Traceback (most recent call last):") and "+" in line:
                col = line.find("+")
                in_sub = False
                out.append(line[col + 2:] if len(line) > col + 2 else line)
            else:
                out.append(line)
            continue
        piece = line[col:] if len(line) > col else ""
        leading = len(line) - len(line.lstrip())
        if piece.startswith("| ") or piece.rstrip() == "|":
            if in_sub and leading > col:
                continue
            out.append(piece[2:])
        elif piece.startswith("+-"):
            in_sub = True
        elif in_sub and line.strip()[:1] in ("|", "+") and leading > col:
            continue
        else:
            col = -1
            in_sub = False
            if line.rstrip().endswith("Exception Group Traceback (most recent call last):") and "+" in line:
                col = line.find("+")
                out.append(line[col + 2:])
            else:
                out.append(line)
    return out


def parse_python_traceback(text: Any) -> list[dict]:
    """Parse CPython traceback text into a chain (cause first, the raised exception last).

    Handles ``During handling of the above exception...`` and ``The above exception was the direct
    cause...`` chains, the source line printed under each ``File "x", line N, in fn`` line (kept as
    ``context_line``), 3.11+ ``^^^^`` markers and ``[Previous line repeated N more times]`` (skipped),
    exception groups (the group itself; its sub-exceptions are dropped), dotted exception types
    (``pkg.mod.Error`` -> type ``Error``, module ``pkg.mod``), multi-line messages and bare types such as
    ``KeyError``. Frames are oldest first as Python prints them. When a text holds several unrelated
    tracebacks the last one wins. Only the last ``MAX_LINES`` lines are read (the raised exception is at the
    end). Returns ``[]`` when no traceback is found; never raises.
    """
    try:
        return _parse(text)
    except Exception:
        return []


def _parse(text: Any) -> list[dict]:
    lines = _ungroup(_lines(text, tail=True))
    chain: list[dict] = []
    current: dict | None = None  # {"frames": [...], "exc": [lines] | None}
    state = "idle"  # idle | frames | message
    linked = False  # a chain marker was seen since the last complete exception
    preamble: list[str] = []  # non-indented lines seen while idle (a traceback-less cause, or log noise)
    preamble_closed = False

    def finish() -> None:
        nonlocal current
        if current is None:
            return
        exc_lines = current["exc"]
        if exc_lines is None and not current["frames"]:
            current = None
            return
        while exc_lines and not exc_lines[-1].strip():
            exc_lines.pop()
        if exc_lines:
            type_, value, module = _parse_exception_line(exc_lines[0])
            if len(exc_lines) > 1:
                value = "\n".join([value or ""] + exc_lines[1:]) if type_ else "\n".join(exc_lines)
        else:
            type_, value, module = None, None, None
        chain.append(make_exception(type_, value, module, current["frames"]))
        current = None

    i = 0
    count = len(lines)
    while i < count:
        raw = lines[i]
        stripped = raw.strip()
        i += 1
        if stripped.endswith(HEADER):
            if state == "message" or (current is not None and current["frames"]):
                finish()
                if not linked:
                    chain.clear()  # an unrelated traceback follows: the last one wins
            current = {"frames": [], "exc": None}
            state = "frames"
            linked = False
            preamble.clear()
            continue
        if stripped in CHAIN_MARKERS:
            if current is None and state == "idle" and preamble:
                # ``raise B from A`` where A was never raised: A is printed as its exception line only
                current = {"frames": [], "exc": preamble[:]}
                state = "message"
            finish()
            preamble.clear()
            state = "idle"
            linked = True
            continue
        if state in ("idle", "frames") and stripped.startswith('File "'):
            frame = _parse_file_line(stripped)
            if frame is None:
                continue
            if current is None:
                if chain and not linked:
                    chain.clear()
                current = {"frames": [], "exc": None}
                linked = False
            state = "frames"
            indent = len(raw) - len(raw.lstrip())
            while i < count:
                nxt = lines[i]
                nstripped = nxt.strip()
                nindent = len(nxt) - len(nxt.lstrip())
                if (not nstripped or nindent <= indent or nstripped.startswith(('File "', "[Previous line"))
                        or nstripped in CHAIN_MARKERS or nstripped.endswith(HEADER)):
                    break
                if frame["context_line"] is None and not set(nstripped) <= MARKER_CHARS:
                    frame["context_line"] = nstripped[:1000]
                i += 1
            current["frames"].append(frame)
            continue
        if stripped.startswith("[Previous line repeated"):
            continue
        if state == "frames":
            if not stripped or raw[:1] in (" ", "\t"):
                continue  # stray source / marker lines
            current["exc"] = [raw.rstrip()]
            state = "message"
            continue
        if state == "message":
            current["exc"].append(raw.rstrip())
            continue
        # idle
        if not linked:
            if not stripped:
                preamble_closed = True
            elif raw[:1] not in (" ", "\t"):
                if preamble_closed:  # keep only the last run of lines
                    preamble.clear()
                    preamble_closed = False
                if len(preamble) < 50:
                    preamble.append(raw.rstrip())
            continue
        if stripped and raw[:1] not in (" ", "\t"):
            # a cause/context printed without a traceback: just its exception line
            current = {"frames": [], "exc": [raw.rstrip()]}
            state = "message"
            linked = False
    if current is not None and (state == "message" or current["frames"]):
        finish()
    return _cap_chain(chain)
