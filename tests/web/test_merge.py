"""Merging errors and the unmerge, through the JSON API and the dashboard, and ingest after a merge: new
events of either fingerprint arrive in the merged error, through the real ingest endpoint and in one batch."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.ingest.sources import NORMALISERS
from app.models import AuditEvent, ErrorFacet, ErrorLog, ErrorOccurrence
from app.recording.record import record_errors
from tests.factories import ApiClient, drain_ingest_writer, ingest, make_developer, make_service, make_token

PASSWORD = "correct horse battery"


@pytest.fixture
def lead(app, service):
    """Nobody is on call: routing assigns nothing, so every assignment here is the test's own."""
    return make_developer("Lena Lead", role="lead", services=[service])


def record(client, service, fingerprint: str, **fields) -> str:
    payload = {"error_type": f"Error{fingerprint.title()}", "message": "boom", "fingerprint": [fingerprint],
               **fields}
    response = ingest(client, service, payload)
    assert response.status_code == 201, response.json
    return response.json["error_id"]


def fresh(error_id: str) -> ErrorLog:
    db.session.expire_all()
    return db.session.get(ErrorLog, error_id)


def events_of(error_id: str) -> set[str]:
    return set(db.session.execute(db.select(ErrorOccurrence.id).where(ErrorOccurrence.error_id == error_id)).scalars())


def facets_of(error_id: str) -> dict[tuple[str, str], int]:
    return dict(((k, v), n) for k, v, n in db.session.execute(
        db.select(ErrorFacet.key, ErrorFacet.value, ErrorFacet.events).where(ErrorFacet.error_id == error_id)))


@pytest.fixture
def pair(client, service):
    """Two errors of one service: "a" seen 3 times (production, users 1 and 2), "b" twice (staging, users 2
    and 3, the second time critical)."""
    a = record(client, service, "a", environment="production", user={"id": 1})
    record(client, service, "a", environment="production", user={"id": 2})
    record(client, service, "a", environment="production", user={"id": 1})
    b = record(client, service, "b", environment="staging", user={"id": 2})
    record(client, service, "b", environment="staging", user={"id": 3}, severity="critical")
    return a, b


def test_merge_moves_events_counts_and_facets_and_audits_it(api, pair, lead):
    a, b = pair
    before_a, before_b = events_of(a), events_of(b)
    response = api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["error"]["error_id"] == a and [e["error_id"] for e in body["merged"]] == [b]
    assert body["merged"][0]["kind"] == "merged" and body["merged"][0]["merged_into"] == a
    assert (body["error"]["occurrence_count"], body["error"]["users"], body["error"]["severity"]) == (5, 3, "critical")

    assert events_of(a) == before_a | before_b and events_of(b) == set()
    assert facets_of(a)[("environment", "staging")] == 2 and facets_of(a)[("user", "id:2")] == 2
    assert facets_of(b) == {}
    source = fresh(b)
    assert (source.kind, source.status, source.merged_into_id, source.assigned_to_id) == ("merged", "ignored", a, None)
    # Listed once: the merged error is in no list.
    assert [e["error_id"] for e in api.get("/api/errors/?status=").json["items"]] == [a]
    assert [e["error_id"] for e in api.get("/api/errors/?status=&kind=all").json["items"]] == [a]
    actions = db.session.execute(db.select(AuditEvent.action, AuditEvent.error_id, AuditEvent.actor_id)
                                 .where(AuditEvent.action.like("error.merged%")).order_by(AuditEvent.id)).all()
    assert actions == [("error.merged_into", b, lead.id), ("error.merged", a, lead.id)]
    detail = api.get(f"/api/errors/{b}/").json
    assert detail["merged_into"] == a
    stats = api.get("/api/errors/stats/").json  # counted once, as the error it went into
    assert sum(stats["by_status"].values()) == 1 and stats["by_service"][0]["errors"] == 1


def test_new_events_of_either_fingerprint_arrive_in_the_merged_error(api, client, service, pair):
    a, b = pair
    api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    response = ingest(client, service, {"error_type": "ErrorB", "message": "boom", "fingerprint": ["b"],
                                        "environment": "canary", "user": {"id": 9}})
    assert response.status_code == 201, response.json
    assert response.json["error_id"] == a and response.json["new"] is False
    assert record(client, service, "a") == a
    target = fresh(a)
    assert (target.occurrence_count, target.users_count) == (7, 4)
    assert facets_of(a)[("environment", "canary")] == 1
    stored = db.session.get(ErrorOccurrence, response.json["occurrence_id"])
    assert (stored.error_id, stored.fingerprint) == (a, fresh(b).fingerprint)
    # The merged error's own row keeps counting its fingerprint's events (the unmerge gives them back).
    assert fresh(b).occurrence_count == 3


