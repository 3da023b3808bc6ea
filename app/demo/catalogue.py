"""The demo's catalogue, read from the JSON files in ``app/demo/data/``.

``services.json`` holds the six services (slug, name, platform, releases oldest first);
``team.json`` the people who look after them (phone numbers in the 555-01xx range, reserved for
fiction); ``context.json`` the end users (on 203.0.113.0/24, a documentation network), browsers and
devices the errors happen to; and one file per source (``python``, ``laravel``, ``java``,
``frontend``, ``mobile``) the distinct errors, each as the payload its source posts, stack traces
in the platform's native format, with ``{{name}}`` placeholders that vary from event to event.

The files are found next to this module, so the catalogue loads from a fresh clone wherever it
is run from.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent / "data"
# The order of the files is the order of the catalogue, which the seeded draws depend on.
SOURCE_FILES = ("python", "laravel", "java", "frontend", "mobile")


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    role: str
    services: tuple[str, ...]
    on_call: bool
    lead_of: tuple[str, ...] = ()
    max_load: int = 10
    phone: str | None = None


@dataclass(frozen=True)
class DemoError:
    """One distinct error: the payload its source posts, with ``{{name}}`` placeholders that vary
    from event to event (ids, users, URLs)."""

    key: str
    service: str
    source: str
    weight: int
    payload: dict = field(hash=False)


def _read(name: str):
    return json.loads((DIRECTORY / f"{name}.json").read_text(encoding="utf-8"))


def _errors() -> list[DemoError]:
    errors = []
    for name in SOURCE_FILES:
        data = _read(name)
        errors += [DemoError(e["key"], e["service"], data["source"], e["weight"], e["payload"])
                   for e in data["errors"]]
    return errors


# (slug, name, platform, releases oldest first)
SERVICES: list[tuple[str, str, str, list[str]]] = [
    (s["slug"], s["name"], s["platform"], s["releases"]) for s in _read("services")]
TEAM: list[Person] = [
    Person(**{**p, "services": tuple(p["services"]), "lead_of": tuple(p["lead_of"])}) for p in _read("team")]
_CONTEXT = _read("context")
END_USERS: list[dict] = _CONTEXT["end_users"]
USER_AGENTS: list[str] = _CONTEXT["user_agents"]
DEVICES: list[dict] = _CONTEXT["devices"]
CATALOGUE: list[DemoError] = _errors()
