"""What one object holds, from a buffer of records, as Firehose writes it: the records' bytes
concatenated with no delimiter (AppendDelimiterToRecord appends one to each), GZIP-compressed
when asked; or, with our Avro conversion, an Avro object container file (fastavro).

Avro conversion, selected by DataFormatConversionConfiguration.SchemaConfiguration (docs/firehose.md):
TableName `bytes` writes each record as {data: bytes, approximateArrivalTimestamp: timestamp-millis};
TableName = a schema registry subject (e.g. a CDC topic's `<topic>-value`) decodes each record as a
Confluent-framed Avro value (magic 0, 4-byte schema id) with its writer schema and writes it in the
subject's latest schema. A record that does not decode goes to the error output
(`format-conversion-failed`), as Firehose does with records it cannot convert."""

from __future__ import annotations

import base64
import gzip
import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import fastavro

from firehose.config import BYTES_SCHEMA, avro_schema_name, delimiter
from kafka_io.client import Record

FORMAT_CONVERSION_FAILED = "format-conversion-failed"
BYTES_RECORD_SCHEMA = fastavro.parse_schema({
    "type": "record", "name": "FirehoseRecord", "namespace": "cdc_bridge.firehose",
    "fields": [{"name": "data", "type": "bytes"},
               {"name": "approximateArrivalTimestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
})
GZIP_LEVEL = 6


@dataclass
class Encoded:
    data: bytes
    extension: str
    failed: list[tuple[Record, str]] = field(default_factory=list)  # records that could not be converted


Encoder = Callable[[list[Record]], Encoded]


def encoder(config: dict, schemas: Callable[[], object] | None = None) -> Encoder:
    """The encoder a destination configuration asks for. `schemas()` gives the schema registry
    (made on first use: only a stream converting CDC records needs it)."""
    schema_name = avro_schema_name(config)
    if schema_name == BYTES_SCHEMA:
        return lambda records: avro_bytes(records)
    if schema_name is not None:
        return lambda records: avro_from_registry(records, RegistrySchemas(schemas()), schema_name)
    append, gzipped = delimiter(config), config["CompressionFormat"] == "GZIP"
    extension = config.get("FileExtension", ".gz" if gzipped else "")

    def raw(records: list[Record]) -> Encoded:
        data = b"".join(r.value + append for r in records) if append else b"".join(r.value or b"" for r in records)
        return Encoded(gzip.compress(data, GZIP_LEVEL) if gzipped else data, extension)

    return raw


def avro_bytes(records: list[Record]) -> Encoded:
    rows = [{"data": r.value or b"", "approximateArrivalTimestamp": r.timestamp_ms} for r in records]
    return Encoded(container(BYTES_RECORD_SCHEMA, rows), ".avro")


class RegistrySchemas:
    """Parsed schemas by id and by subject, from our registry or a Confluent one."""

    def __init__(self, registry):
        self.registry = registry

    def by_id(self, schema_id: int) -> dict:
        return _parsed(self.registry.schema(schema_id) if hasattr(self.registry, "version")
                       else self.registry.client.get_schema(schema_id).schema_str)

    def latest(self, subject: str) -> dict:
        if hasattr(self.registry, "version"):
            return _parsed(self.registry.version(subject, "latest")["schema"])
        return _parsed(self.registry.client.get_latest_version(subject).schema.schema_str)


@lru_cache(maxsize=64)
def _parsed(schema_str: str) -> dict:
    return fastavro.parse_schema(json.loads(schema_str))


def avro_from_registry(records: list[Record], schemas: RegistrySchemas, subject: str) -> Encoded:
    reader_schema = schemas.latest(subject)
    rows, failed = [], []
    for record in records:
        try:
            rows.append(decode_confluent(record.value or b"", schemas, reader_schema))
        except Exception as exc:  # noqa: BLE001 -- any record that does not decode goes to the error output
            failed.append((record, f"{type(exc).__name__}: {exc}"))
    return Encoded(container(reader_schema, rows) if rows else b"", ".avro", failed)


def decode_confluent(value: bytes, schemas: RegistrySchemas, reader_schema: dict) -> dict:
    if len(value) < 5 or value[0] != 0:
        raise ValueError("not a Confluent-framed Avro value (magic byte 0 and a 4-byte schema id)")
    (schema_id,) = struct.unpack(">I", value[1:5])
    return fastavro.schemaless_reader(io.BytesIO(value[5:]), schemas.by_id(schema_id), reader_schema)


def container(schema: dict, rows: list[dict]) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, schema, rows, codec="deflate")
    return out.getvalue()


def error_lines(failed: list[tuple[Record, str]], error_code: str, now_ms: int) -> bytes:
    """Records Firehose could not convert, as it writes them to the error output: one JSON per line."""
    return b"".join(json.dumps({
        "attemptsMade": 1, "arrivalTimestamp": record.timestamp_ms, "lastErrorCode": error_code,
        "lastErrorMessage": message, "attemptEndingTimestamp": now_ms,
        "rawData": base64.b64encode(record.value or b"").decode(),
    }).encode() + b"\n" for record, message in failed)
