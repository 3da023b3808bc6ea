"""A service's ingest settings: its data scrubbing (app/ingest/scrubbing.py) and in-app rules
(app/ingest/in_app.py), stored as one JSON object on the service and carried by its IngestService.

:func:`parse_settings` is the one validator, used by the JSON API and the dashboard's form alike;
:func:`stored_settings` reads what the column holds without refusing anything.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.ingest.in_app import InAppRules, rules_for
from app.ingest.incoming import InvalidPayload
from app.ingest.scrubbing import Scrubber, scrubber_for

MAX_ENTRIES = 50
MAX_ENTRY_CHARS = 100
LIST_FIELDS = ("sensitive_fields", "safe_fields", "in_app_include", "in_app_exclude")
FIELDS = ("scrub_data", *LIST_FIELDS)


@dataclass(frozen=True)
class IngestSettings:
    """``scrub_data``: scrubbing on (the default); ``sensitive_fields``: keys scrubbed besides the defaults;
    ``safe_fields``: keys never scrubbed; ``in_app_include`` / ``in_app_exclude``: prefixes of modules,
    packages, namespaces or paths whose frames are (not) the service's own."""

    scrub_data: bool = True
    sensitive_fields: tuple[str, ...] = ()
    safe_fields: tuple[str, ...] = ()
    in_app_include: tuple[str, ...] = ()
    in_app_exclude: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @property
    def scrubber(self) -> Scrubber:
        return scrubber_for(self.scrub_data, self.sensitive_fields, self.safe_fields)

    @property
    def in_app_rules(self) -> InAppRules:
        return rules_for(self.in_app_include, self.in_app_exclude)


DEFAULT_SETTINGS = IngestSettings()


def _entries(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidPayload(f"'{name}' must be a list of strings", name)
    if len(value) > MAX_ENTRIES:
        raise InvalidPayload(f"'{name}' takes at most {MAX_ENTRIES} entries, not {len(value)}", name)
    entries: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidPayload(f"'{name}[{index}]' must be a string", f"{name}[{index}]")
        text = item.strip()
        if not text:
            raise InvalidPayload(f"'{name}[{index}]' is empty", f"{name}[{index}]")
        if len(text) > MAX_ENTRY_CHARS:
            raise InvalidPayload(f"'{name}[{index}]' is longer than {MAX_ENTRY_CHARS} characters",
                                 f"{name}[{index}]")
        if not text.isprintable():
            raise InvalidPayload(f"'{name}[{index}]' contains control characters", f"{name}[{index}]")
        if text not in entries:
            entries.append(text)
    return tuple(entries)


def parse_settings(data: Any, current: IngestSettings = DEFAULT_SETTINGS) -> IngestSettings:
    """``current`` with the fields ``data`` gives (an object; absent fields are kept, null clears a list);
    InvalidPayload names the offending field."""
    if not isinstance(data, dict):
        raise InvalidPayload("'ingest_settings' must be an object", "ingest_settings")
    unknown = sorted(str(key) for key in data if key not in FIELDS)
    if unknown:
        raise InvalidPayload(f"unknown ingest setting '{unknown[0]}'; the settings are {', '.join(FIELDS)}",
                             unknown[0])
    values = asdict(current)
    if "scrub_data" in data:
        if not isinstance(data["scrub_data"], bool):
            raise InvalidPayload("'scrub_data' must be true or false", "scrub_data")
        values["scrub_data"] = data["scrub_data"]
    for name in LIST_FIELDS:
        if name in data:
            values[name] = _entries(data[name], name)
    return IngestSettings(**values)


def lines(text: str | None) -> list[str]:
    """A form's textarea as a list of entries: one per line (commas separate too), blanks dropped."""
    return [part.strip() for line in (text or "").splitlines() for part in line.split(",") if part.strip()]


def stored_settings(value: Any) -> IngestSettings:
    """The settings a service's column holds (None or anything unreadable: the defaults)."""
    if not isinstance(value, dict):
        return DEFAULT_SETTINGS
    try:
        return parse_settings({k: v for k, v in value.items() if k in FIELDS})
    except InvalidPayload:
        return DEFAULT_SETTINGS
