"""Grouping: which events are the same error.

The client's fingerprint wins; else the error type and the in-app frames (module or file and
function, never line numbers, so an edit above the bug does not split the group); else the type
and the message with its variable parts masked.
"""
from __future__ import annotations

import hashlib
import re

from app.ingest.incoming import IncomingError
from app.ingest.stacktraces import java_frame_label, platform_family

# Masking runs on at most this many characters: the expressions below are linear per start
# position, and the cap keeps the whole pass bounded on hostile input.
MASK_LIMIT = 1024

_MASKS = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"), "<email>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b[0-9a-fA-F]{12,}\b"), "<hex>"),
    (re.compile(r"'[^'\n]{0,200}'"), "'<value>'"),
    (re.compile(r"\"[^\"\n]{0,200}\""), "\"<value>\""),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]
# Patterns are read by people: an IPv4 address (with or without a port) reads better as one token than
# as the numbers it is made of. Fingerprints keep the masking above: they are stored, and a change
# would split every error that has no frames from its earlier events.
_ADDRESS = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_DEFAULT_MARKERS = {"{{ default }}", "{{default}}"}
_FILENAME_NOISE = re.compile(r"[.-][0-9a-fA-F]{5,}(?=\.)|\?.*$|#.*$")


def mask_message(message: str, *, addresses: bool = False) -> str:
    """The message with numbers, ids, hex, UUIDs, e-mails and quoted values masked; with
    ``addresses``, IPv4 addresses become ``<ip>`` first (10.0.0.5:5432 gives ``<ip>:<n>``)."""
    text = (message or "")[:MASK_LIMIT]
    if addresses:
        text = _ADDRESS.sub("<ip>", text)
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text.strip()


def _frame_location(frame: dict) -> str:
    location = frame.get("module") or frame.get("filename") or frame.get("abs_path") or ""
    if "://" in location:  # a browser URL: the host and cache-busting hashes vary by deploy
        location = location.split("://", 1)[1].partition("/")[2]
    return _FILENAME_NOISE.sub("", location)


def frame_components(incoming: IncomingError) -> list[str]:
    frames = incoming.frames
    chosen = [f for f in frames if f.get("in_app")]
    if not chosen:
        # No frame is marked in-app: use the frames that name a function (library-only stacks
        # still group well by their call path), never bare line positions of minified code.
        chosen = [f for f in frames if f.get("function")]
    return [f"{_frame_location(f)}:{f.get('function') or '?'}" for f in chosen[-30:]]


def default_components(incoming: IncomingError) -> list[str]:
    frames = frame_components(incoming)
    if frames:
        return [incoming.error_type, *frames]
    return [incoming.error_type, mask_message(incoming.message)]


def compute_fingerprint(incoming: IncomingError) -> str:
    """A 40-character hex digest that identifies the error within its service."""
    if incoming.fingerprint:
        parts: list[str] = []
        for part in incoming.fingerprint:
            if part.strip() in _DEFAULT_MARKERS:
                parts.extend(default_components(incoming))
            else:
                parts.append(part)
        parts.insert(0, "client")
    else:
        parts = default_components(incoming)
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


def culprit(incoming: IncomingError) -> str | None:
    """Where the error was raised: the newest in-app frame, as 'function in module' (or file). A JVM
    frame reads as Java prints it (``com.x.Foo.bar (Foo.java:42)``); a PHP function already names its
    class, so its file follows it."""
    frames = incoming.frames
    for frame in reversed(frames):
        if frame.get("in_app"):
            break
    else:
        frame = frames[-1] if frames else None
    if not frame:
        return None
    family = platform_family(incoming.platform)
    if family == "java":
        return java_frame_label(frame)[:512]
    where = (frame.get("filename") if family == "php" else frame.get("module")) or frame.get("filename") or "?"
    return f"{frame.get('function') or '?'} in {where}"[:512]
