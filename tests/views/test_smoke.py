from tests.factories import ingest


def test_ingest_then_list(api, client, service):
    response = ingest(client, service, {"error_type": "ValueError", "message": "boom"})
    assert response.status_code == 201, response.json
    listed = api.get("/api/errors/").json
    assert listed["total"] == 1
