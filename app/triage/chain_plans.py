"""Escalation chains as the escalation reads and walks them (the rules of what a chain holds and its
changes: app/triage/chains.py).

Every notifying step of a chain (all but ``wait``) has a level, its place among the chain's notifying
steps over its runs (1, 2, ...); app/triage/escalation.py walks the chain by the levels an error's open
stretch has reached. After its last step a chain runs again ``repeat_every_minutes`` later, at most
``repeat_times`` times, without its leading waits (they are the first run's). A database without
chains (one made from the models rather than the migrations) escalates by ``BUILT_IN``, which is what
migration 0017 writes as the default chains.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import SEVERITIES, Developer, EscalationChain, EscalationStep, OnCallSchedule, WebhookSubscription

STEP_LABELS = {"wait": "Wait", "oncall": "On call of a schedule", "person": "A person", "lead": "The service's lead",
               "role": "Everyone with a role", "slack": "A Slack channel", "webhook": "A webhook subscription"}
# The fixed rule before chains (and migration 0017's default chains): severity -> (wait setting, channels).
BUILT_IN = {"critical": ("escalate_critical_after_minutes", ["email", "sms"]),
            "high": ("escalate_high_after_minutes", ["email", "slack"])}


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
