"""Stack-trace parsers: turn the text (or structured traces) that SDKs and loggers send into frames.

Pure Python, no third-party dependencies, safe on untrusted input: no public function raises, no regular
expression can backtrack catastrophically, and the work is capped (``MAX_LINES`` lines read,
``MAX_FRAMES`` frames per exception, ``MAX_CHAIN`` exceptions per chain, ``MAX_STR`` characters per field).

Shapes (Sentry's conventions):

* a *frame* is a dict with exactly the keys of :data:`FRAME_KEYS` (``None`` when unknown,
  ``in_app`` always a bool), and ``vars`` (its local variables, bounded) when the client sent them;
  build one with :func:`make_frame`;
* an *exception* is ``{"type", "value", "module", "frames"}`` (and ``"suppressed": True`` for one that
  another exception suppressed) with frames ordered **oldest first**,
  the frame that raised last; ``type`` is the short class name and ``module`` its package / namespace
  (``java.lang`` for ``java.lang.IllegalStateException``) when the text gives one;
* a *chain* is a list of exceptions ordered **cause first**, the raised (outermost) exception last.
"""
from __future__ import annotations

import json
from typing import Any

from app.ingest.stacktraces.frames import (
    FRAME_KEYS,
    MAX_CHAIN,
    MAX_CONTEXT_LINES,
    MAX_FRAMES,
    MAX_JSON_CHARS,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_STR,
    _fallback,
    _is_digits,
    _lines,
    _split_location,
    _to_text,
    frame_vars,
    limit_event_vars,
    make_exception,
    make_frame,
)
from app.ingest.stacktraces.dart import parse_dart_stack
from app.ingest.stacktraces.java import java_frame_label, parse_java_elements, parse_java_stack_trace
from app.ingest.stacktraces.javascript import parse_js_stack, parse_react_component_stack
from app.ingest.stacktraces.php import (
    parse_php_exception_text,
    parse_php_trace,
    parse_php_trace_text,
    php_exception_chain,
)
from app.ingest.stacktraces.python import parse_python_traceback

_PLATFORMS = {
    "python": "python", "py": "python", "django": "python", "flask": "python",
    "php": "php", "laravel": "php", "symfony": "php",
    "java": "java", "jvm": "java", "kotlin": "java", "scala": "java", "groovy": "java", "android": "java",
    "javascript": "javascript", "js": "javascript", "node": "javascript", "nodejs": "javascript",
    "node.js": "javascript", "browser": "javascript", "typescript": "javascript", "ts": "javascript",
    "react": "javascript", "react-native": "javascript", "deno": "javascript", "bun": "javascript",
    "dart": "dart", "flutter": "dart",
}


def platform_family(platform: Any) -> str | None:
    """The parser family of a platform name (``kotlin`` -> ``java``, ``laravel`` -> ``php``), else ``None``."""
    return _PLATFORMS.get(platform.strip().lower()) if isinstance(platform, str) else None


def _parse_js_chain(text: Any) -> list[dict]:
    return parse_js_stack(text)


def _parse_php_text(text: Any) -> list[dict]:
    return parse_php_exception_text(text)


_PARSERS = {
    "python": parse_python_traceback,
    "php": _parse_php_text,
    "java": parse_java_stack_trace,
    "javascript": _parse_js_chain,
    "dart": parse_dart_stack,
}


