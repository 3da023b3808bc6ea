"""On call: every schedule now and next, a schedule's week or month calendar with its overrides, an
override added by picking a slot, schedules and their rotation layers created and edited, my on-call,
and the secret calendar addresses. The rules are in
app/triage/oncall.py, schedules.py and oncall_feeds.py (the JSON API calls the same functions)."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import FREQUENCIES, Developer, OnCallLayer, OnCallOverride, OnCallSchedule, OnCallSwap, Service
from app.models.types import utcnow
from app.reports import oncall_calendar
from app.triage import oncall, oncall_feeds, oncall_swaps, schedules
from app.web.api_schedules import feed_url
from app.web.dashboard.base import bp
from app.web.dashboard.common import actor, developer_or_404, form_ids, form_int, page_or_fragment, refuse_because

MY_DAYS = 28
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LAYER_TEXT_FIELDS = ("name", "frequency", "starts_on", "handoff_time", "timezone")


def viewer_zone():
    """The signed-in developer's time zone (their preferences), else Heartwatch's."""
    for name in (actor().timezone, current_app.config.get("TIMEZONE"), "UTC"):
        try:
            return schedules.zone(name)
        except ValueError:
            continue


def _schedule_or_404(schedule_id: int) -> OnCallSchedule:
    schedule = db.session.get(OnCallSchedule, schedule_id) if schedule_id < 2**31 else None
    if schedule is None:
        abort(404, description=f"No schedule with id {schedule_id}.")
    return schedule


def _local_input(value: str | None, field: str, tz) -> dt.datetime:
    """A ``datetime-local`` value in the viewer's time zone, as UTC."""
    try:
        parsed = dt.datetime.fromisoformat((value or "").strip()) if value and len(value) <= 32 else None
    except ValueError:
        parsed = None
    if parsed is None:
        abort(400, description=f"'{field}' must be a date and time like 2026-01-31T09:00.")
    return schedules.wall_time(parsed.date(), parsed.time(), tz) if parsed.tzinfo is None else parsed


def _names(ids) -> str:
    if not ids:
        return "nobody"
    found = dict(db.session.execute(select(Developer.id, Developer.name).where(Developer.id.in_(ids))).all())
    return ", ".join(found.get(i, f"#{i}") for i in ids)


@bp.get("/oncall")
def oncall_index(problem=None, entered=None):
    now = utcnow()
    rows = []
    for plan in db.session.execute(select(OnCallSchedule).order_by(OnCallSchedule.is_default.desc(),
                                                                   OnCallSchedule.name)).scalars():
        current, following = schedules.slot_at(plan, now), schedules.next_slot(plan, now)
        rows.append({"schedule": plan, "now": current, "now_names": _names(current.people), "next": following,
                     "next_names": _names(following.people) if following else None})
    return render_template("dashboard/oncall.html", rows=rows, tz=viewer_zone(), services=_services(),
                           problem=problem, entered=entered or {})


def _services() -> list[Service]:
    return db.session.execute(select(Service).order_by(Service.name)).scalars().all()


def _calendar_context(plan: OnCallSchedule, tz, **extra) -> dict:
    view = request.args.get("view", "week")
    view = view if view in oncall_calendar.VIEWS else "week"
    try:
        anchor = dt.date.fromisoformat(request.args.get("date", "")[:10])
    except ValueError:
        anchor = utcnow().astimezone(tz).date()
    people = db.session.execute(select(Developer).where(Developer.active.is_(True)).order_by(Developer.name)
                                ).scalars().all()
    now = utcnow()
    days = oncall_calendar.calendar(plan, view, anchor, tz)
    shown = (schedules.wall_time(days[0].date, dt.time(0), tz),
             schedules.wall_time(days[-1].date + dt.timedelta(days=1), dt.time(0), tz))
    pick = {"starts_at": (request.args.get("from") or "")[:16], "ends_at": (request.args.get("until") or "")[:16],
            "replaces_id": request.args.get("replaces", "")}
    return {"plan": plan, "view": view, "anchor": anchor, "tz": tz, "people": people, "pick": pick,
            "days": days,
            "previous": oncall_calendar.shift_view(view, anchor, -1), "following": oncall_calendar.shift_view(view, anchor, 1),
            "overrides": schedules.overrides_between(plan, *shown),
            "today": now.astimezone(tz).date(), "problem": None, "new_feed": None, "services": _services(),
            "weekdays": WEEKDAYS, "frequencies": FREQUENCIES, "layer_entered": None, **extra}


@bp.get("/oncall/<int:schedule_id>")
def oncall_schedule(schedule_id: int):
    plan = _schedule_or_404(schedule_id)
    return page_or_fragment("dashboard/oncall_schedule.html", "partials/_override_form.html", "override-form",
                            **_calendar_context(plan, viewer_zone()))


def _back(plan: OnCallSchedule):
    return redirect(url_for("dashboard.oncall_schedule", schedule_id=plan.id, view=request.form.get("view", "week"),
                            date=request.form.get("date", "")), code=303)


