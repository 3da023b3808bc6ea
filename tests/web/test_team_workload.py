"""One count of the team's load: the JSON API, the dashboard's developers page and routing agree."""
from __future__ import annotations

import re

from app.extensions import db
from app.models import SEVERITY_LEVEL, ErrorLog
from app.triage import changes as triage
from app.triage import oncall, routing
from tests.factories import make_developer, make_service

PASSWORD = "correct horse battery"


def error_of(service, n: int, severity: str) -> ErrorLog:
    error = ErrorLog(service_id=service.id, fingerprint=f"{n:040d}", severity=severity,
                     severity_level=SEVERITY_LEVEL[severity], error_type=f"LoadError{n}", message="m",
                     status="new", occurrence_count=1, regression_count=0)
    db.session.add(error)
    db.session.commit()
    return error


def give(service, lead, developer, open_severities: list[str], resolved: int, start: int) -> None:
    """Assign ``developer`` open errors of these severities and ``resolved`` errors they resolved."""
    for i, severity in enumerate(open_severities):
        triage.assign_error(error_of(service, start + i, severity), developer, lead)
    for i in range(resolved):
        error = error_of(service, start + 100 + i, "critical")
        triage.assign_error(error, developer, lead)
        triage.resolve_error(error, lead)


def page_loads(client, developers) -> dict[int, str]:
    body = client.get("/developers").get_data(as_text=True)
    loads = {}
    for developer in developers:
        row = re.search(rf'<tr id="developer-{developer.id}".*?</tr>', body, re.S).group(0)
        loads[developer.id] = re.search(r'<span class="(?:over)?">(\d+)/\d+</span>', row).group(1)
    return loads


def test_the_api_the_developers_page_and_routing_count_the_same_load(client, api, lead):
    payments = make_service("Payments")
    ana = make_developer("Ana", services=[payments], max_load=10)
    ben = make_developer("Ben", services=[payments], max_load=10)
    cai = make_developer("Cai", services=[payments], max_load=10)
    give(payments, lead, ana, ["critical", "high", "medium"], resolved=1, start=1000)
    give(payments, lead, ben, ["low"], resolved=4, start=2000)  # most errors in all, fewest open
    give(payments, lead, cai, ["high", "high"], resolved=0, start=3000)
    ignored = error_of(payments, 3500, "critical")
    triage.assign_error(ignored, cai, lead)
    triage.set_status(ignored, "ignored", lead)  # not open: no load
    team = [ana, ben, cai]
    expected = {ana.id: 3, ben.id: 1, cai.id: 2}

    workload = {item["developer_id"]: item for item in api.get("/api/developers/workload/").json["items"]}
    assert {d.id: workload[d.id]["current_load"] for d in team} == expected
    assert workload[ana.id]["open_by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 0, "info": 0}
    assert workload[cai.id]["open_by_severity"]["high"] == 2
    listed = {item["id"]: item["current_load"] for item in api.get("/api/developers/").json["items"]}
    assert {d.id: listed[d.id] for d in team} == expected

    assert client.post("/login", data={"email": lead.email, "password": PASSWORD}).status_code == 303
    assert {k: int(v) for k, v in page_loads(client, team).items()} == expected

    for developer in team:
        oncall.switch(developer, True)
    db.session.commit()
    assert [(d.name, load) for d, load in routing.candidates(payments.id)] == [("Ben", 1), ("Cai", 2), ("Ana", 3)]
    decision = routing.route_error(error_of(payments, 4000, "high").id, "error.created")
    assert decision.assignee_id == ben.id and "1 open of 10" in decision.reason
