"""The JSON API of on-call schedules: schedules, layers, overrides, who is on call now and next (per
schedule and per service), and the secret iCal feeds. HTTP work only; the rules are in
app/triage/oncall.py, app/triage/schedules.py and app/triage/oncall_feeds.py, which the dashboard calls too."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import select

from app.extensions import db
from app.models import Developer, OnCallLayer, OnCallOverride, OnCallSchedule, OnCallSwap, Service
from app.models.types import utcnow
from app.reports.errors import parse_int_arg
from app.triage import oncall, oncall_feeds, oncall_swaps, schedules
from app.web import api
from app.web import schemas
from app.web import schemas_schedules as s
from app.web.errors import ApiError, register_json_errors

bp = Blueprint("schedules", __name__)
register_json_errors(bp)
FEED_ENDPOINT = "schedules.feed"
MAX_WINDOW_DAYS = 92


@bp.before_request
def _authenticate():
    if request.endpoint != FEED_ENDPOINT:
        return api.authenticate()


def instant(value, field: str) -> dt.datetime:
    """An ISO 8601 date and time (``Z`` or an offset; none means UTC), else a 400 naming ``field``."""
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None:
        raise ApiError(400, f"'{field}' is an ISO 8601 date and time, such as 2026-03-29T09:00:00Z", field=field)
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def _schedule_or_404(schedule_id: int) -> OnCallSchedule:
    schedule = db.session.get(OnCallSchedule, schedule_id) if schedule_id < 2**31 else None
    if schedule is None:
        raise ApiError(404, f"no schedule with id {schedule_id}")
    return schedule


def _layer_or_404(schedule: OnCallSchedule, layer_id: int) -> OnCallLayer:
    layer = db.session.get(OnCallLayer, layer_id) if layer_id < 2**31 else None
    if layer is None or layer.schedule_id != schedule.id:
        raise ApiError(404, f"no layer with id {layer_id} in this schedule")
    return layer


def _override_or_404(schedule: OnCallSchedule, override_id: int) -> OnCallOverride:
    override = db.session.get(OnCallOverride, override_id) if override_id < 2**31 else None
    if override is None or override.schedule_id != schedule.id:
        raise ApiError(404, f"no override with id {override_id} in this schedule")
    return override


def layer_out(layer: OnCallLayer) -> s.Layer:
    return s.Layer(id=layer.id, name=layer.name, kind=layer.kind, position=layer.position, frequency=layer.frequency,
                   every=layer.every, starts_on=layer.starts_on.isoformat(), handoff_time=layer.handoff_time,
                   timezone=layer.timezone, participants=layer.participants or [], days=layer.days,
                   window_start=layer.window_start, window_end=layer.window_end)


def schedule_out(schedule: OnCallSchedule) -> s.Schedule:
    return s.Schedule(id=schedule.id, name=schedule.name, description=schedule.description,
                      is_default=schedule.is_default, service_ids=sorted(svc.id for svc in schedule.services),
                      layers=[layer_out(layer) for layer in schedule.layers])


def override_out(override: OnCallOverride) -> s.Override:
    return s.Override(id=override.id, schedule_id=override.schedule_id, developer_id=override.developer_id,
                      replaces_id=override.replaces_id, starts_at=override.starts_at, ends_at=override.ends_at,
                      reason=override.reason)


def shift_out(slot: schedules.Slot | None) -> s.Shift | None:
    if slot is None or not slot.people and slot.layer_id is None and not slot.override_ids:
        return None
    return s.Shift(starts_at=slot.starts_at, ends_at=slot.ends_at, developer_ids=list(slot.people),
                   layer_id=slot.layer_id, override_ids=list(slot.override_ids))


def _on_call(schedule: OnCallSchedule | None) -> dict:
    moment = instant(request.args["at"], "at") if "at" in request.args else utcnow()
    if schedule is None:
        return schemas.dump(s.OnCall(schedule_id=None, at=moment, now=None, next=None))
    return schemas.dump(s.OnCall(schedule_id=schedule.id, at=moment, now=shift_out(schedules.slot_at(schedule, moment)),
                                 next=shift_out(schedules.next_slot(schedule, moment))))


# --- schedules ---------------------------------------------------------------------------------

@bp.get("/schedules/")
def list_schedules():
    items = db.session.execute(select(OnCallSchedule).order_by(OnCallSchedule.name)).scalars().all()
    return schemas.dump(s.ScheduleList(items=[schedule_out(x) for x in items], total=len(items)))


@bp.post("/schedules/")
def create_schedule():
    body = schemas.read(s.ScheduleCreate, api._json_body())
    schedule = oncall.create_schedule(g.actor, **body.model_dump())
    return schemas.dump(schedule_out(schedule)), 201


@bp.get("/schedules/<int:schedule_id>/")
def get_schedule(schedule_id: int):
    return schemas.dump(schedule_out(_schedule_or_404(schedule_id)))


@bp.patch("/schedules/<int:schedule_id>/")
def update_schedule(schedule_id: int):
    schedule = _schedule_or_404(schedule_id)
    body = schemas.read(s.ScheduleChange, api._json_body())
    oncall.update_schedule(schedule, g.actor, **body.model_dump(exclude_unset=True))
    return schemas.dump(schedule_out(schedule))


@bp.get("/schedules/<int:schedule_id>/on-call/")
def schedule_on_call(schedule_id: int):
    return _on_call(_schedule_or_404(schedule_id))


@bp.get("/services/<int:service_id>/on-call/")
def service_on_call(service_id: int):
    if service_id >= 2**31 or db.session.get(Service, service_id) is None:
        raise ApiError(404, f"no service with id {service_id}")
    return _on_call(schedules.schedule_for_service(service_id))


# --- layers ------------------------------------------------------------------------------------

@bp.post("/schedules/<int:schedule_id>/layers/")
def add_layer(schedule_id: int):
    schedule = _schedule_or_404(schedule_id)
    body = schemas.read(s.LayerCreate, api._json_body())
    layer = oncall.add_layer(schedule, g.actor, **body.model_dump(exclude_unset=True))
    return schemas.dump(layer_out(layer)), 201


@bp.patch("/schedules/<int:schedule_id>/layers/<int:layer_id>/")
def update_layer(schedule_id: int, layer_id: int):
    layer = _layer_or_404(_schedule_or_404(schedule_id), layer_id)
    body = schemas.read(s.LayerChange, api._json_body())
    oncall.update_layer(layer, g.actor, **body.model_dump(exclude_unset=True))
    return schemas.dump(layer_out(layer))


@bp.delete("/schedules/<int:schedule_id>/layers/<int:layer_id>/")
def remove_layer(schedule_id: int, layer_id: int):
    oncall.remove_layer(_layer_or_404(_schedule_or_404(schedule_id), layer_id), g.actor)
    return "", 204


# --- overrides ---------------------------------------------------------------------------------

@bp.get("/schedules/<int:schedule_id>/overrides/")
def list_overrides(schedule_id: int):
    schedule = _schedule_or_404(schedule_id)
    since = instant(request.args["since"], "since") if "since" in request.args else utcnow() - dt.timedelta(days=1)
    days = parse_int_arg(request.args.get("days"), "days", 31, 1, MAX_WINDOW_DAYS)
    items = schedules.overrides_between(schedule, since, since + dt.timedelta(days=days))
    return schemas.dump(s.OverrideList(items=[override_out(o) for o in items], total=len(items)))


def _developer(developer_id: int, field: str) -> Developer:
    developer = db.session.get(Developer, developer_id)
    if developer is None:
        raise ApiError(400, f"no developer with id {developer_id}", field=field)
    return developer


@bp.post("/schedules/<int:schedule_id>/overrides/")
def add_override(schedule_id: int):
    schedule = _schedule_or_404(schedule_id)
    body = schemas.read(s.OverrideCreate, api._json_body())
    replaces = _developer(body.replaces_id, "replaces_id") if body.replaces_id is not None else None
    override = oncall.add_override(schedule, _developer(body.developer_id, "developer_id"),
                                   instant(body.starts_at, "starts_at"), instant(body.ends_at, "ends_at"), g.actor,
                                   replaces=replaces, reason=body.reason)
    return schemas.dump(override_out(override)), 201


@bp.patch("/schedules/<int:schedule_id>/overrides/<int:override_id>/")
def update_override(schedule_id: int, override_id: int):
    override = _override_or_404(_schedule_or_404(schedule_id), override_id)
    body = schemas.read(s.OverrideChange, api._json_body())
    given = body.model_dump(exclude_unset=True)
    oncall.update_override(override, g.actor,
                           starts_at=instant(body.starts_at, "starts_at") if "starts_at" in given else None,
                           ends_at=instant(body.ends_at, "ends_at") if "ends_at" in given else None,
                           reason=body.reason, reason_given="reason" in given)
    return schemas.dump(override_out(override))


@bp.delete("/schedules/<int:schedule_id>/overrides/<int:override_id>/")
def remove_override(schedule_id: int, override_id: int):
    oncall.remove_override(_override_or_404(_schedule_or_404(schedule_id), override_id), g.actor)
    return "", 204


# --- swap requests -----------------------------------------------------------------------------

def swap_out(swap: OnCallSwap) -> s.Swap:
    return s.Swap(id=swap.id, schedule_id=swap.schedule_id, requester_id=swap.requester_id,
                  colleague_id=swap.colleague_id, starts_at=swap.starts_at, ends_at=swap.ends_at, note=swap.note,
                  status=swap.status, override_id=swap.override_id, created_at=swap.created_at,
                  answered_at=swap.answered_at)


@bp.post("/schedules/<int:schedule_id>/swaps/")
def request_swap(schedule_id: int):
    schedule = _schedule_or_404(schedule_id)
    body = schemas.read(s.SwapCreate, api._json_body())
    requester = _developer(body.requester_id, "requester_id") if body.requester_id is not None else g.actor
    swap = oncall_swaps.request_swap(schedule, requester, _developer(body.colleague_id, "colleague_id"),
                                     instant(body.starts_at, "starts_at"), instant(body.ends_at, "ends_at"), g.actor,
                                     note=body.note)
    return schemas.dump(swap_out(swap)), 201


@bp.get("/swaps/")
def list_swaps():
    items = oncall_swaps.swaps_of(g.actor)
    return schemas.dump(s.SwapList(items=[swap_out(x) for x in items], total=len(items)))


SWAP_ACTIONS = {"accept": oncall_swaps.accept_swap, "decline": oncall_swaps.decline_swap,
                "cancel": oncall_swaps.cancel_swap}


@bp.post("/swaps/<int:swap_id>/<any(accept, decline, cancel):action>/")
def answer_swap(swap_id: int, action: str):
    swap = db.session.get(OnCallSwap, swap_id) if swap_id < 2**31 else None
    if swap is None:
        raise ApiError(404, f"no swap request with id {swap_id}")
    return schemas.dump(swap_out(SWAP_ACTIONS[action](swap, g.actor)))


# --- iCal feeds --------------------------------------------------------------------------------

def feed_url(token: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/api/oncall/feeds/{token}.ics"


@bp.post("/schedules/<int:schedule_id>/feed/")
def rotate_schedule_feed(schedule_id: int):
    token = oncall_feeds.rotate_feed(g.actor, schedule=_schedule_or_404(schedule_id))
    return schemas.dump(s.FeedAddress(url=feed_url(token))), 201


@bp.post("/developers/<int:developer_id>/feed/")
def rotate_developer_feed(developer_id: int):
    developer = db.session.get(Developer, developer_id) if developer_id < 2**31 else None
    if developer is None:
        raise ApiError(404, f"no developer with id {developer_id}")
    return schemas.dump(s.FeedAddress(url=feed_url(oncall_feeds.rotate_feed(g.actor, developer=developer)))), 201


@bp.get("/oncall/feeds/<token>.ics")
def feed(token: str):
    found = oncall_feeds.feed_for_token(token)
    if found is None:
        raise ApiError(404, "no calendar at this address (it may have been rotated)")
    return Response(oncall_feeds.calendar(found), mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300"})
