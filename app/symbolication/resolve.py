"""Minified browser frames resolved to the original source with the service's uploaded source maps.

A frame is looked up by the debug id its script's URL has in the event's ``debug_meta.images``
(``{"type": "sourcemap", "code_file": <script URL>, "debug_id": ...}``, which @sentry/browser sends for
scripts that ``sentry-cli sourcemaps inject`` prepared), else by the event's release (and dist) and
the script's URL, for builds uploaded with ``--release`` and no debug ids. The frame then names the
original file, line, column and function, with context lines when the map carries the sources;
where the minified script put it stays in ``frame["minified"]``. A frame without a map is kept as it came.

Parsed maps are cached per process (cache.py), so a warm event costs a look-up per frame; an event
with no debug image and no release with artifacts costs nothing more than looking at its frames.
"""
from __future__ import annotations

import posixpath
import threading
import urllib.parse

from flask import current_app
from sqlalchemy import exists, select
from symbolic.sourcemap import SourceMapView, SourceView

from app.extensions import db
from app.ingest.incoming import IncomingError
from app.ingest.stacktraces.frames import MAX_STR
from app.models import ArtifactFile
from app.symbolication.bundles import normalise_debug_id
from app.symbolication.cache import MISSING, MapCache

CONTEXT_LINES = 5
MAX_IMAGES = 500
NOTHING_TTL = 30.0  # seconds an answer "nothing uploaded" is kept
RELEASE_TTL = 300.0  # release artifacts can be uploaded again under the same URL
SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")
RAW_KEYS = ("filename", "abs_path", "lineno", "colno", "function")
ANONYMOUS = (None, "", "?", "<anonymous>")
MAX_REMEMBERED_LOOKUPS = 4096  # per parsed map

class ParsedMap:
    """A source map and, when uploaded, the minified script it maps (for original function names)."""

    def __init__(self, sourcemap: bytes, minified: bytes | None):
        self.view = SourceMapView.from_json_bytes(sourcemap)
        self.minified = SourceView.from_bytes(minified) if minified else None
        # The map's bytes twice (the parsed map, and the sources split into lines for context).
        self.size = 2 * len(sourcemap) + len(minified or b"")
        self._lines: dict[int, list[str] | None] = {}
        self._tokens: dict[tuple, object] = {}
        self._lock = threading.Lock()  # request threads share a parsed map; its native calls take turns

    def lookup(self, line: int, column: int, name: str | None):
        """The map's token at a minified place (0-based), with the original function's name when the
        minified one is given. Remembered: the same error repeats the same places, and finding the
        name scans the minified script (a quarter of a millisecond in a 0.4 MB one-line bundle)."""
        key = (line, column, name)
        with self._lock:
            if key not in self._tokens:
                if len(self._tokens) >= MAX_REMEMBERED_LOOKUPS:
                    self._tokens.clear()
                self._tokens[key] = self.view.lookup(line, column, name, self.minified if name else None)
            return self._tokens[key]

    def source_lines(self, src_id: int) -> list[str] | None:
        """An original source's lines (from the map's ``sourcesContent``), split once and kept."""
        with self._lock:
            if src_id not in self._lines:
                contents = self.view.get_source_contents(src_id)
                self._lines[src_id] = contents.splitlines() if contents is not None else None
            return self._lines[src_id]


def cache() -> MapCache:
    """This app's cache of parsed maps (one per app, so each app of a process sees only its database)."""
    found = current_app.extensions.get("sourcemap_cache")
    if found is None:
        found = current_app.extensions.setdefault(
            "sourcemap_cache", MapCache(current_app.config.get("SOURCEMAP_CACHE_MB", 256) * 1024 * 1024))
    return found


def forget(service_id: int, debug_ids, release: str | None) -> None:
    """Drop what this process remembered as "nothing uploaded" for a service's new upload (other
    processes see it when their 30 seconds are over)."""
    entries = cache()
    for debug_id in debug_ids:
        entries.discard(("debug", service_id, debug_id))
    if release:
        entries.discard(("release?", service_id, release))
        entries.discard_where(lambda key: key[0] == "release" and key[1:3] == (service_id, release))


