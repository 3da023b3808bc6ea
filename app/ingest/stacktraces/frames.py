"""What every stack-trace parser shares: the caps, the frame and exception shapes, and the small text
helpers (see the package docstring for the shapes). A module of its own so that the parsers and the
package that dispatches to them import it, not each other."""
from __future__ import annotations

import itertools
from typing import Any

MAX_LINES = 2000
MAX_LINE_CHARS = 4096
MAX_FRAMES = 250
MAX_CHAIN = 10
MAX_STR = 1000
MAX_CONTEXT_LINES = 50
MAX_JSON_CHARS = 2_000_000

FRAME_KEYS = ("filename", "abs_path", "function", "module", "lineno", "colno", "in_app", "context_line",
              "pre_context", "post_context")
# A frame's local variables (``vars``, as Sentry's SDKs send them) are kept bounded: at most MAX_VARS names
# of MAX_VAR_NAME characters, a text value cut to MAX_VAR_CHARS, containers nested at most MAX_VAR_DEPTH
# deep (a variable holding a list of lists of values) with MAX_VAR_ITEMS items each, and MAX_EVENT_VARS
# characters of names and text across an event's frames (its newest frames keep theirs).
MAX_VARS = 50
MAX_VAR_NAME = 128
MAX_VAR_CHARS = 512
MAX_VAR_DEPTH = 3
MAX_VAR_ITEMS = 20
MAX_EVENT_VARS = 64 * 1024
VAR_CUT = "…"


def _trunc(value: Any) -> str | None:
    """``value`` as a string of at most ``MAX_STR`` characters (``None`` stays ``None``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            value = str(value)
        except Exception:
            return None
    return value[:MAX_STR]


def make_frame(**kw: Any) -> dict:
    """A frame dict with every key of :data:`FRAME_KEYS`; missing keys are ``None`` (``in_app`` ``False``).

    String fields are cut to ``MAX_STR`` characters, context lists to ``MAX_CONTEXT_LINES`` entries;
    unknown keyword arguments are ignored. ``vars``, the frame's local variables, is kept (bounded, see
    :func:`frame_vars`) under the key ``vars`` only when it names at least one variable.
    """
    frame = {key: kw.get(key) for key in FRAME_KEYS}
    for key in ("filename", "abs_path", "function", "module", "context_line"):
        frame[key] = _trunc(frame[key])
    if frame["filename"] is None:
        frame["filename"] = ""
    for key in ("lineno", "colno"):
        frame[key] = _to_int(frame[key])
    for key in ("pre_context", "post_context"):
        value = frame[key]
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            frame[key] = [_trunc(line) or "" for line in value[:MAX_CONTEXT_LINES]]
        else:
            frame[key] = None
    frame["in_app"] = bool(frame["in_app"])
    local_vars = frame_vars(kw.get("vars"))
    if local_vars:
        frame["vars"] = local_vars
    return frame


def frame_vars(value: Any) -> dict | None:
    """A frame's local variables, bounded: ``{name: value}`` for at most ``MAX_VARS`` names, values as
    JSON gives them (text cut to ``MAX_VAR_CHARS``, containers deeper than ``MAX_VAR_DEPTH`` shown as
    ``"[…]"`` / ``"{…}"``, at most ``MAX_VAR_ITEMS`` items each) and ``MAX_EVENT_VARS`` characters in all.
    ``None`` unless ``value`` is a dict. Never raises."""
    if not isinstance(value, dict):
        return None
    budget = [MAX_EVENT_VARS]
    bounded = {}
    try:
        for name, item in itertools.islice(value.items(), MAX_VARS):
            name = _cut(name if isinstance(name, str) else str(name), MAX_VAR_NAME)
            budget[0] -= len(name)
            if budget[0] <= 0:
                break
            bounded[name] = _bounded_value(item, 1, budget)
    except Exception:
        return bounded or None
    return bounded or None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(VAR_CUT)] + VAR_CUT


def _bounded_value(value: Any, depth: int, budget: list[int]) -> Any:
    """``value`` with its text cut and its containers bounded; ``budget`` (characters left) shrinks as
    text is kept, and once spent every further text is ``"…"``."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple, dict)):
        if depth >= MAX_VAR_DEPTH:
            return "{…}" if isinstance(value, dict) else "[…]"
        if isinstance(value, dict):
            items = {}
            for key, item in itertools.islice(value.items(), MAX_VAR_ITEMS):
                key = _cut(key if isinstance(key, str) else str(key), MAX_VAR_NAME)
                budget[0] -= len(key)
                items[key] = _bounded_value(item, depth + 1, budget)
            return items
        return [_bounded_value(item, depth + 1, budget) for item in value[:MAX_VAR_ITEMS]]
    if budget[0] <= 0:
        return VAR_CUT
    text = _cut(value if isinstance(value, str) else _to_text(value), min(MAX_VAR_CHARS, max(budget[0], 1)))
    budget[0] -= len(text)
    return text


