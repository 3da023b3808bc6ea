"""The search language of the error list (the API's ``q`` and the dashboard's search box).

A query is terms separated by spaces, all of which must hold (docs/search.md):

    is:unresolved severity:>=high env:production user:ada@example.com browser:Firefox
    -release:1.2.0 message:"connection reset" "read timed out" timeout

``parse_search`` reads the text into terms (raising ``SearchError`` naming the bad term) and
``search_conditions`` turns them into SQL conditions on ``error_logs``. What an error was seen with
(environments, releases, servers, users, tags) is asked of ``error_facets``, kept at ingest
(app/recording/facets.py), through EXISTS: an error matches ``env:production`` when any of its events
came from production, not only its last one.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, not_, or_, select

from app.extensions import db
from app.models import OPEN_STATUSES, SEVERITIES, SEVERITY_LEVEL, Developer, ErrorFacet, ErrorLog, Service
from app.platform.refusal import Refused
from app.platform.sql import contains_ci
from app.triage.snoozed import snoozed_clause

MAX_QUERY = 500
MAX_TERMS = 20
MAX_VALUE = 200
MAX_KEY = 64  # a tag's key is cut to this at ingest (app/ingest/incoming.py)

# is: terms. The status ones replace a list's default status filter (the dashboard's "open", which leaves
# snoozed errors out); ``is:snoozed`` is snoozed errors (app/triage/snoozed.py), whatever their status.
STATUS_TERMS = {"unresolved": OPEN_STATUSES, "resolved": ("resolved",), "ignored": ("ignored",), "snoozed": None}
ASSIGNMENT_TERMS = ("assigned", "unassigned")
# Keys of error_facets a term asks directly; any other key is a tag (``t.<key>``).
FACET_KEYS = {"env": ("environment",), "environment": ("environment",), "release": ("release",),
              "server": ("server",), "user": ("user.id", "user.email"), "user.id": ("user.id",),
              "user.email": ("user.email",), "user.ip_address": ("user.ip_address",), "user.ip": ("user.ip_address",)}
TEXT_KEYS = {"message": (ErrorLog.message,), "type": (ErrorLog.error_type,), "culprit": (ErrorLog.culprit,)}
SEVERITY_KEYS = ("severity", "level")
COMPARISONS = (">=", "<=", ">", "<")
KEY_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@/")


class SearchError(Refused):
    """A query that cannot be read; the message names the term."""

    def __init__(self, message: str):
        super().__init__(message, "q")


@dataclass(frozen=True)
class Term:
    """One term: ``key`` None for free text; ``text`` as written, for messages."""

    key: str | None
    value: str
    negated: bool
    text: str


def _read_quoted(q: str, start: int, term_start: int) -> tuple[str, int]:
    """The phrase opened by the quote at ``start``; a backslash keeps the next character."""
    out, i = [], start + 1
    while i < len(q):
        char = q[i]
        if char == "\\" and i + 1 < len(q):
            out.append(q[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise SearchError(f"unclosed quote in {q[term_start:]!r}")


def _is_key(text: str) -> bool:
    return bool(text) and all(char in KEY_CHARACTERS for char in text)


def parse_search(q: str | None) -> list[Term]:
    """The terms of a query, in order; raises SearchError naming the term that cannot be read."""
    q = (q or "").replace("\x00", "")
    if len(q) > MAX_QUERY:
        raise SearchError(f"the search is {len(q)} characters long; at most {MAX_QUERY}")
    terms: list[Term] = []
    i, n = 0, len(q)
    while i < n:
        if q[i].isspace():
            i += 1
            continue
        start = i
        negated = q[i] in "!-" and i + 1 < n and not q[i + 1].isspace()
        if negated:
            i += 1
        if q[i] == '"':
            value, i = _read_quoted(q, i, start)
            key = None
        else:
            word_start = i
            while i < n and not q[i].isspace() and q[i] not in ':"':
                i += 1
            word = q[word_start:i]
            if i < n and q[i] == ":" and _is_key(word):
                key = word.lower() if word.lower() in _KNOWN_KEYS else word
                i += 1
                if i < n and q[i] == '"':
                    value, i = _read_quoted(q, i, start)
                else:
                    value_start = i
                    while i < n and not q[i].isspace():
                        i += 1
                    value = q[value_start:i]
                if not value.strip():
                    raise SearchError(f"{q[start:i]!r} has no value (write {word}:value, or quote "
                                      "text with a colon)")
                if len(word) > MAX_KEY:
                    raise SearchError(f"the key of {q[start:i][:80]!r} is {len(word)} characters long; "
                                      f"at most {MAX_KEY}")
            else:  # a word, or text with a colon that is not key:value (a URL's "https://...")
                key = None
                while i < n and not q[i].isspace():
                    i += 1
                value = q[word_start:i]
        text = q[start:i]
        if len(value) > MAX_VALUE:
            raise SearchError(f"{text[:40]!r}… is {len(value)} characters long; at most {MAX_VALUE} per value")
        terms.append(Term(key, value, negated, text))
        if len(terms) > MAX_TERMS:
            raise SearchError(f"the search has more than {MAX_TERMS} terms (from {text!r} on)")
    for term in terms:
        _check(term)
    return terms


_KNOWN_KEYS = frozenset({"is", "service", "assigned", *SEVERITY_KEYS, *FACET_KEYS, *TEXT_KEYS})


def _check(term: Term) -> None:
    if term.key == "is" and term.value.lower() not in (*STATUS_TERMS, *ASSIGNMENT_TERMS):
        raise SearchError(f"{term.text!r}: is: takes {', '.join((*STATUS_TERMS, *ASSIGNMENT_TERMS))}")
    if term.key in SEVERITY_KEYS:
        _severity_levels(term)


def sets_status(terms: list[Term]) -> bool:
    """Whether the terms choose statuses themselves (an ``is:`` status term): a list's default
    status filter then does not apply."""
    return any(t.key == "is" and t.value.lower() in STATUS_TERMS for t in terms)


def _severity_levels(term: Term) -> list[int]:
    value = term.value.lower()
    for operator in COMPARISONS:
        if value.startswith(operator):
            name = value[len(operator):]
            if name not in SEVERITY_LEVEL:
                break
            level = SEVERITY_LEVEL[name]
            return [lv for lv in SEVERITY_LEVEL.values() if {
                ">=": lv >= level, "<=": lv <= level, ">": lv > level, "<": lv < level}[operator]]
    else:
        names = [part for part in value.split(",") if part]
        if names and all(name in SEVERITY_LEVEL for name in names):
            return sorted({SEVERITY_LEVEL[name] for name in names})
    raise SearchError(f"{term.text!r}: severity must be among {', '.join(SEVERITIES)}, a comma-separated list "
                      "of them, or >=, >, <=, < and one of them")


def _facet(keys: tuple[str, ...], value: str):
    """Errors seen with ``value`` under one of ``keys``: a semi-join on error_facets' (key, value, error_id)."""
    key_condition = ErrorFacet.key == keys[0] if len(keys) == 1 else ErrorFacet.key.in_(keys)
    return exists(select(ErrorFacet.error_id).where(
        key_condition, ErrorFacet.value == value, ErrorFacet.error_id == ErrorLog.id))