def test_the_group_commit_writer_sends_both_fingerprints_to_the_merged_error(app, api, service, pair):
    import threading

    a, b = pair
    api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    app.config.update(INGEST_BATCH_MAX=50, INGEST_BATCH_WAIT_MS=30)
    answers = []

    def post(n: int):
        response = ingest(app.test_client(), service, {"error_type": "E", "message": "m",
                                                        "fingerprint": ["ab"[n % 2]], "user": {"id": 100 + n % 3}})
        answers.append(response.json["error_id"])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain_ingest_writer(service)
    assert answers == [a] * 8
    target = fresh(a)
    assert (target.occurrence_count, target.users_count) == (5 + 8, 3 + 3)
    assert len(events_of(a)) == 13 and fresh(b).occurrence_count == 2 + 4


def test_one_batch_with_both_fingerprints_and_a_regression(api, service, pair):
    a, b = pair
    api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    api.post(f"/api/errors/{a}/resolve/", json={})

    def event(fingerprint):
        return NORMALISERS["api"]({"error_type": "E", "message": "m", "fingerprint": [fingerprint]}, service.id)

    results = record_errors([event("b"), event("a"), event("b")])
    assert {r.error_id for r in results} == {a}
    assert [r.regressed for r in results].count(True) == 1 and not any(r.is_new for r in results)
    target = fresh(a)
    assert (target.status, target.occurrence_count, target.regression_count) == ("new", 8, 1)
    regressions = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "error.regressed")).scalars().all()
    assert [r.error_id for r in regressions] == [a]


def test_unmerge_gives_each_error_back_its_events_state_and_facets(api, client, service, pair, lead):
    a, b = pair
    dev = make_developer("Dora Dev", services=[service], password=None)
    api.post(f"/api/errors/{b}/assign/", json={"developer_id": dev.id})
    api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    later = ingest(client, service, {"error_type": "ErrorB", "message": "boom", "fingerprint": ["b"],
                                     "user": {"id": 5}}).json["occurrence_id"]
    response = api.post(f"/api/errors/{a}/unmerge/")
    assert response.status_code == 200, response.json
    assert [e["error_id"] for e in response.json["unmerged"]] == [b]
    assert (response.json["error"]["occurrence_count"], response.json["error"]["users"]) == (3, 2)

    source = fresh(b)
    assert (source.kind, source.status, source.assigned_to_id, source.merged_into_id) == ("error", "assigned", dev.id,
                                                                                          None)
    assert (source.occurrence_count, source.users_count) == (3, 3)
    assert later in events_of(b) and len(events_of(b)) == 3 and len(events_of(a)) == 3
    assert facets_of(b)[("environment", "staging")] == 2 and ("user", "id:5") in facets_of(b)
    assert ("environment", "staging") not in facets_of(a)
    # Apart again: each fingerprint to its own error.
    assert record(client, service, "b") == b
    assert api.post(f"/api/errors/{a}/unmerge/").status_code == 409
    actions = [r for r in db.session.execute(db.select(AuditEvent.action).where(
        AuditEvent.action.like("error.unmerged%")).order_by(AuditEvent.id)).scalars()]
    assert actions == ["error.unmerged_from", "error.unmerged"]


def test_merging_an_error_others_were_merged_into_brings_them_along(api, client, service, pair):
    a, b = pair
    c = record(client, service, "c")
    api.post(f"/api/errors/{b}/merge/", json={"error_ids": [c]})
    assert api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]}).status_code == 200
    assert fresh(c).merged_into_id == a
    assert record(client, service, "c") == a
    assert {e["error_id"] for e in api.post(f"/api/errors/{a}/unmerge/", json={"error_ids": [c]}).json["unmerged"]} \
        == {c}
    assert len(events_of(c)) == 2 and fresh(b).merged_into_id == a


