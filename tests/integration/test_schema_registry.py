"""The schema registry kept in Kafka, served over Confluent's REST API on a live port: what
confluent_kafka's SchemaRegistryClient, AvroSerializer and AvroDeserializer need, ids shared by
every instance on the same cluster, and Confluent's error bodies."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from confluent_kafka import TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastapi import FastAPI

from cdc_bridge.broker import free_port
from kafka_io.client import Kafka, read_to_end
from kafka_io.schema_registry import (
    CONTENT_TYPE,
    KafkaSchemaRegistry,
    RemoteSchemaRegistry,
    canonical_form,
    id_candidates,
)
from kafka_io.schema_registry_http import registry_router
from schemas import codec

pytestmark = pytest.mark.timeout(60)

EVENT = {
    "eventID": "0f5a3c2e9b7d4e1f8a6b5c4d3e2f1a0b",
    "eventName": "MODIFY",
    "eventVersion": "1.1",
    "eventSource": "aws:dynamodb",
    "awsRegion": "us-east-1",
    "tableName": "users",
    "dynamodb": {
        "ApproximateCreationDateTime": 1_700_000_000_123,
        "Keys": {"pk": {"S": "user#1"}},
        "NewImage": {"pk": {"S": "user#1"}, "n": {"N": "-1.5"}, "b": {"B": "AAEC"},
                     "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}, {"SS": ["a", "b"]}]}}}},
        "OldImage": {"pk": {"S": "user#1"}, "n": {"N": "7"}},
        "SizeBytes": 61,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
}


def record_schema(name: str, *fields: str) -> str:
    return json.dumps({"type": "record", "name": name, "namespace": "io.cdcbridge.test",
                       "fields": [{"name": f, "type": "string"} for f in fields]})


def subject(kind: str = "value") -> str:
    return f"t-{uuid.uuid4().hex[:10]}-{kind}"


@pytest.fixture(scope="module")
def kafka(broker):
    return Kafka(broker.bootstrap_servers)


@pytest.fixture(scope="module")
def topic():
    return f"_cdc_bridge_schemas_test_{uuid.uuid4().hex[:8]}"  # isolated from other test modules


@pytest.fixture(scope="module")
def registry(kafka, topic):
    registry = KafkaSchemaRegistry(kafka, topic)
    registry.start(timeout_s=30)
    yield registry
    registry.stop()


def serve(app: FastAPI):
    """Run `app` under uvicorn on a free loopback port in a thread; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture(scope="module")
def url(registry):
    app = FastAPI()
    app.include_router(registry_router(lambda: registry))
    yield from serve(app)


@pytest.fixture(scope="module")
def http(url):
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client


def client(url: str) -> SchemaRegistryClient:
    """A fresh client: nothing cached, every answer comes from our endpoints."""
    return SchemaRegistryClient({"url": url})


# -- the REST API ---------------------------------------------------------------------------------


def test_register_then_read_back_through_every_endpoint(http):
    name, schema_str = subject(), record_schema("A", "a")
    response = http.post(f"/subjects/{name}/versions", json={"schema": schema_str},
                         headers={"Content-Type": CONTENT_TYPE})
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    schema_id = response.json()["id"]
    registered = {"subject": name, "version": 1, "id": schema_id, "schema": schema_str}

    assert name in http.get("/subjects").json()
    assert http.get(f"/subjects/{name}/versions").json() == [1]
    for version in ("1", "latest", "-1"):
        assert http.get(f"/subjects/{name}/versions/{version}").json() == registered
    assert json.loads(http.get(f"/subjects/{name}/versions/1/schema").content) == json.loads(schema_str)
    assert http.post(f"/subjects/{name}", json={"schema": schema_str}).json() == registered
    assert http.get(f"/schemas/ids/{schema_id}").json() == {"schema": schema_str}
    assert http.get(f"/schemas/ids/{schema_id}/versions").json() == [{"subject": name, "version": 1}]
    assert http.get(f"/schemas/ids/{schema_id}/subjects").json() == [name]
    assert http.get("/schemas/types").json() == ["AVRO"]
    assert http.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert http.get(f"/config/{name}").json() == {"compatibilityLevel": "BACKWARD"}


def test_versions_increment_per_subject_and_a_known_schema_keeps_its_id(registry):
    name, other = subject(), subject()
    first, second = record_schema("B", "a"), record_schema("B", "a", "b")
    first_id = registry.register(name, first)
    second_id = registry.register(name, second)
    assert registry.register(name, first) == first_id  # no new version
    assert registry.versions(name) == [1, 2]
    assert registry.version(name, 2)["id"] == second_id
    assert registry.version(name, "latest")["version"] == 2

    assert registry.register(other, second) == second_id  # one id across subjects
    assert registry.versions(other) == [1]


def test_the_id_is_derived_from_the_canonical_form(registry):
    schema_str = record_schema("C", "x")
    reordered = json.dumps(dict(reversed(json.loads(schema_str).items())), indent=2)
    schema_id = registry.register(subject(), schema_str)
    assert schema_id == next(id_candidates(canonical_form(schema_str)))
    assert registry.register(subject(), reordered) == schema_id
    assert registry.lookup(subject_with(registry, schema_id), reordered)["id"] == schema_id


def subject_with(registry: KafkaSchemaRegistry, schema_id: int) -> str:
    return registry.id_versions(schema_id)[0]["subject"]