def sourcemap_images(debug_meta) -> dict[str, str]:
    """Script URL -> debug id, from an event's ``debug_meta`` (other image types are ignored)."""
    images = debug_meta.get("images") if isinstance(debug_meta, dict) else None
    found: dict[str, str] = {}
    for image in (images if isinstance(images, list) else [])[:MAX_IMAGES]:
        if not isinstance(image, dict) or image.get("type") != "sourcemap":
            continue
        url, debug_id = image.get("code_file"), normalise_debug_id(image.get("debug_id"))
        if isinstance(url, str) and url and debug_id:
            found[url] = debug_id
    return found


def _script_url(frame: dict) -> str | None:
    url = frame.get("abs_path") or frame.get("filename")
    return url if isinstance(url, str) and url else None


def _looks_like_script(url: str) -> bool:
    path = urllib.parse.urlsplit(url).path if "://" in url else url
    return url.startswith(("http://", "https://")) or path.endswith(SCRIPT_SUFFIXES)


def resolve_event(incoming: IncomingError, debug_meta=None) -> int:
    """Resolve the event's minified frames in place; the number of frames resolved."""
    frames = [f for e in incoming.exceptions for f in e.get("frames") or ()
              if f.get("lineno") and f.get("colno") is not None and _script_url(f)]
    if not frames:
        return 0
    images = sourcemap_images(debug_meta)
    release = incoming.release
    if not images and not release:
        return 0
    dist = incoming.extra.get("dist") if isinstance(incoming.extra.get("dist"), str) else None
    by_release = None  # asked once, for the first frame its script's debug id does not resolve
    resolved = 0
    for frame in frames:
        url = _script_url(frame)
        parsed = _by_debug_id(incoming.service_id, images[url]) if url in images else None
        if parsed is None and release and _looks_like_script(url):
            if by_release is None:
                by_release = _has_release_artifacts(incoming.service_id, release)
            if by_release:
                parsed = _by_release(incoming.service_id, release, dist, url)
        if parsed is not None and _apply(frame, parsed):
            resolved += 1
    return resolved


def _apply(frame: dict, parsed: ParsedMap) -> bool:
    # An anonymous function's frame stays anonymous: without a minified name to look for, the map's
    # guess would be the name of the function it calls.
    name = frame.get("function") if frame.get("function") not in ANONYMOUS else None
    try:
        token = parsed.lookup(frame["lineno"] - 1, max(frame["colno"] - 1, 0), name)
    except Exception:  # a map that parses but cannot answer: the frame stays as it came
        return False
    if token is None or not token.src:
        return False
    frame["minified"] = {key: frame.get(key) for key in RAW_KEYS}
    frame["abs_path"] = token.src[:MAX_STR]
    frame["filename"] = source_path(token.src)[:MAX_STR]
    frame["lineno"], frame["colno"] = token.src_line + 1, token.src_col + 1
    function = (token.function_name if name else None) or name
    frame["function"] = function[:MAX_STR] if function else None
    if "node_modules/" in token.src:
        frame["in_app"] = False
    frame["pre_context"] = frame["context_line"] = frame["post_context"] = None
    lines = parsed.source_lines(token.src_id) if token.src_id is not None else None
    if lines and token.src_line < len(lines):
        line = token.src_line
        frame["context_line"] = lines[line][:MAX_STR]
        frame["pre_context"] = [text[:MAX_STR] for text in lines[max(0, line - CONTEXT_LINES):line]]
        frame["post_context"] = [text[:MAX_STR] for text in lines[line + 1:line + 1 + CONTEXT_LINES]]
    return True


def source_path(src: str) -> str:
    """An original source as a stable path: ``webpack://shop/./src/cart.js`` and ``../src/cart.js`` are
    ``src/cart.js``-like, without the bundler's scheme and the climb out of the build folder."""
    for prefix in ("webpack:///", "webpack://", "file://", "vite://", "ng://"):
        if src.startswith(prefix):
            src = src[len(prefix):]
            break
    path = posixpath.normpath(src) if src else src
    while path.startswith("../"):
        path = path[3:]
    return path.lstrip("/") if path not in ("", ".") else src


# --- finding the stored files, cached ------------------------------------------------------------

