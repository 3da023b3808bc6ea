"""The JSON API of escalation chains: list, create, read, replace and delete. HTTP work only; the rules
are in app/triage/chains.py, which the dashboard's editor calls too."""
from __future__ import annotations

from flask import Blueprint, g

from app.extensions import db
from app.models import EscalationChain
from app.notify import channels as registry
from app.triage import chain_plans, chains
from app.web import api, schemas
from app.web import schemas_chains as s
from app.web.errors import ApiError, register_json_errors

bp = Blueprint("chains", __name__)
register_json_errors(bp)
bp.before_request(api.authenticate)


def chain_out(chain: EscalationChain, names: dict) -> s.Chain:
    steps = []
    for position, step in enumerate(chain.steps):
        fields = chain_plans.step_dict(step)
        steps.append(s.Step(position=position, description=chain_plans.describe_step(fields, names),
                            **{name: getattr(step, name) for name in ("kind", *chain_plans.STEP_FIELDS)}))
    return s.Chain(id=chain.id, name=chain.name, service_id=chain.service_id, severity=chain.severity,
                   repeat_times=chain.repeat_times or 0, repeat_every_minutes=chain.repeat_every_minutes, steps=steps,
                   created_at=chain.created_at, updated_at=chain.updated_at)


def _one(chain: EscalationChain) -> dict:
    return schemas.dump(chain_out(chain, chain_plans.target_names([chain_plans.plan_of(chain)])))


def _chain_or_404(chain_id: int) -> EscalationChain:
    chain = db.session.get(EscalationChain, chain_id) if chain_id < 2**31 else None
    if chain is None:
        raise ApiError(404, f"no escalation chain with id {chain_id}")
    return chain


def _fields() -> dict:
    body = schemas.read(s.ChainBody, api._json_body())
    fields = body.model_dump()
    fields["steps"] = [step.model_dump(exclude_none=True) for step in body.steps]
    return fields


@bp.get("/escalation-chains/")
def list_chains():
    items = chain_plans.all_chains()
    names = chain_plans.target_names([chain_plans.plan_of(c) for c in items])
    return schemas.dump(s.ChainList(items=[chain_out(c, names) for c in items], total=len(items),
                                    channels=registry.offered_channels()))


@bp.post("/escalation-chains/")
def create_chain():
    return _one(chains.create_chain(g.actor, **_fields())), 201


@bp.get("/escalation-chains/<int:chain_id>/")
def get_chain(chain_id: int):
    return _one(_chain_or_404(chain_id))


@bp.put("/escalation-chains/<int:chain_id>/")
def replace_chain(chain_id: int):
    chain = _chain_or_404(chain_id)
    return _one(chains.update_chain(chain, g.actor, **_fields()))


@bp.delete("/escalation-chains/<int:chain_id>/")
def delete_chain(chain_id: int):
    chains.delete_chain(_chain_or_404(chain_id), g.actor)
    return "", 204
