"""The OpenAPI part for escalation chains (app/web/api_chains.py); bodies and answers are the pydantic
models of app/web/schemas_chains.py, by reference."""
from __future__ import annotations

from functools import partial

from app.web.openapi_schedules import INT, _op

CHAIN_ID = {"name": "chain_id", "in": "path", "required": True, "schema": INT}
EDITORS = ("Admins (any chain, and only they the default chains) and leads (the chains of the services they "
           "lead). Refusals name the field: `steps.2.schedule_id` for an unknown schedule, `steps.0.minutes` "
           "for a wait out of range, `repeat_times` out of bounds.")
op = partial(_op, tag="escalation")


def paths() -> dict:
    walk = ("The scheduled escalation walks an open error's chain (its service's for its severity, else the "
            "default chain of the severity): each step that tells someone is a level; it fires once the waits "
            "before it have passed since the step before it fired, never twice in one open stretch, not while "
            "an acknowledgement holds, and a step that would only reach the assignee is passed over.")
    return {
        "/api/escalation-chains/": {
            "get": op("Escalation chains", "ChainList", [], (), description="Every chain with its steps. " + walk),
            "post": op("Create an escalation chain", "Chain", [], ("400", "403", "409"), status="201",
                       body="ChainBody", description=EDITORS),
        },
        "/api/escalation-chains/{chain_id}/": {
            "get": op("An escalation chain", "Chain", [CHAIN_ID], ("404",)),
            "put": op("Replace an escalation chain", "Chain", [CHAIN_ID], ("400", "403", "404", "409"),
                      body="ChainBody", description="Every field, and the steps in their new order. " + EDITORS),
            "delete": op("Remove an escalation chain", None, [CHAIN_ID], ("403", "404"), status="204",
                         description="Its service falls back to the default chain of the severity. " + EDITORS),
        },
    }