def vars_size(local_vars: Any) -> int:
    """The characters of names and text in a frame's bounded ``vars`` (what ``MAX_EVENT_VARS`` counts)."""
    size, stack = 0, [local_vars]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            size += sum(len(key) for key in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            size += len(node)
    return size


def limit_event_vars(chain: list[dict]) -> None:
    """Keep ``vars`` on an event's frames, newest first (the raised exception's, then its causes'), while
    their sizes add up to at most ``MAX_EVENT_VARS``; a frame whose variables no longer fit loses them."""
    left = MAX_EVENT_VARS
    for exception in reversed(chain):
        for frame in reversed(exception.get("frames") or []):
            if "vars" not in frame:
                continue
            size = vars_size(frame["vars"])
            if size > left:
                del frame["vars"]
            else:
                left -= size


def make_exception(type_: Any = None, value: Any = None, module: Any = None,
                   frames: list[dict] | None = None, suppressed: bool = False) -> dict:
    """An exception dict; keeps the newest ``MAX_FRAMES`` frames (the last ones, frames being oldest first).

    ``suppressed`` marks an exception that another one suppressed (Java's ``Throwable.addSuppressed``,
    as try-with-resources does when closing fails): it is in the chain, but is not a cause."""
    frames = list(frames or [])
    if len(frames) > MAX_FRAMES:
        frames = frames[-MAX_FRAMES:]
    exception = {"type": _trunc(type_) or None, "value": _trunc(value), "module": _trunc(module) or None,
                 "frames": frames}
    if suppressed:
        exception["suppressed"] = True
    return exception


def _cap_chain(chain: list[dict]) -> list[dict]:
    """At most ``MAX_CHAIN`` exceptions, keeping the outermost ones (the end of a cause-first chain)."""
    return chain[-MAX_CHAIN:] if len(chain) > MAX_CHAIN else chain


def _to_text(text: Any) -> str:
    """Best-effort ``str`` for whatever came in: bytes are decoded leniently, ``None`` is ``""``."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            return bytes(text[: MAX_LINES * MAX_LINE_CHARS]).decode("utf-8", errors="replace")
        except Exception:
            return ""
    try:
        return str(text)
    except Exception:
        return ""


def _lines(text: Any, tail: bool = False) -> list[str]:
    """The first (or, with ``tail``, the last) ``MAX_LINES`` lines of ``text``, each cut to ``MAX_LINE_CHARS``.

    ``\\r\\n`` and lone ``\\r`` count as line breaks; NUL characters are dropped.
    """
    text = _to_text(text)
    if not text:
        return []
    budget = MAX_LINES * (MAX_LINE_CHARS + 2)
    text = text[-budget:] if tail else text[:budget]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    lines = text.split("\n")
    lines = lines[-MAX_LINES:] if tail else lines[:MAX_LINES]
    return [line[:MAX_LINE_CHARS] if len(line) > MAX_LINE_CHARS else line for line in lines]


def _to_int(value: Any) -> int | None:
    """A non-negative int from an int, a float or a string of ASCII digits; anything else is ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**12 else None
    if isinstance(value, float):
        if value != value or not (0 <= value < 10**12):
            return None
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        if value and len(value) <= 12 and value.isascii() and value.isdigit():
            return int(value)
    return None


def _is_digits(value: str) -> bool:
    return bool(value) and len(value) <= 12 and value.isascii() and value.isdigit()


def _split_location(loc: str) -> tuple[str, int | None, int | None]:
    """``"file:line:col"`` / ``"file:line"`` / ``"file"`` -> ``(file, line, col)`` (right to left, so URLs
    and Windows drive letters keep their colons)."""
    head, sep, last = loc.rpartition(":")
    if not sep or not _is_digits(last):
        return loc, None, None
    head2, sep2, middle = head.rpartition(":")
    if sep2 and _is_digits(middle):
        return head2, int(middle), int(last)
    return head, int(last), None


def _looks_absolute(path: str) -> bool:
    """A POSIX absolute path, a Windows drive path, a UNC path or a URL."""
    if not path:
        return False
    if path.startswith(("/", "\\\\")):
        return True
    if len(path) > 2 and path[1] == ":" and path[0].isalpha() and path[2] in "\\/":
        return True
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.replace("-", "").replace("+", "").replace(".", "").isalnum()


def _abs_path(path: str | None) -> str | None:
    return path if path and _looks_absolute(path) else None


def _is_identifier(name: str, extra: str = "") -> bool:
    """Letters, digits, ``_`` and the characters of ``extra``; not empty, not starting with a digit."""
    if not name or len(name) > 300 or name[0].isdigit():
        return False
    for char in name:
        if not (char.isalnum() or char == "_" or char in extra):
            return False
    return True


def _fallback(text: Any) -> list[dict]:
    """One exception with no type and no frames whose value is the first non-empty line (or ``None``)."""
    first = None
    try:
        for line in _lines(text)[:50]:
            if line.strip():
                first = line.strip()
                break
    except Exception:
        first = None
    return [make_exception(None, first, None, [])]
