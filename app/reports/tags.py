"""An error's tag breakdowns and affected users, read from its facets (app/recording/facets.py).

A breakdown is one key (environment, release, server, browser, os, or a tag: ``t.<name>``) with the values
its events were seen with, each with its count of events and its share of the key's events (those that had
the key at all). The users are the ``user`` facets (id, else e-mail, else address); their number is the
error's ``users_count``, kept at ingest. The user's own fields (``user.id`` ...) are not breakdowns.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import ErrorFacet, ErrorLog
from app.recording import facets
from app.platform.refusal import Refused

TOP_VALUES = 5
# Built-in keys first, in this order; tags after them by name.
BUILT_IN = ("environment", "release", "server", "browser", "os")
USER_KINDS = {"id": "id", "email": "e-mail", "ip": "address"}


class TagError(Refused):
    """A tag key that the error does not have."""


def _is_breakdown():
    return or_(ErrorFacet.key.in_(BUILT_IN), ErrorFacet.key.startswith("t."))


def label(key: str) -> str:
    """What a key is called on the page: a tag by its own name."""
    return key[2:] if key.startswith("t.") else key


def breakdown(error: ErrorLog, top: int = TOP_VALUES) -> list[dict]:
    """Every key of the error with its ``top`` values, in one query: ``{"key", "name", "total", "values"
    (distinct), "top": [{"value", "count", "share"}]}``."""
    f = ErrorFacet
    ranked = (select(f.key, f.value, f.events,
                     func.row_number().over(partition_by=f.key, order_by=(f.events.desc(), f.value)).label("rank"),
                     func.sum(f.events).over(partition_by=f.key).label("total"),
                     func.count().over(partition_by=f.key).label("distinct"))
              .where(f.error_id == error.id, _is_breakdown()).subquery())
    rows = db.session.execute(select(ranked).where(ranked.c.rank <= top)
                              .order_by(ranked.c.key, ranked.c.rank)).all()
    keys: dict[str, dict] = {}
    for row in rows:
        entry = keys.setdefault(row.key, {"key": row.key, "name": label(row.key), "total": int(row.total),
                                          "values": int(row.distinct), "top": []})
        entry["top"].append(_value(row.value, row.events, entry["total"]))
    order = {key: position for position, key in enumerate(BUILT_IN)}
    return sorted(keys.values(), key=lambda k: (order.get(k["key"], len(order)), k["name"]))


def key_values(error: ErrorLog, key: str, page: int, per_page: int) -> dict:
    """One key's values, most seen first, a page of them: ``{"key", "name", "total", "values", "items"}``.
    Raises TagError (404) for a key the error has no values of."""
    f = ErrorFacet
    if not (key in BUILT_IN or key.startswith("t.")):
        raise TagError(f"no tag key {key[:80]!r}: environment, release, server, browser, os or t.<tag>", "key",
                       status=404)
    total, distinct = db.session.execute(select(func.coalesce(func.sum(f.events), 0), func.count())
                                         .where(f.error_id == error.id, f.key == key)).one()
    if not distinct:
        raise TagError(f"the error has no values of {key[:80]!r}", "key", status=404)
    rows = db.session.execute(select(f.value, f.events).where(f.error_id == error.id, f.key == key)
                              .order_by(f.events.desc(), f.value).offset((page - 1) * per_page).limit(per_page)).all()
    return {"key": key, "name": label(key), "total": int(total), "values": int(distinct),
            "items": [_value(value, events, int(total)) for value, events in rows]}


def affected_users(error: ErrorLog, limit: int = 10) -> list[dict]:
    """The error's users who saw it most: ``{"kind" (id, e-mail, address), "value", "count", "share"}``."""
    f = ErrorFacet
    rows = db.session.execute(select(f.value, f.events).where(f.error_id == error.id, f.key == facets.USER)
                              .order_by(f.events.desc(), f.value).limit(limit)).all()
    total = db.session.execute(select(func.coalesce(func.sum(f.events), 0))
                               .where(f.error_id == error.id, f.key == facets.USER)).scalar_one()
    users = []
    for value, events in rows:
        kind, _, shown = value.partition(":")
        users.append({"kind": USER_KINDS.get(kind, kind), **_value(shown, events, int(total))})
    return users


def _value(value: str, events: int, total: int) -> dict:
    return {"value": value, "count": int(events), "share": round(events / total, 4) if total else 0.0}

