"""Schema registry: where the ids in our records' Confluent framing come from.

With `SCHEMA_REGISTRY_URL` set, `RemoteSchemaRegistry` registers schemas in that registry
(Confluent Schema Registry, Karapace, Apicurio's Confluent API...). Without it,
`KafkaSchemaRegistry` keeps them in the compacted topic `_cdc_bridge_schemas`, and
`registry_router` serves the Confluent REST endpoints that serializers and deserializers use, on
the service's one port (none of them is `POST /`).

Ids need no coordination between instances: a schema's id is derived from its canonical form
(the schema JSON re-serialised with sorted keys and no whitespace; unlike Avro's Parsing
Canonical Form it keeps defaults, docs and logical types, which change what a reader gets): the
first 31 bits of its SHA-256, and never 0. The same schema under two subjects has one id, as in
Confluent's registry. If two different schemas ever hash to the same id, the one first in the
topic keeps it and the other moves on to the next candidate (SHA-256 of the form plus "\\n1",
"\\n2", ...); every instance reads the topic in the same order, so every instance agrees.

Each registration is one record: key `<subject>/<id>/<random nonce>`, value JSON
`{subject, id, schema, schemaType}`. A subject's versions are its distinct schemas in topic order,
so version numbers are identical on every instance. The nonce keeps two instances registering the
same schema at once from writing the same key: compaction would then keep only the later record
and could renumber the subject's versions on instances that start after it. With unique keys,
compaction deletes nothing; the topic grows by one small record per registration.

Not supported: compatibility checks (`/config` reports BACKWARD, nothing is enforced), deleting
subjects or versions (a tombstone would be cheap to write, but Confluent keeps numbering after a
deletion and a reader that starts after compaction could not, so version numbers would differ
between instances), schema references, and schema types other than AVRO.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro import parse_schema

from kafka_io.client import Kafka, Record

log = logging.getLogger("cdc_bridge.registry")

SCHEMAS_TOPIC = "_cdc_bridge_schemas"
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
SCHEMA_TYPES = ("AVRO",)
COMPATIBILITY = "BACKWARD"  # reported, not enforced
MAX_ID_ATTEMPTS = 16


# -- errors, named like Confluent's ----------------------------------------------------------


class RegistryError(Exception):
    status = 500
    error_code = 50001

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


class SubjectNotFoundException(RegistryError):
    status, error_code = 404, 40401


class VersionNotFoundException(RegistryError):
    status, error_code = 404, 40402


class SchemaNotFoundException(RegistryError):
    status, error_code = 404, 40403


class InvalidSchemaException(RegistryError):
    status, error_code = 422, 42201


class InvalidVersionException(RegistryError):
    status, error_code = 422, 42202


class BadRequestException(RegistryError):
    status, error_code = 400, 400


class OperationTimeoutException(RegistryError):
    status, error_code = 500, 50002


class RegistryUnavailableException(RegistryError):
    status, error_code = 503, 50003


# -- pure: canonical form, ids, the catalog ---------------------------------------------------


def canonical_form(schema_str: str, schema_type: str = "AVRO") -> str:
    """The form that identifies a schema; InvalidSchemaException unless it is a valid Avro schema."""
    if schema_type not in SCHEMA_TYPES:
        raise InvalidSchemaException(f"Invalid schema type {schema_type}: only AVRO is supported")
    try:
        document = json.loads(schema_str)
        parse_schema(document)
    except Exception as exc:
        raise InvalidSchemaException(f"Invalid schema: {type(exc).__name__}: {exc}") from None
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def id_candidates(canonical: str, attempts: int = MAX_ID_ATTEMPTS):
    """The ids a schema may get, best first: the first 31 bits of SHA-256, never 0."""
    for attempt in range(attempts):
        text = canonical if attempt == 0 else f"{canonical}\n{attempt}"
        candidate = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") >> 1
        if candidate:
            yield candidate


def parse_version(version: str | int) -> int | None:
    """An explicit version number, or None for the latest; InvalidVersionException otherwise."""
    if version in ("latest", "-1", -1):
        return None
    try:
        number = int(version)
    except ValueError:
        number = 0
    if not 1 <= number < 2**31:
        raise InvalidVersionException(
            f"The specified version '{version}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"')
    return number


class SchemaCatalog:
    """Subjects, versions and schemas as read from the topic, in topic order. Not thread safe."""

    def __init__(self) -> None:
        self.schemas: dict[int, tuple[str, str]] = {}  # id -> (schema text, schema type)
        self.ids: dict[str, int] = {}  # canonical form -> id
        self.subject_ids: dict[str, list[int]] = {}  # subject -> ids, version i at index i - 1

    def apply(self, value: dict[str, Any]) -> bool:
        """Apply one registration record; False when it lost its id to an earlier schema."""
        subject, schema_str, schema_type = value["subject"], value["schema"], value.get("schemaType", "AVRO")
        canonical = canonical_form(schema_str, schema_type)
        schema_id = self.ids.get(canonical)
        if schema_id is None:
            schema_id = value["id"]
            if not isinstance(schema_id, int) or not 0 < schema_id < 2**31 or schema_id in self.schemas:
                return False
            self.schemas[schema_id] = (schema_str, schema_type)
            self.ids[canonical] = schema_id
        ids = self.subject_ids.setdefault(subject, [])
        if schema_id not in ids:
            ids.append(schema_id)
        return True

    def free_id(self, canonical: str) -> int:
        """The id this schema has, or the one it would get if registered now."""
        if canonical in self.ids:
            return self.ids[canonical]
        for candidate in id_candidates(canonical):
            if candidate not in self.schemas:
                return candidate
        raise RuntimeError("no free schema id")  # 16 SHA-256 collisions in a row

    def registered(self, subject: str, canonical: str) -> int | None:
        schema_id = self.ids.get(canonical)
        return schema_id if schema_id in self.subject_ids.get(subject, ()) else None

    def schema(self, schema_id: int) -> tuple[str, str]:
        if schema_id not in self.schemas:
            raise SchemaNotFoundException(f"Schema {schema_id} not found.")
        return self.schemas[schema_id]

    def subjects(self) -> list[str]:
        return sorted(self.subject_ids)

    def versions(self, subject: str) -> list[int]:
        if subject not in self.subject_ids:
            raise SubjectNotFoundException(f"Subject '{subject}' not found.")
        return list(range(1, len(self.subject_ids[subject]) + 1))

    def version(self, subject: str, version: str | int) -> dict[str, Any]:
        number = parse_version(version)
        versions = self.versions(subject)
        if number is None:
            number = versions[-1]
        if number not in versions:
            raise VersionNotFoundException(f"Version {number} not found.")
        return self._registered(subject, number)

    def lookup(self, subject: str, canonical: str) -> dict[str, Any]:
        self.versions(subject)
        schema_id = self.registered(subject, canonical)
        if schema_id is None:
            raise SchemaNotFoundException("Schema not found")
        return self._registered(subject, self.subject_ids[subject].index(schema_id) + 1)

    def id_versions(self, schema_id: int) -> list[dict[str, Any]]:
        self.schema(schema_id)
        return [{"subject": subject, "version": ids.index(schema_id) + 1}
                for subject, ids in sorted(self.subject_ids.items()) if schema_id in ids]

    def _registered(self, subject: str, version: int) -> dict[str, Any]:
        schema_id = self.subject_ids[subject][version - 1]
        schema_str, schema_type = self.schemas[schema_id]
        body = {"subject": subject, "version": version, "id": schema_id, "schema": schema_str}
        return body if schema_type == "AVRO" else {**body, "schemaType": schema_type}


# -- the registries ---------------------------------------------------------------------------


class SchemaRegistrar(Protocol):
    """What the publisher needs: an id for each schema it frames records with."""

    def register(self, subject: str, schema_str: str, schema_type: str = "AVRO") -> int: ...


class KafkaSchemaRegistry:
    """The registry kept in a compacted topic; every instance on the same cluster serves the same
    ids and versions. Reads are served from memory; `register` waits for its record to come back."""

    def __init__(self, kafka: Kafka, topic: str = SCHEMAS_TOPIC, timeout_s: float = 30.0):
        self.kafka, self.topic, self.timeout_s = kafka, topic, timeout_s
        self.catalog = SchemaCatalog()
        self._changed = threading.Condition()
        self._applied = -1  # offset of the last record read
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._write = threading.Lock()
        self._producer = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        """Create the topic if needed, read it to the end, and keep following it."""
        self.kafka.ensure_topic(self.topic, 1, {"cleanup.policy": "compact"}, timeout_s)
        self._producer = self.kafka.producer()
        self._thread = self.kafka.tail(self.topic, self._on_record, self._caught_up.set, self._stop)
        if not self._caught_up.wait(timeout_s):
            self.stop()
            raise TimeoutError(f"reading topic {self.topic} did not catch up within {timeout_s}s")

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(5.0)
        if self._producer is not None:
            self._producer.flush(5.0)

    def _on_record(self, record: Record) -> None:
        with self._changed:
            try:
                if record.value is not None:  # a tombstone: deletion is not supported
                    self.catalog.apply(json.loads(record.value))
            except Exception as exc:  # a record we cannot read must not stop the tail
                log.warning("schema record skipped", extra={"offset": record.offset, "error": repr(exc)})
            self._applied = record.offset
            self._changed.notify_all()

    def register(self, subject: str, schema_str: str, schema_type: str = "AVRO") -> int:
        """The schema's id; a schema new to the subject is written to the topic first, and this
        returns once the tail has read it back."""
        canonical = canonical_form(schema_str, schema_type)
        with self._changed:
            existing = self.catalog.registered(subject, canonical)
        if existing is not None:
            return existing
        with self._write:
            for _ in range(MAX_ID_ATTEMPTS + 1):  # an attempt loses only if its id was taken meanwhile
                with self._changed:
                    existing = self.catalog.registered(subject, canonical)
                    if existing is not None:
                        return existing
                    candidate = self.catalog.free_id(canonical)
                value = {"subject": subject, "id": candidate, "schema": schema_str, "schemaType": schema_type}
                self._wait_applied(self._append(f"{subject}/{candidate}/{uuid.uuid4().hex}", value))
        raise RuntimeError(f"could not register a schema under {subject}")

    def _append(self, key: str, value: dict[str, Any]) -> int:
        delivered: list = []
        self._producer.produce(self.topic, json.dumps(value).encode("utf-8"), key.encode("utf-8"),
                               on_delivery=lambda err, msg: delivered.append((err, msg)))
        if self._producer.flush(self.timeout_s) or not delivered:
            raise OperationTimeoutException("Operation timed out: writing the schema to Kafka")
        err, message = delivered[0]
        if err is not None:
            raise RegistryError(f"Error in the backend data store: {err}")
        return message.offset()

    def _wait_applied(self, offset: int) -> None:
        deadline = time.monotonic() + self.timeout_s
        with self._changed:
            while self._applied < offset:
                if self._stop.is_set():
                    raise RegistryUnavailableException("The schema registry is stopping")
                if not self._changed.wait(deadline - time.monotonic()) and time.monotonic() >= deadline:
                    raise OperationTimeoutException("Operation timed out: reading the schema back from Kafka")

    def schema(self, schema_id: int) -> str:
        return self._read(lambda c: c.schema(schema_id)[0])

    def subjects(self) -> list[str]:
        return self._read(SchemaCatalog.subjects)

    def versions(self, subject: str) -> list[int]:
        return self._read(lambda c: c.versions(subject))

    def version(self, subject: str, version: str | int = "latest") -> dict[str, Any]:
        """{subject, version, id, schema}, as Confluent's GET /subjects/{subject}/versions/{version}."""
        return self._read(lambda c: c.version(subject, version))

    def lookup(self, subject: str, schema_str: str, schema_type: str = "AVRO") -> dict[str, Any]:
        """{subject, version, id, schema} of this schema under this subject, if registered there."""
        canonical = canonical_form(schema_str, schema_type)
        return self._read(lambda c: c.lookup(subject, canonical))

    def id_versions(self, schema_id: int) -> list[dict[str, Any]]:
        return self._read(lambda c: c.id_versions(schema_id))

    def _read(self, query: Callable[[SchemaCatalog], Any]) -> Any:
        with self._changed:
            return query(self.catalog)


class RemoteSchemaRegistry:
    """An external Confluent-compatible registry (SCHEMA_REGISTRY_URL)."""

    def __init__(self, url: str, **config: Any):
        self.url = url
        self.client = SchemaRegistryClient({"url": url, **config})

    def register(self, subject: str, schema_str: str, schema_type: str = "AVRO") -> int:
        return self.client.register_schema(subject, Schema(schema_str, schema_type))

    def schema(self, schema_id: int) -> str:
        return self.client.get_schema(schema_id).schema_str

    def stop(self) -> None:
        self.client.close()
