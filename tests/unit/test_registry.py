"""The registry's pure parts: canonical forms, ids, the catalog built from the topic's records,
and the REST rendering that needs no Kafka."""

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kafka_io.schema_registry import (
    CONTENT_TYPE,
    InvalidSchemaException,
    InvalidVersionException,
    SchemaCatalog,
    SchemaNotFoundException,
    SubjectNotFoundException,
    VersionNotFoundException,
    canonical_form,
    id_candidates,
    parse_version,
)
from kafka_io.schema_registry_http import registry_router
from schemas import codec

A = json.dumps({"type": "record", "name": "A", "fields": [{"name": "a", "type": "string"}]})
B = json.dumps({"type": "record", "name": "B", "fields": [{"name": "b", "type": "long"}]})


def first_id(schema_str: str) -> int:
    return next(id_candidates(canonical_form(schema_str)))


def record(subject: str, schema_str: str, schema_id: int | None = None) -> dict:
    return {"subject": subject, "id": first_id(schema_str) if schema_id is None else schema_id,
            "schema": schema_str, "schemaType": "AVRO"}


def test_canonical_form_ignores_key_order_and_whitespace():
    reordered = json.dumps(dict(reversed(json.loads(A).items())), indent=4)
    assert canonical_form(reordered) == canonical_form(A)


def test_canonical_form_keeps_what_changes_a_reader_such_as_logical_types():
    plain = json.dumps({"type": "long"})
    assert canonical_form(json.dumps({"type": "long", "logicalType": "timestamp-millis"})) != canonical_form(plain)


@pytest.mark.parametrize("schema_str", ["not json", '{"type": "record"}', '"nosuchtype"', "{}"])
def test_canonical_form_rejects_what_is_not_an_avro_schema(schema_str):
    with pytest.raises(InvalidSchemaException):
        canonical_form(schema_str)


@pytest.mark.parametrize("schema_type", ["JSON", "PROTOBUF", "avro"])
def test_only_avro_is_accepted(schema_type):
    with pytest.raises(InvalidSchemaException, match="only AVRO"):
        canonical_form('"string"', schema_type)


def test_ids_are_31_bit_nonzero_and_deterministic():
    for schema_str in (A, B, codec.value_schema_str(), codec.key_schema_str()):
        ids = list(id_candidates(canonical_form(schema_str)))
        assert ids == list(id_candidates(canonical_form(schema_str)))
        assert len(set(ids)) == len(ids) > 10
        assert all(0 < i < 2**31 for i in ids)


def test_versions_are_the_order_of_distinct_schemas_per_subject():
    catalog = SchemaCatalog()
    for value in (record("s", A), record("s", B), record("s", A), record("t", B)):
        assert catalog.apply(value)
    assert catalog.versions("s") == [1, 2]
    assert catalog.versions("t") == [1]
    assert catalog.version("s", 2) == {"subject": "s", "version": 2, "id": first_id(B), "schema": B}
    assert catalog.version("s", "latest") == catalog.version("s", 2)
    assert catalog.version("t", 1)["id"] == first_id(B)  # one id across subjects
    assert catalog.id_versions(first_id(B)) == [{"subject": "s", "version": 2}, {"subject": "t", "version": 1}]
    assert catalog.subjects() == ["s", "t"]


def test_an_id_taken_by_another_schema_goes_to_the_earlier_record():
    catalog = SchemaCatalog()
    assert catalog.apply(record("s", A, schema_id=first_id(B)))  # A holds B's first candidate
    assert not catalog.apply(record("s", B))  # B's record with that id loses
    assert catalog.schema(first_id(B))[0] == A
    second = catalog.free_id(canonical_form(B))
    assert second == list(id_candidates(canonical_form(B)))[1]
    assert catalog.apply(record("s", B, schema_id=second))
    assert catalog.version("s", 2)["id"] == second


def test_a_known_schema_keeps_its_id_whatever_a_later_record_says():
    catalog = SchemaCatalog()
    catalog.apply(record("s", A))
    assert catalog.apply(record("t", A, schema_id=12345))
    assert catalog.version("t", 1)["id"] == first_id(A)
    assert 12345 not in catalog.schemas


def test_lookup_finds_a_schema_only_under_its_subjects():
    catalog = SchemaCatalog()
    catalog.apply(record("s", A))
    catalog.apply(record("t", B))
    assert catalog.lookup("s", canonical_form(A))["version"] == 1
    with pytest.raises(SchemaNotFoundException):
        catalog.lookup("s", canonical_form(B))
    with pytest.raises(SubjectNotFoundException, match="Subject 'u' not found."):
        catalog.lookup("u", canonical_form(A))


def test_missing_subjects_versions_and_ids_raise_confluents_errors():
    catalog = SchemaCatalog()
    catalog.apply(record("s", A))
    with pytest.raises(SubjectNotFoundException):
        catalog.versions("x")
    with pytest.raises(VersionNotFoundException, match="Version 2 not found."):
        catalog.version("s", 2)
    with pytest.raises(SchemaNotFoundException, match="Schema 7 not found."):
        catalog.schema(7)


@pytest.mark.parametrize("text, number", [("latest", None), ("-1", None), (-1, None), ("1", 1), (3, 3),
                                           (str(2**31 - 1), 2**31 - 1)])
def test_parse_version(text, number):
    assert parse_version(text) == number


@pytest.mark.parametrize("text", ["0", "-2", "x", "1.5", str(2**31), ""])
def test_parse_version_rejects_what_confluent_rejects(text):
    with pytest.raises(InvalidVersionException):
        parse_version(text)


def test_a_registry_not_started_yet_answers_503():
    app = FastAPI()
    app.include_router(registry_router(lambda: None))
    with TestClient(app) as starting:
        for response in (starting.get("/subjects"), starting.post("/subjects/s/versions", json={"schema": '"int"'})):
            assert response.status_code == 503
            assert response.headers["content-type"] == CONTENT_TYPE
            assert response.json()["error_code"] == 50003


class Broken:
    def subjects(self):
        raise RuntimeError("boom")


def test_unexpected_errors_and_unreadable_bodies_get_confluent_bodies():
    app = FastAPI()
    app.include_router(registry_router(lambda: Broken()))
    with TestClient(app) as client:
        assert client.get("/subjects").json() == {"error_code": 50001, "message": "Error in the backend data store"}
        response = client.post("/subjects/s/versions", content=b"{", headers={"Content-Type": CONTENT_TYPE})
        assert (response.status_code, response.json()["error_code"]) == (400, 400)