def test_every_instance_serves_the_same_ids_and_versions(kafka, topic, registry):
    name = subject()
    ids = [registry.register(name, record_schema("D", *"abc"[:n])) for n in (1, 2)]
    late = KafkaSchemaRegistry(kafka, topic)
    late.start(timeout_s=30)  # started after the first one registered
    try:
        assert late.versions(name) == [1, 2]
        assert [late.version(name, v)["id"] for v in (1, 2)] == ids
        assert set(late.subjects()) == set(registry.subjects())

        # both register at once: the same new schema, and each a schema of its own
        shared = record_schema("D", "shared")
        jobs = [(registry, shared), (late, shared),
                (registry, record_schema("D", "r")), (late, record_schema("D", "l"))]
        with ThreadPoolExecutor(len(jobs)) as pool:
            got = list(pool.map(lambda job: job[0].register(name, job[1]), jobs))
        assert got[0] == got[1]
        for instance in (registry, late):  # the record read last may still be in flight to the other
            wait_for(lambda: len(instance.versions(name)) == 5)
        assert [late.version(name, v) for v in range(1, 6)] == [registry.version(name, v) for v in range(1, 6)]
        assert sorted(registry.version(name, v)["id"] for v in (3, 4, 5)) == sorted({*got})
    finally:
        late.stop()


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize("method, path, body, status, code", [
    ("GET", "/subjects/nope/versions", None, 404, 40401),
    ("GET", "/subjects/nope/versions/latest", None, 404, 40401),
    ("GET", "/subjects/{known}/versions/9", None, 404, 40402),
    ("GET", "/subjects/{known}/versions/zero", None, 422, 42202),
    ("GET", "/subjects/{known}/versions/0", None, 422, 42202),
    ("GET", "/schemas/ids/1", None, 404, 40403),
    ("POST", "/subjects/nope", {"schema": '"string"'}, 404, 40401),
    ("POST", "/subjects/{known}", {"schema": '"long"'}, 404, 40403),
    ("POST", "/subjects/{known}/versions", {"schema": '{"type": "record"}'}, 422, 42201),
    ("POST", "/subjects/{known}/versions", {"schema": "not json"}, 422, 42201),
    ("POST", "/subjects/{known}/versions", {}, 422, 42201),
    ("POST", "/subjects/{known}/versions", {"schema": '{"type": "object"}', "schemaType": "JSON"}, 422, 42201),
])
def test_errors_have_confluent_bodies(http, registry, method, path, body, status, code):
    known = subject()
    registry.register(known, '"string"')
    response = http.request(method, path.format(known=known), json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.json()["error_code"] == code
    assert response.json()["message"]


def test_error_messages_are_confluents(http):
    assert http.get("/subjects/nope/versions").json() == {"error_code": 40401, "message": "Subject 'nope' not found."}
    assert http.get("/schemas/ids/1").json() == {"error_code": 40403, "message": "Schema 1 not found."}


# -- confluent_kafka's own client and serdes ------------------------------------------------------


def test_schema_registry_client_reads_what_it_registered(url, registry):
    name, schema_str = subject(), record_schema("E", "e")
    schema_id = client(url).register_schema(name, Schema(schema_str, "AVRO"))
    assert schema_id == registry.version(name, 1)["id"]

    fresh = client(url)
    assert fresh.get_schema(schema_id).schema_str == schema_str
    latest = fresh.get_latest_version(name)
    assert (latest.schema_id, latest.version, latest.subject) == (schema_id, 1, name)
    assert latest.schema.schema_str == schema_str
    found = fresh.lookup_schema(name, Schema(schema_str, "AVRO"))
    assert (found.schema_id, found.version) == (schema_id, 1)
    assert fresh.get_version(name, 1).schema_id == schema_id
    assert fresh.get_versions(name) == [1]
    assert name in fresh.get_subjects()
    assert fresh.get_compatibility(name) == "BACKWARD"


def test_remote_registry_registers_through_the_confluent_client(url, registry):
    name = subject()
    remote = RemoteSchemaRegistry(url)
    try:
        schema_id = remote.register(name, codec.key_schema_str())
        assert schema_id == registry.version(name, "latest")["id"]
        assert remote.schema(schema_id) == codec.key_schema_str()
    finally:
        remote.stop()


def test_avro_serializer_and_deserializer_round_trip_a_change_event(url):
    context = SerializationContext(f"t-{uuid.uuid4().hex[:10]}", MessageField.VALUE)
    data = AvroSerializer(client(url), codec.value_schema_str())(codec.to_avro_event(EVENT), context)
    assert codec.decode_event(codec.unframe(data)[1]) == EVENT
    assert codec.from_avro_event(AvroDeserializer(client(url))(data, context)) == EVENT


def test_a_stock_consumer_decodes_the_records_we_frame(url, registry, kafka):
    topic = f"t-events-{uuid.uuid4().hex[:8]}"
    value_id = registry.register(f"{topic}-value", codec.value_schema_str())
    key_id = registry.register(f"{topic}-key", codec.key_schema_str())
    kafka.ensure_topic(topic, 1, {})
    producer = kafka.producer()
    producer.produce(topic, codec.frame(value_id, codec.encode_event(EVENT)),
                     codec.frame(key_id, codec.encode_key(EVENT["dynamodb"]["Keys"])))
    assert producer.flush(30) == 0

    reader = kafka.reader()
    try:
        reader.assign([TopicPartition(topic, 0, 0)])
        [message] = list(read_to_end(reader, 30))
    finally:
        reader.close()
    deserializer = AvroDeserializer(client(url))
    value = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))
    key = deserializer(message.key(), SerializationContext(topic, MessageField.KEY))
    assert codec.from_avro_event(value) == EVENT
    assert {name: codec.from_avro_value(av) for name, av in key["Keys"].items()} == EVENT["dynamodb"]["Keys"]
