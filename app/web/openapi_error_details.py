"""The OpenAPI part for an error's tag breakdowns, merges and comments (app/web/api_error_details.py);
bodies and answers are the pydantic models of app/web/schemas_error_details.py, by reference."""
from __future__ import annotations

from app.web.openapi_ingest import json_content, parameter_ref, ref, response_ref

ERRORS = {"400": "BadRequest", "403": "Forbidden", "404": "NotFound", "409": "Conflict"}
KEY = {"name": "key", "in": "path", "required": True, "description": "`environment`, `release`, `server`, `browser`, "
       "`os`, or `t.<tag>`.", "schema": {"type": "string"}}
TOP = {"name": "top", "in": "query", "description": "Values per key.",
       "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5}}


def _op(summary: str, answer: str, parameters: list, errors: tuple[str, ...], *, status: str = "200",
        body: str | None = None, body_required: bool = True, description: str | None = None) -> dict:
    responses = {status: {"description": {"200": "OK", "201": "Created."}[status],
                          "content": json_content(ref(answer))}, "401": response_ref("Unauthorized")}
    for code in errors:
        responses[code] = response_ref(ERRORS[code])
    operation = {"tags": ["errors"], "summary": summary, "parameters": [parameter_ref("ErrorId"), *parameters],
                 "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": json_content(ref(body))}
    if description:
        operation["description"] = description
    return operation


def paths() -> dict:
    return {
        "/api/errors/{error_id}/tags/": {"get": _op(
            "Tag breakdowns", "TagBreakdown", [TOP], ("400", "404"),
            description="Each key the error's events were seen with (environment, release, server, browser and "
            "OS from a Sentry event's contexts, and every tag) with its `top` values, their counts of events and "
            "shares, and the key's total. Kept at ingest, so it costs one read whatever the events.")},
        "/api/errors/{error_id}/tags/{key}/": {"get": _op(
            "All values of one key", "TagValuesPage", [KEY, parameter_ref("Page"), parameter_ref("PerPage")],
            ("400", "404"), description="Most seen first. A key the error has no value of is a 404.")},
        "/api/errors/{error_id}/merge/": {"post": _op(
            "Merge errors into this one", "MergeResult", [], ("400", "403", "404", "409"), body="MergeRequest",
            description="The errors (of the same service, not merged already) give this one their events, "
            "counts and facets, and new events of their fingerprints arrive here; each stays, as kind `merged` "
            "with `merged_into`, and is listed nowhere. Errors merged into them come along. Whoever may work on "
            "every one of them may merge; audited on each.")},
        "/api/errors/{error_id}/unmerge/": {"post": _op(
            "Unmerge", "UnmergeResult", [], ("400", "403", "404", "409"), body="UnmergeRequest",
            body_required=False, description="The errors merged into this one (all, or those of `error_ids`) get "
            "their events back, by the fingerprint each event was stored with, and their kind, status and "
            "assignee as before the merge; both sides' facets are rebuilt from their events. No error merged "
            "into it is a 409.")},
        "/api/errors/{error_id}/comments/": {
            "get": _op("Comments", "CommentList", [], ("404",), description="Newest first (at most 200)."),
            "post": _op("Comment", "Comment", [], ("400", "404"), status="201", body="CommentCreate",
                        description="Plain text, kept as written (the dashboard shows it escaped, its line breaks "
                        "kept), at most 4,000 characters. Each developer `@`-mentioned (the local part of their "
                        "e-mail, or their name without spaces or with dots, any case) is told on their own "
                        "channels for the error's severity, else by e-mail."),
        },
    }
