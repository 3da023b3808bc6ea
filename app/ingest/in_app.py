"""Which frames are the application's own ("in app") and which a library's, runtime's or framework's.

One owner: the stack-trace parsers mark their frames with :func:`is_library`, and ``prepare``
(app/recording/prepare.py) applies a service's own rules to every event's frames with
:func:`apply_in_app` after the frames are built and before the event is grouped (grouping and the
culprit read only in-app frames).

A prefix is a Java package or class (``org.postgresql``), a Python module (``myapp.payments``), a Dart
package (``package:my_app``), a PHP namespace (``App\\Billing``) or a path (``vendor/``, ``node_modules``).
It matches a frame's module or its file path, at the start or after a ``/`` (a PHP ``\\`` counts as ``/``),
case-insensitively, and ends at a word boundary unless it ends with a separator (``java.`` and ``java``
both match ``java.util.List``; ``java`` does not match ``javax.sql``).

The decision for a frame, first rule that applies: the service's include prefixes (in app); its
exclude prefixes (not in app); what the SDK said, when it said the frame is in app (Sentry SDKs and the
JSON API's frames: a client's explicit word is kept unless one of the service's rules matches); the
defaults below (not in app); else what the parser decided.
"""
from __future__ import annotations

import re
from functools import lru_cache

from app.ingest.incoming import IncomingError

JVM_LIBRARIES = (
    "java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala.", "jakarta.", "groovy.",
    "org.springframework.", "org.apache.", "org.hibernate.", "io.netty.", "reactor.", "com.fasterxml.",
    "ch.qos.logback.", "org.slf4j.", "org.junit.", "org.eclipse.jetty.", "io.undertow.", "org.glassfish.",
    "com.google.", "okhttp3.", "io.micrometer.", "io.sentry.", "org.aspectj.", "net.bytebuddy.", "feign.",
    # JDBC drivers and the connection pool
    "org.postgresql", "com.mysql", "oracle.jdbc", "org.mariadb", "com.microsoft.sqlserver", "org.h2.",
    "org.sqlite.", "com.zaxxer.hikari",
)
PYTHON_LIBRARIES = ("site-packages", "dist-packages", "lib/python2", "lib/python3", "<frozen")
JAVASCRIPT_LIBRARIES = ("node_modules", "node:", "<anonymous>", "[native code]", "vendor/", "vendor.",
                        "vendors~", "chunk-vendors", "polyfills", "chrome-extension://", "moz-extension://",
                        "safari-extension://", "safari-web-extension://", "webpack/bootstrap")
PHP_LIBRARIES = ("vendor/", "[internal function]")
DART_LIBRARIES = ("dart:", "package:flutter/", "package:flutter_test/", "packages/flutter/",
                  "packages/flutter_test/", "dart-sdk/", "org-dartlang-sdk:", "lib/_engine/", "lib/_internal/")
DEFAULT_LIBRARIES = tuple(dict.fromkeys(
    (*JVM_LIBRARIES, *PYTHON_LIBRARIES, *JAVASCRIPT_LIBRARIES, *PHP_LIBRARIES, *DART_LIBRARIES)))
# Whole file names that are never the application's (a JavaScript engine's own frames).
LIBRARY_FILENAMES = frozenset({"native", "<anonymous>", "[native code]", "[internal function]"})

INCLUDE, EXCLUDE, LIBRARY, UNDECIDED = 1, 2, 3, 0
_CACHE_SIZE = 8192


def _normal(text: str | None) -> str:
    return text.replace("\\", "/").lower() if text else ""


def compile_prefixes(prefixes: tuple[str, ...]) -> re.Pattern | None:
    """One expression matching any of ``prefixes`` (see the module docstring for what matches)."""
    alternatives = []
    for prefix in prefixes:
        body = _normal(prefix).lstrip("/")
        if not body:
            continue
        pattern = re.escape(body)
        if body[-1].isalnum() or body[-1] == "_":
            pattern += "(?![a-z0-9_])"
        alternatives.append(pattern)
    if not alternatives:
        return None
    return re.compile("(?:^|/)(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + ")")


_DEFAULTS = compile_prefixes(DEFAULT_LIBRARIES)


def is_library(module: str | None = None, path: str | None = None) -> bool:
    """Whether a frame of ``module`` or file ``path`` belongs to a library by the defaults."""
    if path in LIBRARY_FILENAMES:
        return True
    return bool((module and _DEFAULTS.search(_normal(module))) or (path and _DEFAULTS.search(_normal(path))))


class InAppRules:
    """A service's include and exclude prefixes, compiled; :func:`rules_for` caches them."""

    def __init__(self, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()):
        self._include = compile_prefixes(include)
        self._exclude = compile_prefixes(exclude)
        self._verdicts: dict[tuple, int] = {}

    @staticmethod
    def _matches(pattern: re.Pattern | None, texts: tuple[str, ...]) -> bool:
        return pattern is not None and any(text and pattern.search(text) for text in texts)

    def verdict(self, module: str | None, filename: str | None, abs_path: str | None) -> int:
        """INCLUDE, EXCLUDE, LIBRARY or UNDECIDED for a frame's module and paths (cached: stacks repeat)."""
        key = (module, filename, abs_path)
        verdict = self._verdicts.get(key)
        if verdict is None:
            texts = (_normal(module), _normal(filename), _normal(abs_path))
            if self._matches(self._include, texts):
                verdict = INCLUDE
            elif self._matches(self._exclude, texts):
                verdict = EXCLUDE
            elif filename in LIBRARY_FILENAMES or self._matches(_DEFAULTS, texts):
                verdict = LIBRARY
            else:
                verdict = UNDECIDED
            if len(self._verdicts) < _CACHE_SIZE:
                self._verdicts[key] = verdict
        return verdict

    def in_app(self, frame: dict, client_said: bool) -> bool:
        verdict = self.verdict(frame.get("module"), frame.get("filename"), frame.get("abs_path"))
        if verdict == INCLUDE:
            return True
        if verdict == EXCLUDE:
            return False
        if client_said and frame.get("in_app"):
            return True
        if verdict == LIBRARY:
            return False
        return bool(frame.get("in_app"))


@lru_cache(maxsize=256)
def rules_for(include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> InAppRules:
    """The compiled rules for one service's prefixes."""
    return InAppRules(include, exclude)


def apply_in_app(incoming: IncomingError, rules: InAppRules | None = None) -> None:
    """Mark every frame of the event in app or not by ``rules`` (the defaults alone when None)."""
    rules = rules or rules_for()
    client_said = incoming.client_in_app
    for exception in incoming.exceptions:
        for frame in exception.get("frames") or ():
            frame["in_app"] = rules.in_app(frame, client_said)
