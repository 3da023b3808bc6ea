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

After its last step a chain runs again ``repeat_every_minutes`` later, at most ``repeat_times`` times
(its leading waits are for the first run only): critical pages that repeat until someone acknowledges.
Every notifying step has a level, its place among the chain's notifying steps over the runs (1, 2, ...);
app/triage/escalation.py walks the chain by the levels an error's open stretch has reached.

``validate_chain`` is the one rule of what a chain may hold: the JSON API and the dashboard's editor
both go through ``create_chain`` and ``update_chain``, which call it. A database without chains (one
made from the models rather than the migrations) escalates by ``BUILT_IN``, which is what migration 0017
writes as the default chains.
"""
from __future__ import annotations

from dataclasses import dataclass

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

MAX_STEPS = 30
MAX_WAIT_MINUTES = 7 * 24 * 60
MAX_REPEATS = 10
MAX_REPEAT_EVERY = 24 * 60
WAIT_SETTINGS = ("escalate_critical_after_minutes", "escalate_high_after_minutes")
PEOPLE_KINDS = ("oncall", "person", "lead", "role")
STEP_LABELS = {"wait": "Wait", "oncall": "On call of a schedule", "person": "A person", "lead": "The service's lead",
               "role": "Everyone with a role", "slack": "A Slack channel", "webhook": "A webhook subscription"}
# The fixed rule before chains (and migration 0017's default chains): severity -> (wait setting, channels).
BUILT_IN = {"critical": ("escalate_critical_after_minutes", ["email", "sms"]),
            "high": ("escalate_high_after_minutes", ["email", "slack"])}


class ChainError(Refused):
    """A chain or step the rules refuse; ``field`` names it (``steps.2.minutes``)."""


@dataclass
class Plan:
    """A chain as the escalation walks it: a stored chain's or the built-in default's."""

    id: int | None
    name: str
    severity: str
    steps: list[dict]
    repeat_times: int = 0
    repeat_every_minutes: int | None = None


@dataclass
class Entry:
    """One notifying step in the walk: its level, run, index in the chain, and the minutes before it
    (counted from the step before it that notified, or from the start of the open stretch)."""

    level: int
    round: int
    index: int
    step: dict
    wait_before: int


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


# --- reading -----------------------------------------------------------------------------------

STEP_FIELDS = ("minutes", "setting", "schedule_id", "developer_id", "role", "channels", "slack_channel", "webhook_id")


def step_dict(step: EscalationStep) -> dict:
    """A stored step as ``validate_step`` returns it (the fields of its kind only)."""
    out = {"kind": step.kind}
    for name in STEP_FIELDS:
        value = getattr(step, name)
        if value is not None:
            out[name] = list(value) if name == "channels" else value
    if step.kind == "slack":
        out.setdefault("slack_channel", None)
    return out


def all_chains() -> list[EscalationChain]:
    """Every stored chain: the defaults first, then by service and severity (gravest first)."""
    found = db.session.execute(select(EscalationChain)).scalars().all()
    return sorted(found, key=lambda c: (c.service_id is not None, c.service.name if c.service else "",
                                        -SEVERITIES.index(c.severity), c.id))


def built_in(severity: str) -> Plan | None:
    if severity not in BUILT_IN:
        return None
    setting, channels = BUILT_IN[severity]
    wait = {"kind": "wait", "setting": setting}
    return Plan(None, f"Default {severity} (built in)", severity,
                [wait, {"kind": "lead", "channels": list(channels)}, wait,
                 {"kind": "role", "role": "admin", "channels": list(channels)}])


def plan_of(chain: EscalationChain) -> Plan:
    return Plan(chain.id, chain.name, chain.severity, [step_dict(s) for s in chain.steps], chain.repeat_times or 0,
                chain.repeat_every_minutes)


def chain_for(service_id: int, severity: str) -> Plan | None:
    """The chain an error of this service and severity follows: the service's own, else the default
    chain of the severity, else the built-in default (critical and high only)."""
    found = db.session.execute(
        select(EscalationChain).where(EscalationChain.severity == severity,
                                      (EscalationChain.service_id == service_id) | EscalationChain.service_id.is_(None))
        .order_by(EscalationChain.service_id.is_(None))).scalars().first()
    return plan_of(found) if found is not None else built_in(severity)


def escalating_severities() -> set[str]:
    """Severities some chain (stored or built in) may escalate: the sweep looks at no others."""
    stored = set(db.session.execute(select(EscalationChain.severity).distinct()).scalars())
    defaults = set(db.session.execute(select(EscalationChain.severity).where(EscalationChain.service_id.is_(None))
                                      ).scalars())
    return stored | (set(BUILT_IN) - defaults)


def wait_minutes(step: dict, values: dict | None = None) -> int:
    """A wait step's minutes now: its own, or those of the setting it names."""
    if step.get("setting"):
        if values is not None:
            return int(values[step["setting"]])
        from app.platform import settings

        return int(settings.get(step["setting"]))
    return int(step.get("minutes") or 0)


def walk(plan: Plan, values: dict | None = None):
    """The notifying steps of every run of the chain in order, each with the minutes to wait before it."""
    level, pending = 0, 0
    for run in range(plan.repeat_times + 1):
        started = False
        if run:
            pending += plan.repeat_every_minutes or 0
        for index, step in enumerate(plan.steps):
            if step["kind"] == "wait":
                if run and not started:
                    continue  # the leading waits are the first run's
                pending += wait_minutes(step, values)
                continue
            started = True
            level += 1
            yield Entry(level, run, index, step, pending)
            pending = 0


def describe_step(step: dict, names: dict | None = None) -> str:
    """A step in words, as the dashboard and the escalation reasons show it."""
    names = names or {}
    kind = step["kind"]
    via = " by " + ", ".join("e-mail" if c == "email" else c.upper() if c == "sms" else "Slack"
                             for c in step.get("channels") or []) if step.get("channels") else ""
    if kind == "wait":
        if step.get("setting"):
            return f"wait the setting {step['setting']}"
        return f"wait {step.get('minutes')} min"
    if kind == "oncall":
        return f"whoever is on call in {names.get(('schedule', step.get('schedule_id')), 'a removed schedule')}{via}"
    if kind == "person":
        return f"{names.get(('developer', step.get('developer_id')), 'a removed developer')}{via}"
    if kind == "lead":
        return f"the service's lead{via}"
    if kind == "role":
        return f"every {step.get('role')}{via}"
    if kind == "slack":
        return f"Slack {step['slack_channel']}" if step.get("slack_channel") else "the team's Slack channel"
    return f"webhook {names.get(('webhook', step.get('webhook_id')), 'a removed subscription')}"


def target_names(plans: list[Plan]) -> dict:
    """The names ``describe_step`` shows, for every target of these chains, in three queries."""
    wanted: dict[str, set[int]] = {"schedule": set(), "developer": set(), "webhook": set()}
    for plan in plans:
        for step in plan.steps:
            for kind, key in (("schedule", "schedule_id"), ("developer", "developer_id"), ("webhook", "webhook_id")):
                if step.get(key):
                    wanted[kind].add(step[key])
    names = {}
    for kind, model in (("schedule", OnCallSchedule), ("developer", Developer), ("webhook", WebhookSubscription)):
        if wanted[kind]:
            for row_id, name in db.session.execute(select(model.id, model.name).where(model.id.in_(wanted[kind]))):
                names[(kind, row_id)] = name
    return names
