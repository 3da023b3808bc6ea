"""Merging errors of one service into one, and the unmerge: the one owner of what a merge is.

A merge moves the errors' events, counts and facets into the target, and keeps each merged error's row,
pointed at the target (``merged_into_id``) and out of sight (kind ``merged``, status ``ignored``, nobody
assigned: no list, count, workload or sweep sees it twice); its fingerprint still leads to that row, and the
ingest writer follows the pointer in its batch (app/recording/record.py), so a new event of either
fingerprint lands in the target. An error never merged costs ingest nothing: the pointer comes back with the
upsert the writer makes anyway. Merging an error that others were merged into brings them along (a merge is
never more than one step).

The unmerge gives each merged error back its events (by the fingerprint each event was stored with), its
kind, status and assignee as they were before the merge (``error_merges``), its counts (its row kept
counting) and its facets, rebuilt from its events, as the target's are. Both are audited on the target and
on each merged error. The JSON API and the dashboard (the list's bulk action, the error page) call these.
"""
from __future__ import annotations

from sqlalchemy import String, case, delete, func, literal, select, update

from app.extensions import db
from app.models import MERGED_KIND, Developer, ErrorFacet, ErrorHourlyCount, ErrorLog, ErrorMerge, ErrorOccurrence
from app.platform.audit import record_audit
from app.platform.sql import dialect_insert
from app.recording import facets, rollups
from app.triage import permissions
from app.triage.changes import TriageError

MAX_MERGED = 100  # errors merged in one go
FACETS = ErrorFacet.__table__


def _check_permission(actor: Developer | None, errors: list[ErrorLog]) -> None:
    if actor is not None and not permissions.can_merge(actor, errors):
        raise TriageError("some of these errors are assigned to someone else; ask a lead to merge them", status=403)


def merge_errors(target: ErrorLog, sources: list[ErrorLog], actor: Developer | None) -> list[ErrorLog]:
    """Merge ``sources`` (errors of the target's service) into ``target`` and commit; returns them.
    Raises TriageError naming ``error_ids`` for a bad choice (400), 403 for a role that may not, 409 when
    an error is merged already."""
    sources = list({s.id: s for s in sources}.values())
    if not sources:
        raise TriageError("choose at least one error to merge into this one", "error_ids")
    if len(sources) > MAX_MERGED:
        raise TriageError(f"at most {MAX_MERGED} errors are merged at once", "error_ids")
    if target.merged_into_id is not None:
        raise TriageError(f"this error is merged into {target.merged_into_id}; merge into that one", status=409)
    for source in sources:
        if source.id == target.id:
            raise TriageError("an error cannot be merged into itself", "error_ids")
        if source.service_id != target.service_id:
            raise TriageError(f"error {source.id} belongs to another service; only errors of one service merge",
                              "error_ids")
        if source.merged_into_id is not None:
            raise TriageError(f"error {source.id} is merged into {source.merged_into_id} already", "error_ids",
                              status=409)
        if source.kind != target.kind:
            raise TriageError(f"error {source.id} is a {source.kind} report, this one a {target.kind}", "error_ids")
    _check_permission(actor, [target, *sources])

    ids = [s.id for s in sources]
    db.session.execute(update(ErrorOccurrence).where(ErrorOccurrence.error_id.in_(ids))
                       .values(error_id=target.id).execution_options(synchronize_session=False))
    _move_facets(ids, target.id)
    _move_hourly_counts(ids, target.id)
    # Errors merged into these before now lead to the target itself.
    db.session.execute(update(ErrorLog).where(ErrorLog.merged_into_id.in_(ids))
                       .values(merged_into_id=target.id).execution_options(synchronize_session=False))
    target.occurrence_count += sum(s.occurrence_count or 0 for s in sources)
    target.first_seen = min([target.first_seen, *(s.first_seen for s in sources)])
    target.last_seen = max([target.last_seen, *(s.last_seen for s in sources)])
    gravest = max(sources, key=lambda s: s.severity_level)
    if gravest.severity_level > target.severity_level:  # the merged error's own severity, not a rise
        target.severity, target.severity_level = gravest.severity, gravest.severity_level
    target.users_count = _users_of(target.id)
    for source in sources:
        db.session.add(ErrorMerge(source_id=source.id, merged_by_id=actor.id if actor else None,
                                  previous_kind=source.kind, previous_status=source.status,
                                  previous_assigned_to_id=source.assigned_to_id))
        source.merged_into_id = target.id
        source.kind, source.status, source.assigned_to_id = MERGED_KIND, "ignored", None
        record_audit(actor, "error.merged_into", "error", source.id, error_id=source.id,
                     details={"into": target.id})
    record_audit(actor, "error.merged", "error", target.id, error_id=target.id,
                 details={"errors": [_summary(s) for s in sources]})
    db.session.commit()
    return sources


