"""The MongoDB mirror: documents that satisfy their validators, indexes that follow retention, and
an outage that delays the mirror without losing anything (mongomock; a real server when MONGO_URL is set)."""
from __future__ import annotations

import datetime as dt
import os

import mongomock
import pymongo
import pytest
import time_machine

from app.extensions import db
from app.jobs.scheduled import run_job
from app.models import ScheduledJob
from app.models.types import utcnow
from app.platform import mirror
from app.platform import settings
from app.triage import changes as triage
from tests.factories import ingest, make_developer, make_service
from tests.receivers import smtp_server  # noqa: F401  (the fixture)

BSON_TYPES = {"string": str, "int": int, "long": int, "date": dt.datetime, "array": list, "object": dict,
              "null": type(None), "bool": bool, "double": float}


def schema_problems(document: dict, schema: dict) -> list[str]:
    """A small $jsonSchema check (bsonType, required, enum, properties): what a server would refuse."""
    problems = [f"missing {name}" for name in schema.get("required", []) if name not in document]
    for name, rule in schema.get("properties", {}).items():
        if name not in document:
            continue
        value = document[name]
        kinds = rule.get("bsonType")
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if not any(isinstance(value, BSON_TYPES[k]) and not (k in ("int", "long") and isinstance(value, bool))
                       for k in kinds):
                problems.append(f"{name}: {type(value).__name__} is not {kinds}")
        if "enum" in rule and value not in rule["enum"]:
            problems.append(f"{name}: {value!r} not in {rule['enum']}")
    return problems


@pytest.fixture
def documents():
    return mongomock.MongoClient(tz_aware=True)["heartwatch"]


def some_activity(client):
    service = make_service("Mirror Service")
    developer = make_developer(services=[service], on_call=True)
    for n in range(3):
        response = ingest(client, service, {"error_type": f"MirrorError{n}", "message": f"failure {n}", "severity": "high",
                                            "stack_trace": "Error\n    at run (app.js:1:1)"})
        assert response.status_code == 201
    return service, developer


def test_every_kind_of_row_is_mirrored_and_satisfies_its_validator(app, client, documents, smtp_server):  # noqa: F811
    smtp_server.configure(app.config)
    some_activity(client)
    from app.reports.patterns import analyze_patterns

    analyze_patterns()
    result = mirror.mirror_changes(database=documents)

    assert result["errors"] == 3 and result["occurrences"] == 3 and result["notifications"] == 3
    assert result["assignments"] == 3
    for name, schema in mirror.SCHEMAS.items():
        for document in documents[name].find():
            assert schema_problems(document, schema) == [], (name, document)
    occurrence = documents.occurrences.find_one()
    assert occurrence["frames"] and occurrence["received_at"].tzinfo is not None


def test_indexes_follow_the_queries_and_the_retention_settings(app, documents):
    mirror.ensure_schema(documents)
    occurrences = documents.occurrences.index_information()
    assert occurrences["ttl_received_at"]["expireAfterSeconds"] == 90 * 86400
    assert any(info["key"] == [("error_id", 1), ("timestamp", -1)] for info in occurrences.values())
    assert documents.errors.index_information()["ttl_resolved_at"]["expireAfterSeconds"] == 90 * 86400

    settings.update_setting("retention_days", 30, None)
    mirror.ensure_schema(documents)
    assert documents.occurrences.index_information()["ttl_received_at"]["expireAfterSeconds"] == 30 * 86400


def test_rerunning_the_mirror_changes_nothing_and_picks_up_new_state(app, client, documents):
    service, developer = some_activity(client)
    mirror.mirror_changes(database=documents)
    mirror.mirror_changes(database=documents)
    assert documents.errors.count_documents({}) == 3 and documents.occurrences.count_documents({}) == 3

    error_id = documents.errors.find_one({"error_type": "MirrorError0"})["_id"]
    from app.models import ErrorLog

    triage.resolve_error(db.session.get(ErrorLog, error_id), developer, "fixed")
    mirror.mirror_changes(database=documents)
    assert documents.errors.find_one({"_id": error_id})["status"] == "resolved"


def test_a_mongodb_outage_delays_the_mirror_and_loses_nothing(app, client, documents):
    down = pymongo.MongoClient("mongodb://127.0.0.1:1/", serverSelectionTimeoutMS=200, connectTimeoutMS=200)["heartwatch"]
    start = utcnow()
    service = make_service("Outage")
    make_developer(services=[service], on_call=True)

    def post(kind):
        assert ingest(client, service, {"error_type": kind, "message": kind}).status_code == 201

    post("BeforeTheOutage")
    run_job("mirror_to_mongodb", lambda: mirror.mirror_changes(database=documents))
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=True):
        post("DuringTheOutage")
        with pytest.raises(pymongo.errors.PyMongoError):
            run_job("mirror_to_mongodb", lambda: mirror.mirror_changes(database=down))
        job = db.session.get(ScheduledJob, "mirror_to_mongodb")
        db.session.refresh(job)
        assert job.last_status == "failed" and job.last_result["mirrored_until"] <= (start + dt.timedelta(minutes=1)).isoformat()
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=True):
        post("AfterTheOutage")
        run_job("mirror_to_mongodb", lambda: mirror.mirror_changes(database=documents))

    types = sorted(d["error_type"] for d in documents.errors.find())
    assert types == ["AfterTheOutage", "BeforeTheOutage", "DuringTheOutage"]
    assert documents.occurrences.count_documents({}) == 3


@pytest.mark.skipif(not os.environ.get("MONGO_URL"), reason="MONGO_URL is not set: no MongoDB server to mirror to")
def test_mirror_against_a_real_mongodb(app, client):
    database = mirror.connect(os.environ["MONGO_URL"], f"heartwatch_test_{os.getpid()}")
    try:
        some_activity(client)
        result = mirror.mirror_changes(database=database)
        assert result["errors"] == 3
        options = database.errors.options()
        assert "$jsonSchema" in options.get("validator", {})
        with pytest.raises(pymongo.errors.WriteError):
            database.errors.insert_one({"_id": "bad", "severity": "apocalyptic"})
    finally:
        database.client.drop_database(database.name)
