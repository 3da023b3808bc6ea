"""Reading an artifact bundle: the zip ``sentry-cli sourcemaps upload`` builds (symbolic's source bundle:
an ``SYSB`` header, then a zip of ``manifest.json`` and ``files/...``).

The manifest maps each file's path in the zip to its ``type`` (``minified_source``, ``source_map``,
``source`` ...), ``url`` (``~/static/main.js``) and ``headers`` (``debug-id``, ``sourcemap``). Only
minified scripts and source maps are kept. A bundle is hostile until read: the number of entries and
the sizes are bounded before anything is decompressed, and every read stops at the bound.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

import orjson

from app.models import ARTIFACT_KINDS
from app.platform.refusal import Refused

MAX_BUNDLE_BYTES = 32 * 1024 * 1024
MAX_BUNDLE_ENTRIES = 2000
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 128 * 1024 * 1024
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_URL_CHARS = 1000
DEBUG_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class BundleRefused(Refused):
    """A bundle that is not kept: malformed, or over a limit (``status`` 413)."""


@dataclass
class BundleFile:
    kind: str
    url: str
    content: bytes
    debug_id: str | None = None
    sourcemap: str | None = None


@dataclass
class Bundle:
    files: list[BundleFile] = field(default_factory=list)
    bundle_id: str | None = None
    release: str | None = None
    dist: str | None = None


def normalise_debug_id(value) -> str | None:
    """A debug id as lower-case dashed UUID text (how frames' ``debug_meta`` will be looked up), or None."""
    if not isinstance(value, str) or not DEBUG_ID.match(value.strip()):
        return None
    digits = value.strip().replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _text(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _header(headers: dict, name: str):
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, never more than ``limit`` (a header may understate the size)."""
    with archive.open(info) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise BundleRefused(f"{info.filename!r} in the bundle is larger than {limit} bytes", "bundle", 413)
    return data


def read_bundle(data: bytes) -> Bundle:
    """The minified scripts and source maps of a bundle; BundleRefused when it is not one or is too big."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleRefused(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes", "bundle", 413)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise BundleRefused("the upload is not an artifact bundle (a zip file)", "bundle") from None
    with archive:
        if len(entries) > MAX_BUNDLE_ENTRIES:
            raise BundleRefused(f"the bundle has {len(entries)} entries; at most {MAX_BUNDLE_ENTRIES} are "
                                "accepted", "bundle", 413)
        declared = sum(info.file_size for info in entries)
        if declared > MAX_UNCOMPRESSED_BYTES:
            raise BundleRefused(f"the bundle unpacks to {declared} bytes; at most {MAX_UNCOMPRESSED_BYTES} are "
                                "accepted", "bundle", 413)
        by_name = {info.filename: info for info in entries}
        try:
            return _read(archive, by_name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError,
                OSError, ValueError) as exc:
            if isinstance(exc, Refused):
                raise
            raise BundleRefused(f"the bundle is damaged: {exc}", "bundle") from None


def _read(archive: zipfile.ZipFile, by_name: dict) -> Bundle:
    if "manifest.json" not in by_name:
        raise BundleRefused("the bundle has no manifest.json", "bundle")
    try:
        manifest = orjson.loads(_read_entry(archive, by_name["manifest.json"], MAX_MANIFEST_BYTES))
    except orjson.JSONDecodeError:
        raise BundleRefused("the bundle's manifest.json is not JSON", "bundle") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise BundleRefused("the bundle's manifest.json has no 'files' object", "bundle")
    bundle = Bundle(bundle_id=normalise_debug_id(manifest.get("debug_id")),
                    release=_text(manifest.get("release"), 128), dist=_text(manifest.get("dist"), 64))
    total = 0
    for path, entry in files.items():
        if not isinstance(entry, dict) or entry.get("type") not in ARTIFACT_KINDS:
            continue  # original sources and other kinds: the maps carry their contents
        url = _text(entry.get("url"), MAX_URL_CHARS + 1)
        if url is None or len(url) > MAX_URL_CHARS:
            raise BundleRefused(f"the manifest's entry {path[:200]!r} has no url, or one over {MAX_URL_CHARS} "
                                "characters", "bundle")
        info = by_name.get(path)
        if info is None:
            raise BundleRefused(f"the manifest names {path[:200]!r}, which the bundle does not hold", "bundle")
        content = _read_entry(archive, info, MAX_FILE_BYTES)
        total += len(content)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise BundleRefused(f"the bundle unpacks to more than {MAX_UNCOMPRESSED_BYTES} bytes", "bundle", 413)
        headers = entry.get("headers") if isinstance(entry.get("headers"), dict) else {}
        bundle.files.append(BundleFile(
            kind=entry["type"], url=url, content=content,
            debug_id=normalise_debug_id(_header(headers, "debug-id")),
            sourcemap=_text(_header(headers, "sourcemap"), MAX_URL_CHARS)))
    if not bundle.files:
        raise BundleRefused("the bundle holds no minified script or source map", "bundle")
    return bundle
