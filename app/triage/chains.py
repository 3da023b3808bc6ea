"""Escalation chains: what the scheduled escalation does with an open error, as data.

A chain belongs to a service and a severity (or, without a service, is the default of that severity
for every service without its own) and is an ordered list of steps:

- ``wait``: ``minutes`` (1 to 10,080), or the runtime ``setting`` that holds them
  (``escalate_critical_after_minutes``, ``escalate_high_after_minutes``);
- ``oncall`` (whoever is on call now in ``schedule_id``), ``person`` (``developer_id``), ``lead`` (the
  service's lead, else a manager or an admin, as the fixed rule did), ``role`` (everyone active with
  ``role``): told on ``channels`` (e-mail, Slack, SMS);
- ``slack`` (a post in ``slack_channel`` through the Web API, or the team channel when it is empty) and
  ``webhook`` (the subscription ``webhook_id``).

After its last step a chain runs again ``repeat_every_minutes`` later, at most ``repeat_times`` times.
``validate_chain`` is the one rule of what a chain may hold: the JSON API and the dashboard's editor
both go through ``create_chain`` and ``update_chain``, which call it. How a chain is read and walked:
app/triage/chain_plans.py.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    NOTIFY_CHANNELS, ROLES, SEVERITIES, STEP_KINDS, Developer, EscalationChain, EscalationStep, OnCallSchedule,
    Service, WebhookSubscription,
)
from app.models.types import utcnow
from app.platform.audit import record_audit
from app.platform.refusal import Refused, column_text
from app.triage import permissions
from app.triage.chain_plans import step_dict

MAX_STEPS = 30
MAX_WAIT_MINUTES = 7 * 24 * 60
MAX_REPEATS = 10
MAX_REPEAT_EVERY = 24 * 60
WAIT_SETTINGS = ("escalate_critical_after_minutes", "escalate_high_after_minutes")
PEOPLE_KINDS = ("oncall", "person", "lead", "role")
class ChainError(Refused):
    """A chain or step the rules refuse; ``field`` names it (``steps.2.minutes``)."""


# --- the rule of what a chain holds ------------------------------------------------------------

def _int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            raise ChainError(f"'{name}' must be a whole number", name)
    if not low <= value <= high:
        raise ChainError(f"'{name}' must be between {low} and {high}", name)
    return value


def _get(model, value, name: str, what: str):
    number = _int(value, name, 1, 2**31 - 1) if value not in (None, "") else None
    if number is None:
        raise ChainError(f"'{name}' is required: the {what} to notify", name)
    found = db.session.get(model, number)
    if found is None:
        raise ChainError(f"'{name}': no {what} with id {number}", name)
    return found


def _channels(value, name: str) -> list[str]:
    if value is None or value == "":
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ChainError(f"'{name}' is a list of channels ({', '.join(NOTIFY_CHANNELS)})", name)
    chosen = []
    for item in value:
        text = str(item).strip().lower()
        if text not in NOTIFY_CHANNELS:
            raise ChainError(f"'{name}': unknown channel {str(item)[:40]!r}; channels are "
                             f"{', '.join(NOTIFY_CHANNELS)}", name)
        chosen.append(text)
    if not chosen:
        raise ChainError(f"'{name}': choose at least one channel ({', '.join(NOTIFY_CHANNELS)})", name)
    return [c for c in NOTIFY_CHANNELS if c in chosen]


def validate_step(raw, at: int) -> dict:
    """One step as stored: only the fields of its kind, checked; refusals name ``steps.<at>.<field>``."""
    prefix = f"steps.{at}"
    if not isinstance(raw, dict):
        raise ChainError(f"'{prefix}' must be an object with a 'kind'", prefix)
    kind = str(raw.get("kind") or "").strip().lower()
    if kind not in STEP_KINDS:
        raise ChainError(f"'{prefix}.kind' must be one of {', '.join(STEP_KINDS)}", f"{prefix}.kind")
    step: dict = {"kind": kind}
    if kind == "wait":
        setting = raw.get("setting") or None
        if setting is not None:
            if setting not in WAIT_SETTINGS:
                raise ChainError(f"'{prefix}.setting' must be one of {', '.join(WAIT_SETTINGS)}", f"{prefix}.setting")
            step["setting"] = setting
        else:
            if raw.get("minutes") in (None, ""):
                raise ChainError(f"'{prefix}.minutes' is required for a wait", f"{prefix}.minutes")
            step["minutes"] = _int(raw.get("minutes"), f"{prefix}.minutes", 1, MAX_WAIT_MINUTES)
        return step
    if kind in PEOPLE_KINDS:
        step["channels"] = _channels(raw.get("channels"), f"{prefix}.channels")
    if kind == "oncall":
        step["schedule_id"] = _get(OnCallSchedule, raw.get("schedule_id"), f"{prefix}.schedule_id", "schedule").id
    elif kind == "person":
        # An inactive developer's step stays valid (it is passed over while they are inactive).
        step["developer_id"] = _get(Developer, raw.get("developer_id"), f"{prefix}.developer_id", "developer").id
    elif kind == "role":
        role = str(raw.get("role") or "").strip().lower()
        if role not in ROLES:
            raise ChainError(f"'{prefix}.role' must be one of {', '.join(ROLES)}", f"{prefix}.role")
        step["role"] = role
    elif kind == "slack":
        name = column_text(raw.get("slack_channel"), EscalationStep.__table__.c.slack_channel,
                           f"{prefix}.slack_channel", refusal=ChainError)
        if name is not None:
            from app.notify import channels as registry

            if not registry.slack_web_api():
                raise ChainError(f"'{prefix}.slack_channel': posting to a channel by name needs the Slack Web API "
                                 "(SLACK_BOT_TOKEN and SLACK_CHANNEL); leave it empty for the team channel",
                                 f"{prefix}.slack_channel")
            if any(c.isspace() for c in name):
                raise ChainError(f"'{prefix}.slack_channel' is a channel name or id without spaces, like #ops",
                                 f"{prefix}.slack_channel")
        step["slack_channel"] = name
    elif kind == "webhook":
        step["webhook_id"] = _get(WebhookSubscription, raw.get("webhook_id"), f"{prefix}.webhook_id",
                                  "webhook subscription").id
    return step


def validate_chain(fields: dict, chain: EscalationChain | None = None) -> dict:
    """The values of a new chain (``chain`` None) or of a change to ``chain`` (absent fields kept),
    checked: name, service (None: the default chain), severity, steps and the repeat bounds. One
    service (or the default) has at most one chain per severity."""
    values: dict = {}
    if chain is None or "name" in fields:
        values["name"] = column_text(fields.get("name"), EscalationChain.__table__.c.name, "name",
                                     refusal=ChainError, required="'name' is required")
    if chain is None or "service_id" in fields:
        service_id = fields.get("service_id")
        values["service_id"] = None if service_id in (None, "") else _get(Service, service_id, "service_id",
                                                                           "service").id
    if chain is None or "severity" in fields:
        severity = str(fields.get("severity") or "").strip().lower()
        if severity not in SEVERITIES:
            raise ChainError(f"'severity' must be one of {', '.join(SEVERITIES)}", "severity")
        values["severity"] = severity
    if chain is None or "steps" in fields:
        steps = fields.get("steps") if fields.get("steps") is not None else []
        if not isinstance(steps, list):
            raise ChainError("'steps' is a list of steps", "steps")
        if len(steps) > MAX_STEPS:
            raise ChainError(f"'steps': at most {MAX_STEPS} steps", "steps")
        values["steps"] = [validate_step(raw, at) for at, raw in enumerate(steps)]
    if chain is None or "repeat_times" in fields:
        raw = fields.get("repeat_times")
        values["repeat_times"] = 0 if raw in (None, "") else _int(raw, "repeat_times", 0, MAX_REPEATS)
    if chain is None or "repeat_every_minutes" in fields:
        raw = fields.get("repeat_every_minutes")
        values["repeat_every_minutes"] = None if raw in (None, "") else _int(raw, "repeat_every_minutes", 1,
                                                                              MAX_REPEAT_EVERY)
    repeat_times = values.get("repeat_times", chain.repeat_times if chain else 0)
    every = values.get("repeat_every_minutes", chain.repeat_every_minutes if chain else None)
    if repeat_times and every is None:
        raise ChainError("'repeat_every_minutes' is required when the chain repeats (repeat_times above 0)",
                         "repeat_every_minutes")
    steps = values.get("steps", [step_dict(s) for s in chain.steps] if chain else [])
    if repeat_times and not any(s["kind"] != "wait" for s in steps):
        raise ChainError("'repeat_times': a chain without a step that notifies has nothing to repeat", "repeat_times")
    service_id = values.get("service_id", chain.service_id if chain else None)
    severity = values.get("severity", chain.severity if chain else None)
    taken = select(EscalationChain.id).where(EscalationChain.severity == severity,
                                             EscalationChain.service_id.is_(None) if service_id is None
                                             else EscalationChain.service_id == service_id)
    if chain is not None:
        taken = taken.where(EscalationChain.id != chain.id)
    if db.session.execute(taken.limit(1)).first() is not None:
        whose = "the default" if service_id is None else "this service"
        raise ChainError(f"{whose} has a {severity} chain already: change that one", "severity", status=409)
    return values


# --- changes -----------------------------------------------------------------------------------

def _check(actor: Developer | None, service_id: int | None) -> None:
    if actor is None:
        return
    service = db.session.get(Service, service_id) if service_id is not None else None
    if not permissions.can_manage_escalation_chain(actor, service):
        raise ChainError("only admins change the default chains" if service_id is None
                         else "only admins and the service's lead change its escalation chains", status=403)


def _store_steps(chain: EscalationChain, steps: list[dict]) -> None:
    chain.steps.clear()
    db.session.flush()
    for position, step in enumerate(steps):
        chain.steps.append(EscalationStep(position=position, **step))


def create_chain(actor: Developer | None, **fields) -> EscalationChain:
    """A new chain (audited); refusals name the field."""
    values = validate_chain(fields)
    _check(actor, values["service_id"])
    steps = values.pop("steps")
    chain = EscalationChain(created_by_id=actor.id if actor else None, **values)
    db.session.add(chain)
    _store_steps(chain, steps)
    db.session.flush()
    record_audit(actor, "escalation_chain.created", "escalation_chain", chain.id,
                 details={"name": chain.name, "service_id": chain.service_id, "severity": chain.severity,
                          "steps": len(steps)})
    db.session.commit()
    return chain


def update_chain(chain: EscalationChain, actor: Developer | None, **fields) -> EscalationChain:
    """Change a chain; ``steps``, when given, replace all its steps in their order. Audited."""
    _check(actor, chain.service_id)
    values = validate_chain(fields, chain)
    if "service_id" in values:
        _check(actor, values["service_id"])
    steps = values.pop("steps", None)
    for key, value in values.items():
        setattr(chain, key, value)
    if steps is not None:
        _store_steps(chain, steps)
    chain.updated_at = utcnow()
    record_audit(actor, "escalation_chain.changed", "escalation_chain", chain.id,
                 details={"fields": sorted([*values, *(["steps"] if steps is not None else [])])})
    db.session.commit()
    return chain


def delete_chain(chain: EscalationChain, actor: Developer | None) -> None:
    """Remove a chain: its service falls back to the default chain of the severity. Audited."""
    _check(actor, chain.service_id)
    record_audit(actor, "escalation_chain.deleted", "escalation_chain", chain.id,
                 details={"name": chain.name, "service_id": chain.service_id, "severity": chain.severity})
    db.session.delete(chain)
    db.session.commit()


def move_step(chain: EscalationChain, actor: Developer | None, index: int, offset: int) -> EscalationChain:
    """Move step ``index`` one place up (-1) or down (+1): the dashboard's buttons, as a replace-all."""
    steps = [step_dict(s) for s in chain.steps]
    target = index + offset
    if not 0 <= index < len(steps) or not 0 <= target < len(steps):
        raise ChainError(f"there is no step {index + 1} to move that way", "index")
    steps[index], steps[target] = steps[target], steps[index]
    return update_chain(chain, actor, steps=steps)


def remove_step(chain: EscalationChain, actor: Developer | None, index: int) -> EscalationChain:
    steps = [step_dict(s) for s in chain.steps]
    if not 0 <= index < len(steps):
        raise ChainError(f"there is no step {index + 1}", "index")
    del steps[index]
    return update_chain(chain, actor, steps=steps)


def add_step(chain: EscalationChain, actor: Developer | None, step: dict) -> EscalationChain:
    steps = [step_dict(s) for s in chain.steps]
    steps.append(step)
    return update_chain(chain, actor, steps=steps)
