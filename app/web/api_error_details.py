"""The JSON API of an error's tag breakdowns, merges and comments. HTTP work only: the breakdowns are
app/reports/tags.py, merging app/triage/merge.py and comments app/triage/comments.py, which the dashboard
calls too."""
from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import select

from app.extensions import db
from app.models import Developer, ErrorLog
from app.reports import tags
from app.reports.errors import parse_int_arg
from app.triage import comments, merge
from app.web import api, schemas
from app.web import schemas_error_details as s
from app.web import serializers as out
from app.web.errors import ApiError, register_json_errors

bp = Blueprint("error_details", __name__)
register_json_errors(bp)
bp.before_request(api.authenticate)


def _errors_named(ids: list[str], field: str = "error_ids") -> list[ErrorLog]:
    found = {e.id: e for e in db.session.execute(select(ErrorLog).where(ErrorLog.id.in_(ids))).scalars()}
    for error_id in ids:
        if error_id not in found:
            raise ApiError(400, f"no error with id {error_id[:40]}", field=field)
    return [found[i] for i in dict.fromkeys(ids)]


def _ids(raw: list[str] | None) -> list[str] | None:
    if raw is None:
        return None
    for value in raw:
        if "\x00" in value:
            raise ApiError(400, "error ids cannot contain a NUL character", field="error_ids")
    return raw


@bp.get("/errors/<error_id>/tags/")
def error_tags(error_id: str):
    error = api._error_or_404(error_id)
    top = parse_int_arg(request.args.get("top"), "top", tags.TOP_VALUES, 1, 20)
    return schemas.dump(s.TagBreakdown(error_id=error.id, events=error.occurrence_count, users=error.users_count or 0,
                                       keys=tags.breakdown(error, top)))


@bp.get("/errors/<error_id>/tags/<path:key>/")
def error_tag_values(error_id: str, key: str):
    error = api._error_or_404(error_id)
    page, per_page = api._page_args()
    return schemas.dump(s.TagValuesPage(**tags.key_values(error, key, page, per_page), page=page, per_page=per_page))


@bp.post("/errors/<error_id>/merge/")
def merge_errors(error_id: str):
    target = api._error_or_404(error_id)
    body = schemas.read(s.MergeRequest, api._json_body())
    merged = merge.merge_errors(target, _errors_named(_ids(body.error_ids)), g.actor)
    return schemas.dump(s.MergeResult(error=out.error_detail(target, None),
                                      merged=[out.error_summary(e) for e in merged]))


@bp.post("/errors/<error_id>/unmerge/")
def unmerge_error(error_id: str):
    target = api._error_or_404(error_id)
    body = schemas.read(s.UnmergeRequest, api._json_body())
    given = merge.unmerge_error(target, g.actor, _ids(body.error_ids))
    return schemas.dump(s.UnmergeResult(error=out.error_detail(target, None),
                                        unmerged=[out.error_summary(e) for e in given]))


def _comment(row, people: dict[int, Developer]) -> s.Comment:
    return s.Comment(id=row.id, error_id=row.error_id, author=out.developer_brief(row.author), body=row.body,
                     mentions=[out.developer_brief(people[i]) for i in (row.mentions or []) if i in people],
                     created_at=row.created_at)


def _people(rows) -> dict[int, Developer]:
    ids = {i for row in rows for i in (row.mentions or [])}
    if not ids:
        return {}
    return {d.id: d for d in db.session.execute(select(Developer).where(Developer.id.in_(ids))).scalars()}


@bp.get("/errors/<error_id>/comments/")
def list_comments(error_id: str):
    rows = comments.comments_of(api._error_or_404(error_id))
    people = _people(rows)
    return schemas.dump(s.CommentList(items=[_comment(r, people) for r in rows], total=len(rows)))


@bp.post("/errors/<error_id>/comments/")
def add_comment(error_id: str):
    error = api._error_or_404(error_id)
    body = schemas.read(s.CommentCreate, api._json_body())
    row = comments.add_comment(error, g.actor, body.body)
    return schemas.dump(_comment(row, _people([row]))), 201
