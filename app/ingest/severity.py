"""Severity: taken from the payload (with synonyms), else classified by configurable rules."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

# Reading a payload's severity is part of normalising it (app/ingest/incoming.py); re-exported here.
from app.ingest.incoming import SYNONYMS, IncomingError, normalise_severity

__all__ = ["DEFAULT_RULES", "SYNONYMS", "classify", "load_rules", "normalise_severity", "short_type"]

# The built-in rules; SEVERITY_RULES (JSON of the same shape) replaces any of the keys.
DEFAULT_RULES: dict[str, Any] = {
    # Exact exception type (the last dotted/backslashed part) → severity.
    "types": {
        "MemoryError": "critical", "OutOfMemoryError": "critical", "StackOverflowError": "critical",
        "RecursionError": "critical", "SystemError": "critical", "FatalError": "critical",
        "FatalErrorException": "critical", "SecurityException": "critical",
        "DatabaseError": "critical", "OperationalError": "critical", "PDOException": "critical",
        "SQLException": "critical", "CannotGetJdbcConnectionException": "critical",
        "ValidationError": "medium", "ValidationException": "medium", "ChunkLoadError": "medium",
        "NotFoundHttpException": "low", "Http404": "low", "NotFound": "low",
        "ModelNotFoundException": "low", "AuthenticationException": "low",
    },
    # A word in the type name → severity (checked after exact types).
    "type_contains": {"Timeout": "high", "Deadlock": "critical", "Connection": "high"},
    # HTTP status of the failed request.
    "status": {"5xx": "high", "4xx": "medium", "401": "low", "403": "low", "404": "low", "429": "medium"},
    # Otherwise by platform, then the default.
    "platform": {"javascript": "medium"},
    "default": "high",
}


@lru_cache(maxsize=8)
def load_rules(configured: str | None) -> dict[str, Any]:
    """The built-in rules with the keys of ``SEVERITY_RULES`` (JSON text) replacing theirs; raises
    RuntimeError naming the mistake when the setting is not valid."""
    rules = dict(DEFAULT_RULES)
    if configured:
        try:
            custom = json.loads(configured)
        except ValueError as exc:
            raise RuntimeError(f"SEVERITY_RULES is not valid JSON: {exc}") from exc
        if not isinstance(custom, dict):
            raise RuntimeError("SEVERITY_RULES must be a JSON object")
        rules.update(custom)
    return _checked(rules)


def _checked(rules: dict[str, Any]) -> dict[str, Any]:
    """Rules with every severity spelled our way; a typo fails loudly here, not as a 500 per event."""
    def severity_of(value: Any, where: str) -> str:
        mapped = SYNONYMS.get(value.strip().lower()) if isinstance(value, str) else None
        if mapped is None:
            raise RuntimeError(f"SEVERITY_RULES: {where} is {value!r}, not a severity")
        return mapped

    checked: dict[str, Any] = {}
    for key, value in rules.items():
        if key == "default":
            checked[key] = severity_of(value, "default")
        elif key in ("types", "type_contains", "status", "platform"):
            if not isinstance(value, dict):
                raise RuntimeError(f"SEVERITY_RULES: {key} must be an object")
            checked[key] = {str(name): severity_of(level, f"{key}.{name}") for name, level in value.items()}
        else:
            raise RuntimeError(f"SEVERITY_RULES: unknown key {key!r} (types, type_contains, status, platform, "
                               "default)")
    return checked


def short_type(error_type: str) -> str:
    for sep in ("\\", "."):
        error_type = error_type.rpartition(sep)[2] or error_type
    return error_type


def classify(incoming: IncomingError, rules: dict[str, Any] | None = None) -> str:
    """The payload's severity when it gave one, else the first rule that matches."""
    if incoming.severity:
        return incoming.severity
    rules = rules or DEFAULT_RULES
    name = short_type(incoming.error_type or "")
    if name in rules.get("types", {}):
        return rules["types"][name]
    for word, severity in rules.get("type_contains", {}).items():
        if word in name:
            return severity
    status = incoming.http_status
    if status is not None:
        by_status = rules.get("status", {})
        exact = by_status.get(str(status))
        if exact:
            return exact
        family = by_status.get(f"{status // 100}xx")
        if family:
            return family
    platform = (incoming.platform or "").lower()
    if platform in rules.get("platform", {}):
        return rules["platform"][platform]
    return rules.get("default", "high")