def test_bad_merges_are_refused_naming_the_field(api, client, service, pair):
    a, b = pair
    other = record(client, make_service("Other"), "x")

    def refused(target, body, status, field="error_ids"):
        response = api.post(f"/api/errors/{target}/merge/", json=body)
        assert response.status_code == status, response.json
        assert response.json["error"]["field"] == field, response.json
        return response.json["error"]["message"]

    assert "itself" in refused(a, {"error_ids": [a]}, 400)
    assert "another service" in refused(a, {"error_ids": [other]}, 400)
    assert "no error" in refused(a, {"error_ids": ["00000000-0000-4000-8000-000000000000"]}, 400)
    refused(a, {"error_ids": []}, 400)
    refused(a, {}, 400)
    refused(a, {"error_ids": "b"}, 400)
    refused(a, {"error_ids": ["x" * 37]}, 400, "error_ids.0")
    api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    assert "already" in refused(a, {"error_ids": [b]}, 409)
    assert api.post(f"/api/errors/{b}/merge/", json={"error_ids": [a]}).status_code == 409
    assert api.post(f"/api/errors/{a}/unmerge/", json={"error_ids": [other]}).json["error"]["field"] == "error_ids"
    assert fresh(a).occurrence_count == 5  # nothing refused changed anything


def test_a_developer_may_not_merge_errors_assigned_to_someone_else(client, api, service, pair):
    a, b = pair
    dev = make_developer("Dora Dev", services=[service], password=None)
    other = make_developer("Omar Other", services=[service], password=None)
    api.post(f"/api/errors/{b}/assign/", json={"developer_id": other.id})
    dev_api = ApiClient(client, make_token(dev))
    assert dev_api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]}).status_code == 403
    assert fresh(b).merged_into_id is None
    api.post(f"/api/errors/{b}/assign/", json={"developer_id": dev.id})
    assert dev_api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]}).status_code == 200


# --- the dashboard -------------------------------------------------------------------------------

def test_bulk_merge_from_the_list_merges_into_the_error_with_most_events(client, pair, lead):
    a, b = pair
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    response = client.post("/errors/bulk", data={"action": "merge", "error_id": [b, a], "next": "/errors"})
    assert response.status_code == 303
    assert fresh(b).merged_into_id == a
    page = client.get("/errors").get_data(as_text=True)
    assert "1 error merged into ErrorA" in page and f'href="/errors/{b}"' not in page
    detail = client.get(f"/errors/{a}").get_data(as_text=True)
    assert 'id="merged-from"' in detail and f'href="/errors/{b}"' in detail
    assert "merged 1 error into it" in detail and f'action="/errors/{a}/resolve"' in detail
    merged = client.get(f"/errors/{b}").get_data(as_text=True)
    assert "Merged into" in merged and f'href="/errors/{a}"' in merged
    assert f'action="/errors/{b}/resolve"' not in merged  # triaged as the error it went into


def test_bulk_merge_needs_two_errors(client, pair, lead):
    a, _ = pair
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    response = client.post("/errors/bulk", data={"action": "merge", "error_id": [a], "next": "/errors"})
    assert response.status_code == 400 and "at least two" in response.get_data(as_text=True)


def test_unmerge_from_the_error_page(client, api, pair, lead):
    a, b = pair
    api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    response = client.post(f"/errors/{a}/unmerge", data={"error_id": [b]})
    assert response.status_code == 303
    assert fresh(b).merged_into_id is None and len(events_of(b)) == 2
    again = client.post(f"/errors/{a}/unmerge", data={})
    assert again.status_code == 409 and "No error is merged into this one." in again.get_data(as_text=True)


def hourly_of(error_id: str) -> int:
    from app.models import ErrorHourlyCount

    return db.session.execute(db.select(db.func.coalesce(db.func.sum(ErrorHourlyCount.events), 0))
                              .where(ErrorHourlyCount.error_id == error_id)).scalar_one()


def test_the_hourly_counts_move_with_a_merge_and_come_back_with_the_unmerge(api, client, service, pair):
    a, b = pair
    assert (hourly_of(a), hourly_of(b)) == (3, 2)
    api.post(f"/api/errors/{a}/merge/", json={"error_ids": [b]})
    assert (hourly_of(a), hourly_of(b)) == (5, 0)
    assert api.get(f"/api/errors/{a}/chart/?period=24h").json["total"] == 5
    record(client, service, "b")  # arrives in the merged error: counted there
    assert (hourly_of(a), hourly_of(b)) == (6, 0)
    api.post(f"/api/errors/{a}/unmerge/")
    assert (hourly_of(a), hourly_of(b)) == (3, 3)
    assert api.get(f"/api/errors/{b}/chart/?period=24h").json["total"] == 3