@bp.post("/oncall/<int:schedule_id>/overrides")
def add_oncall_override(schedule_id: int):
    """An override from the form the calendar fills in when a slot is picked."""
    plan = _schedule_or_404(schedule_id)
    tz = viewer_zone()
    developer = developer_or_404(form_int("developer_id"))
    replaced = form_int("replaces_id", required=False)
    replaces = developer_or_404(replaced) if replaced else None
    try:
        oncall.add_override(plan, developer, _local_input(request.form.get("starts_at"), "starts_at", tz),
                            _local_input(request.form.get("ends_at"), "ends_at", tz), actor(), replaces=replaces,
                            reason=request.form.get("reason"))
    except oncall.OnCallError as exc:
        db.session.rollback()
        if exc.status == 403:
            refuse_because(exc)
        context = _calendar_context(plan, tz, problem=exc)
        context["pick"] = {k: request.form.get(k, "") for k in ("starts_at", "ends_at", "replaces_id")}
        return render_template("dashboard/oncall_schedule.html", **context), exc.status
    flash(f"{developer.name} is on call" + (f" instead of {replaces.name}." if replaces else "."), "ok")
    return _back(plan)


@bp.post("/oncall/<int:schedule_id>/overrides/<int:override_id>/remove")
def remove_oncall_override(schedule_id: int, override_id: int):
    plan = _schedule_or_404(schedule_id)
    override = db.session.get(OnCallOverride, override_id)
    if override is None or override.schedule_id != plan.id:
        abort(404, description="No such override.")
    try:
        oncall.remove_override(override, actor())
    except oncall.OnCallError as exc:
        refuse_because(exc)
    flash("Override removed.", "ok")
    return _back(plan)


@bp.post("/oncall/<int:schedule_id>/feed")
def rotate_oncall_feed(schedule_id: int):
    plan = _schedule_or_404(schedule_id)
    try:
        token = oncall_feeds.rotate_feed(actor(), schedule=plan)
    except oncall.OnCallError as exc:
        refuse_because(exc)
    return render_template("dashboard/oncall_schedule.html", **_calendar_context(plan, viewer_zone(),
                                                                                  new_feed=feed_url(token)))


@bp.route("/oncall/mine", methods=["GET", "POST"])
def my_oncall():
    """My shifts in every schedule for four weeks; POST gives me a new calendar address."""
    user = actor()
    new_feed = feed_url(oncall_feeds.rotate_feed(user, developer=user)) if request.method == "POST" else None
    return _my_oncall_page(user, new_feed=new_feed)


def _my_oncall_page(user: Developer, *, new_feed=None, problem=None, status=200):
    now = utcnow()
    shifts = schedules.shifts_of(user.id, now, now + dt.timedelta(days=MY_DAYS))
    colleagues = db.session.execute(select(Developer).where(Developer.active.is_(True), Developer.id != user.id)
                                    .order_by(Developer.name)).scalars().all()
    return render_template("dashboard/oncall_mine.html", shifts=shifts, tz=viewer_zone(), now=now,
                           new_feed=new_feed, days=MY_DAYS, swaps=oncall_swaps.swaps_of(user),
                           colleagues=colleagues, problem=problem), status


@bp.post("/oncall/swaps")
def request_oncall_swap():
    """Ask a colleague to take one of my shifts (the form under each shift of my on-call)."""
    user, tz = actor(), viewer_zone()
    plan = _schedule_or_404(form_int("schedule_id"))
    try:
        swap = oncall_swaps.request_swap(plan, user, developer_or_404(form_int("colleague_id")),
                                         _local_input(request.form.get("starts_at"), "starts_at", tz),
                                         _local_input(request.form.get("ends_at"), "ends_at", tz), user,
                                         note=request.form.get("note") or None)
    except oncall.OnCallError as exc:
        db.session.rollback()
        if exc.status == 403:
            refuse_because(exc)
        return _my_oncall_page(user, problem=exc, status=exc.status)
    flash(f"{swap.colleague.name} is asked to take it; you stay on call until they accept.", "ok")
    return redirect(url_for("dashboard.my_oncall", _anchor="swaps"), code=303)


SWAP_ANSWERS = {"accept": (oncall_swaps.accept_swap, "You are on call then instead of {requester}."),
                "decline": (oncall_swaps.decline_swap, "Declined; {requester} is told."),
                "cancel": (oncall_swaps.cancel_swap, "Request withdrawn; {colleague} is told.")}


@bp.post("/oncall/swaps/<int:swap_id>/<any(accept, decline, cancel):action>")
def answer_oncall_swap(swap_id: int, action: str):
    swap = db.session.get(OnCallSwap, swap_id) if swap_id < 2**31 else None
    if swap is None:
        abort(404, description=f"No swap request with id {swap_id}.")
    change, words = SWAP_ANSWERS[action]
    try:
        change(swap, actor())
    except oncall.OnCallError as exc:
        db.session.rollback()
        if exc.status == 403:
            refuse_because(exc)
        return _my_oncall_page(actor(), problem=exc, status=exc.status)
    flash(words.format(requester=swap.requester.name, colleague=swap.colleague.name), "ok")
    return redirect(url_for("dashboard.my_oncall", _anchor="swaps"), code=303)