def _has_release_artifacts(service_id: int, release: str) -> bool:
    key = ("release?", service_id, release)
    known = cache().get(key)
    if known is MISSING:
        with db.engine.connect() as connection:  # see _content
            known = connection.execute(select(exists().where(
                ArtifactFile.service_id == service_id, ArtifactFile.release == release))).scalar()
        cache().put(key, known, ttl=NOTHING_TTL)
    return bool(known)


def _parsed(key, load) -> ParsedMap | None:
    found = cache().get(key)
    if found is not MISSING:
        return found
    sourcemap, minified = load()
    parsed = None
    if sourcemap is not None:
        try:
            parsed = ParsedMap(sourcemap, minified)
        except Exception:  # an uploaded file that is not a source map: remembered as nothing
            parsed = None
    if parsed is None:
        cache().put(key, None, ttl=NOTHING_TTL)
    else:
        cache().put(key, parsed, parsed.size, ttl=RELEASE_TTL if key[0] == "release" else None)
    return parsed


def _content(*conditions):
    """The newest stored file matching ``conditions``: (its content, its row with debug_id, url and
    sourcemap), or (None, None). On a connection of its own, given back at once: these run in the
    request's thread, and through the request's session the connection would stay checked out while
    the request waits for the group-commit writer (as the ingest key lookup, app/recording/keys.py)."""
    with db.engine.connect() as connection:
        row = connection.execute(
            select(ArtifactFile.content, ArtifactFile.debug_id, ArtifactFile.url, ArtifactFile.sourcemap)
            .where(*conditions).order_by(ArtifactFile.id.desc()).limit(1)).one_or_none()
    return (row.content, row) if row is not None else (None, None)


def _by_debug_id(service_id: int, debug_id: str) -> ParsedMap | None:
    def load():
        sourcemap, _ = _content(ArtifactFile.service_id == service_id, ArtifactFile.debug_id == debug_id,
                                ArtifactFile.kind == "source_map")
        if sourcemap is None:
            return None, None
        minified, _ = _content(ArtifactFile.service_id == service_id, ArtifactFile.debug_id == debug_id,
                               ArtifactFile.kind == "minified_source")
        return sourcemap, minified

    return _parsed(("debug", service_id, debug_id), load)


def release_urls(url: str) -> list[str]:
    """The manifest URLs a script URL may have been uploaded as: itself and ``~/<path>`` (any host)."""
    parts = urllib.parse.urlsplit(url)
    bare = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return list(dict.fromkeys([url, bare, "~" + parts.path] if parts.path.startswith("/") else [url, bare]))


def _by_release(service_id: int, release: str, dist: str | None, url: str) -> ParsedMap | None:
    def load():
        common = (ArtifactFile.service_id == service_id, ArtifactFile.release == release,
                  (ArtifactFile.dist == dist) if dist else ArtifactFile.dist.is_(None))
        minified, script = _content(*common, ArtifactFile.kind == "minified_source",
                                    ArtifactFile.url.in_(release_urls(url)))
        if script is not None and script.debug_id:  # uploaded with its release and a debug id
            sourcemap, _ = _content(ArtifactFile.service_id == service_id, ArtifactFile.debug_id == script.debug_id,
                                    ArtifactFile.kind == "source_map")
            if sourcemap is not None:
                return sourcemap, minified
        map_urls = [u + ".map" for u in release_urls(url)]
        if script is not None:
            reference = script.sourcemap or sourcemap_reference(minified)
            if reference:
                map_urls.insert(0, reference if reference.startswith("~")
                                else urllib.parse.urljoin(script.url, reference))
        sourcemap, _ = _content(*common, ArtifactFile.kind == "source_map", ArtifactFile.url.in_(map_urls))
        return sourcemap, minified

    return _parsed(("release", service_id, release, dist, url), load)


def sourcemap_reference(minified: bytes | None) -> str | None:
    """The ``//# sourceMappingURL=`` a minified script ends with, if any (data: URLs are not followed)."""
    if not minified:
        return None
    tail = minified[-2048:].decode("utf-8", "replace")
    for line in reversed(tail.splitlines()):
        line = line.strip()
        if line.startswith(("//# sourceMappingURL=", "//@ sourceMappingURL=")):
            reference = line.split("=", 1)[1].strip()
            return None if reference.startswith("data:") else reference[:1000]
    return None