def _guess_platform(lines: list[str]) -> str | None:
    """Score each platform by the lines that look like its frames; the best score wins (ties: dict order)."""
    scores = {"python": 0, "php": 0, "dart": 0, "java": 0, "javascript": 0}
    for line in lines:
        s = line.strip()
        if s.startswith(("E/flutter", "I/flutter")):  # Android logcat: "E/flutter ( 6310): #0 ..."
            s = s.partition("): ")[2].strip()
        if not s:
            continue
        if s.endswith("Traceback (most recent call last):"):
            scores["python"] += 10
            continue
        if s.startswith('File "') and '", line ' in s:
            scores["python"] += 2
            continue
        if s.startswith("#"):
            if ".php(" in s or "[internal function]" in s or s.endswith("{main}"):
                scores["php"] += 2
            elif "(package:" in s or "(dart:" in s or ".dart:" in s:
                scores["dart"] += 2
            continue
        if s == "<asynchronous suspension>":
            scores["dart"] += 1
            continue
        if s.startswith("Caused by: "):
            scores["java"] += 1
            continue
        if s.startswith("at "):
            body = s[3:].strip()
            open_ = body.find("(")
            if open_ > 0 and " " not in body[:open_] and ")" in body[open_:]:
                loc = body[open_ + 1:]
                if (".java:" in loc or ".kt:" in loc or ".scala:" in loc or ".groovy:" in loc
                        or loc.startswith(("Native Method", "Unknown Source"))):
                    scores["java"] += 2
                else:
                    scores["java"] += 1
            elif (body.endswith(")") and " (" in body) or body in ("<anonymous>", "native") \
                    or _split_location(body)[1] is not None:
                scores["javascript"] += 2
            continue
        tokens = s.split()
        if len(tokens) >= 2 and (".dart" in tokens[0] or tokens[0].startswith("dart:")):
            a, _, b = tokens[1].partition(":")
            if _is_digits(a) and (not b or _is_digits(b)):
                scores["dart"] += 2
                continue
        if "@" in s:
            _, _, loc = s.partition("@")
            _, lineno, _ = _split_location(loc)
            if lineno is not None or loc == "[native code]":
                scores["javascript"] += 2
    best = max(scores, key=lambda name: scores[name])
    return best if scores[best] > 0 else None


def _has_frames(chain: list[dict]) -> bool:
    return any(exc["frames"] for exc in chain)


def _from_structure(data: Any) -> list[dict]:
    """Chains from already-structured traces: a PHP exception object, a PHP ``getTrace()`` array or a list
    of Java ``StackTraceElement`` dicts."""
    if isinstance(data, dict):
        if "trace" in data and ("class" in data or "message" in data):
            return php_exception_chain(data)
        return []
    if isinstance(data, list) and data and isinstance(data[0], dict):
        first = data[0]
        if "className" in first or "methodName" in first:
            return parse_java_elements(data)
        if "function" in first or "file" in first:
            frames = parse_php_trace(data)
            return [make_exception(None, None, None, frames)] if frames else []
    return []


def detect_and_parse(text: Any, platform: str | None = None) -> list[dict]:
    """Parse a stack trace in any supported format into a chain (cause first, raised exception last).

    ``platform`` is a hint (``python``, ``php``, ``java``/``kotlin``, ``javascript``/``node``/``browser``,
    ``dart``/``flutter``; case-insensitive); without one, or when the hinted parser finds no frame, the format
    is guessed from the text (``Traceback (most recent call last):``, ``\\tat com.x.Y.z(Y.java:1)``,
    ``#0 /x.php(1): ...``, ``#0 f (package:x/y.dart:1:2)``, ``at f (url:1:2)``, ``f@url:1:2``...).
    JSON text (or a dict / list) holding a PHP exception object, a PHP ``getTrace()`` array or Java
    ``StackTraceElement`` dicts is accepted too.

    Never raises and never returns an empty list: when nothing matches the result is
    ``[{"type": None, "value": <first non-empty line or None>, "module": None, "frames": []}]``.
    """
    try:
        if isinstance(text, (dict, list)):
            return _from_structure(text) or _fallback(None)
        text = _to_text(text)
        stripped = text.lstrip()[:1]
        if stripped in ("{", "[") and len(text) <= MAX_JSON_CHARS:
            try:
                data = json.loads(text)
            except Exception:
                data = None
            if data is not None:
                chain = _from_structure(data)
                if chain:
                    return chain
        hint = platform_family(platform)
        hinted: list[dict] = []
        if hint:
            hinted = _PARSERS[hint](text)
            if _has_frames(hinted):
                return hinted
        guess = _guess_platform(_lines(text))
        if guess and guess != hint:
            chain = _PARSERS[guess](text)
            if _has_frames(chain) or (chain and not hinted):
                return chain
        if hinted:
            return hinted
    except Exception:
        pass
    return _fallback(text)


__all__ = [
    "FRAME_KEYS", "MAX_CHAIN", "MAX_CONTEXT_LINES", "MAX_FRAMES", "MAX_JSON_CHARS", "MAX_LINE_CHARS", "MAX_LINES",
    "MAX_STR",
    "detect_and_parse", "frame_vars", "java_frame_label", "limit_event_vars", "make_exception", "make_frame", "platform_family",
    "parse_dart_stack", "parse_java_elements", "parse_java_stack_trace", "parse_js_stack",
    "parse_php_exception_text", "parse_php_trace", "parse_php_trace_text", "php_exception_chain",
    "parse_python_traceback", "parse_react_component_stack",
]