def _text(columns, value: str):
    # A NULL column (no culprit) must count as not matching, never as unknown: NOT (unknown) would drop
    # the error from a negated term too.
    return or_(*(contains_ci(column, value) if not column.nullable
                 else and_(column.is_not(None), contains_ci(column, value)) for column in columns))


def service_id(token: str) -> int | None:
    """A service named by its id or its slug (the list's ``service`` parameter and ``service:``)."""
    if token.isdigit():
        return int(token)
    return db.session.execute(select(Service.id).where(Service.slug == token)).scalar()


def _service_ids(term: Term) -> list[int]:
    ids = []
    for token in (part.strip() for part in term.value.split(",")):
        if token:
            found = service_id(token)
            if found is None:
                raise SearchError(f"{term.text!r}: unknown service {token!r}")
            ids.append(found)
    return ids


def _assignee(term: Term, current_developer_id: int | None):
    value = term.value
    if value.lower() == "me":
        if current_developer_id is None:
            raise SearchError(f"{term.text!r}: nobody is signed in")
        return _assigned_to(current_developer_id)
    if value.lower() in ("none", "nobody"):
        return ErrorLog.assigned_to_id.is_(None)
    developer_id = db.session.execute(
        select(Developer.id).where(Developer.email == value.lower())).scalar()
    if developer_id is None:
        raise SearchError(f"{term.text!r}: no developer with the e-mail {value!r} (or write assigned:me)")
    return _assigned_to(developer_id)


def _assigned_to(developer_id: int):
    # False, not unknown, for an unassigned error, so that -assigned:... keeps it.
    return and_(ErrorLog.assigned_to_id.is_not(None), ErrorLog.assigned_to_id == developer_id)


def _condition(term: Term, current_developer_id: int | None):
    key, value = term.key, term.value
    if key is None:
        return _text((ErrorLog.error_type, ErrorLog.message, ErrorLog.culprit), value)
    if key == "is":
        word = value.lower()
        if word == "assigned":
            return ErrorLog.assigned_to_id.is_not(None)
        if word == "unassigned":
            return ErrorLog.assigned_to_id.is_(None)
        statuses = STATUS_TERMS[word]
        return ErrorLog.status.in_(statuses) if statuses is not None else snoozed_clause()
    if key in SEVERITY_KEYS:
        # The level, not the name: it is the indexed column (and always agrees with the name).
        return ErrorLog.severity_level.in_(_severity_levels(term))
    if key == "service":
        return ErrorLog.service_id.in_(_service_ids(term))
    if key == "assigned":
        return _assignee(term, current_developer_id)
    if key in TEXT_KEYS:
        return _text(TEXT_KEYS[key], value)
    if key in FACET_KEYS:
        return _facet(FACET_KEYS[key], value)
    return _facet((f"t.{key}",), value)


def search_conditions(terms: list[Term], *, current_developer_id: int | None = None) -> list:
    """SQL conditions on error_logs, one per term (the caller ANDs them); raises SearchError for a term
    that names something unknown (a service, a developer's e-mail)."""
    conditions = []
    for term in terms:
        condition = _condition(term, current_developer_id)
        conditions.append(not_(condition) if term.negated else condition)
    return conditions


def environment_condition(value: str):
    """The list's ``environment`` parameter: as ``env:value``."""
    return _facet(FACET_KEYS["env"], value)