# --- schedules and their layers, as the JSON API changes them (app/triage/oncall.py validates) ---------

def _whole_or_text(name: str):
    """A number field: a whole number when it is one, else the text, which the rule refuses by name."""
    value = (request.form.get(name) or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else value


def _schedule_fields() -> dict:
    return {"name": request.form.get("name", ""), "description": request.form.get("description") or None,
            "service_ids": form_ids("service_ids")}


def _layer_fields() -> dict:
    """The layer form as the fields ``oncall.add_layer`` and ``update_layer`` take. Participants come
    from each developer's turn number: turns in number order, people with the same number together."""
    fields = {name: request.form.get(name, "").strip() for name in LAYER_TEXT_FIELDS}
    fields["every"] = _whole_or_text("every")
    if (request.form.get("position") or "").strip():
        fields["position"] = _whole_or_text("position")
    turns: dict[int, list[int]] = {}
    for key, value in request.form.items():
        if key.startswith("turn-") and value.strip():
            developer_id, turn = key[5:], value.strip()
            if not (developer_id.isascii() and developer_id.isdigit() and turn.isascii() and turn.isdigit()
                    and len(turn) <= 3 and len(developer_id) <= 9):
                raise oncall.OnCallError("each turn is a whole number from 1 to 999", "participants")
            turns.setdefault(int(turn), []).append(int(developer_id))
    fields["participants"] = [sorted(group) if len(group) > 1 else group[0] for _, group in sorted(turns.items())]
    fields["days"] = sorted(form_ids("days")) or None
    for name in ("window_start", "window_end"):
        fields[name] = (request.form.get(name) or "").strip() or None
    return fields


def _layer_or_404(plan: OnCallSchedule, layer_id: int) -> OnCallLayer:
    layer = db.session.get(OnCallLayer, layer_id) if layer_id < 2**31 else None
    if layer is None or layer.schedule_id != plan.id or layer.kind != "rotation":
        abort(404, description="No such rotation layer.")
    return layer


def _refused_on_schedule(plan: OnCallSchedule, exc: oncall.OnCallError, layer_id=None):
    db.session.rollback()
    if exc.status == 403:
        refuse_because(exc)
    context = _calendar_context(plan, viewer_zone(), problem=exc)
    context["layer_entered"] = {"layer_id": layer_id, **request.form.to_dict(flat=True),
                                "days": request.form.getlist("days")}
    return render_template("dashboard/oncall_schedule.html", **context), exc.status


@bp.post("/oncall/new")
def create_oncall_schedule():
    try:
        plan = oncall.create_schedule(actor(), **_schedule_fields())
    except oncall.OnCallError as exc:
        db.session.rollback()
        if exc.status == 403:
            refuse_because(exc)
        return oncall_index(problem=exc, entered=request.form.to_dict(flat=True)), exc.status
    flash(f"Schedule {plan.name} created: add a rotation layer to put people on call.", "ok")
    return redirect(url_for("dashboard.oncall_schedule", schedule_id=plan.id), code=303)


@bp.post("/oncall/<int:schedule_id>/settings")
def change_oncall_schedule(schedule_id: int):
    plan = _schedule_or_404(schedule_id)
    try:
        oncall.update_schedule(plan, actor(), **_schedule_fields())
    except oncall.OnCallError as exc:
        return _refused_on_schedule(plan, exc)
    flash("Schedule saved.", "ok")
    return _back(plan)


@bp.post("/oncall/<int:schedule_id>/layers")
def add_oncall_layer(schedule_id: int):
    plan = _schedule_or_404(schedule_id)
    try:
        layer = oncall.add_layer(plan, actor(), **_layer_fields())
    except oncall.OnCallError as exc:
        return _refused_on_schedule(plan, exc, layer_id="new")
    flash(f"Layer {layer.name} added.", "ok")
    return _back(plan)


@bp.post("/oncall/<int:schedule_id>/layers/<int:layer_id>")
def change_oncall_layer(schedule_id: int, layer_id: int):
    plan = _schedule_or_404(schedule_id)
    layer = _layer_or_404(plan, layer_id)
    try:
        oncall.update_layer(layer, actor(), **_layer_fields())
    except oncall.OnCallError as exc:
        return _refused_on_schedule(plan, exc, layer_id=layer_id)
    flash(f"Layer {layer.name} saved.", "ok")
    return _back(plan)


@bp.post("/oncall/<int:schedule_id>/layers/<int:layer_id>/remove")
def remove_oncall_layer(schedule_id: int, layer_id: int):
    plan = _schedule_or_404(schedule_id)
    layer = _layer_or_404(plan, layer_id)
    name = layer.name
    try:
        oncall.remove_layer(layer, actor())
    except oncall.OnCallError as exc:
        refuse_because(exc)
    flash(f"Layer {name} removed.", "ok")
    return _back(plan)