def unmerge_error(target: ErrorLog, actor: Developer | None, source_ids: list[str] | None = None) -> list[ErrorLog]:
    """Give the errors merged into ``target`` (all, or those of ``source_ids``) back their events, state,
    counts and facets, and commit; returns them."""
    stmt = select(ErrorLog).where(ErrorLog.merged_into_id == target.id).order_by(ErrorLog.id)
    if source_ids is not None:
        stmt = stmt.where(ErrorLog.id.in_(source_ids))
    sources = list(db.session.execute(stmt).scalars())
    if source_ids is not None and len(sources) < len(set(source_ids)):
        missing = sorted(set(source_ids) - {s.id for s in sources})[0]
        raise TriageError(f"error {missing[:40]} is not merged into this one", "error_ids")
    if not sources:
        raise TriageError("no error is merged into this one", status=409)
    _check_permission(actor, [target, *sources])

    previous = {m.source_id: m for m in db.session.execute(
        select(ErrorMerge).where(ErrorMerge.source_id.in_([s.id for s in sources]))).scalars()}
    for source in sources:
        db.session.execute(update(ErrorOccurrence)
                           .where(ErrorOccurrence.error_id == target.id, ErrorOccurrence.fingerprint == source.fingerprint)
                           .values(error_id=source.id).execution_options(synchronize_session=False))
        state = previous.get(source.id)
        source.merged_into_id = None
        source.kind = state.previous_kind if state else target.kind
        source.status = state.previous_status if state else "new"
        source.assigned_to_id = state.previous_assigned_to_id if state else None
        if state is not None:
            db.session.delete(state)
        target.occurrence_count -= source.occurrence_count or 0
        record_audit(actor, "error.unmerged_from", "error", source.id, error_id=source.id,
                     details={"from": target.id})
    remaining, first, last = db.session.execute(
        select(func.count(), func.min(ErrorOccurrence.timestamp), func.max(ErrorOccurrence.timestamp))
        .where(ErrorOccurrence.error_id == target.id)).one()
    target.occurrence_count = max(target.occurrence_count, remaining, 1)
    if remaining:
        target.first_seen, target.last_seen = first, last
    record_audit(actor, "error.unmerged", "error", target.id, error_id=target.id,
                 details={"errors": [_summary(s) for s in sources]})
    db.session.flush()
    facets.rebuild(db.session.connection(), [target.id, *(s.id for s in sources)])
    rollups.rebuild_errors(db.session.connection(), [target.id, *(s.id for s in sources)])
    db.session.commit()
    for error in (target, *sources):
        db.session.refresh(error)
    return sources


def merged_from(error: ErrorLog) -> list[ErrorLog]:
    """The errors merged into this one, oldest first."""
    return list(db.session.execute(select(ErrorLog).where(ErrorLog.merged_into_id == error.id)
                                   .order_by(ErrorLog.first_seen, ErrorLog.id)).scalars())


def _summary(error: ErrorLog) -> dict:
    return {"id": error.id, "error_type": error.error_type[:255], "fingerprint": error.fingerprint,
            "occurrence_count": error.occurrence_count}


def _users_of(error_id: str) -> int:
    return db.session.execute(select(func.count()).select_from(ErrorFacet)
                              .where(ErrorFacet.error_id == error_id, ErrorFacet.key == facets.USER)).scalar_one()


def _move_facets(source_ids: list[str], target_id: str) -> None:
    """The merged errors' facets added to the target's (counts summed, first and last seen widened)."""
    columns = FACETS.c
    summed = (select(literal(target_id, String(36)), columns.key, columns.value, func.sum(columns.events),
                     func.min(columns.first_seen), func.max(columns.last_seen))
              .where(columns.error_id.in_(source_ids)).group_by(columns.key, columns.value))
    insert = dialect_insert()(FACETS).from_select(["error_id", "key", "value", "events", "first_seen", "last_seen"],
                                                  summed)
    new = insert.excluded
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["error_id", "key", "value"],
        set_={"events": columns.events + new.events,
              "first_seen": case((new.first_seen < columns.first_seen, new.first_seen), else_=columns.first_seen),
              "last_seen": case((new.last_seen > columns.last_seen, new.last_seen), else_=columns.last_seen)}))
    db.session.execute(delete(ErrorFacet).where(ErrorFacet.error_id.in_(source_ids))
                       .execution_options(synchronize_session=False))


def _move_hourly_counts(source_ids: list[str], target_id: str) -> None:
    """The merged errors' hourly counts added to the target's (the service's stay: the same events)."""
    columns = ErrorHourlyCount.__table__.c
    summed = (select(literal(target_id, String(36)), columns.hour, columns.severity, func.sum(columns.events))
              .where(columns.error_id.in_(source_ids)).group_by(columns.hour, columns.severity))
    insert = dialect_insert()(ErrorHourlyCount.__table__).from_select(["error_id", "hour", "severity", "events"],
                                                                      summed)
    db.session.execute(insert.on_conflict_do_update(index_elements=["error_id", "hour", "severity"],
                                                    set_={"events": columns.events + insert.excluded.events}))
    db.session.execute(delete(ErrorHourlyCount).where(ErrorHourlyCount.error_id.in_(source_ids))
                       .execution_options(synchronize_session=False))
