"""What every operation gets: settings, storage, and the table lookup they all start with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contracts.kinesis_streams import is_live
from monitoring.handles import DynamoDBSeries
from monitoring.store import MetricStore
from table_api.errors import ResourceNotFoundException, ValidationException
from table_api.indexes import SecondaryIndex, indexes_of
from table_api.keys import KeySchema
from table_api.settings import Settings
from table_api.storage import Storage, TableRecord

if TYPE_CHECKING:
    from kafka_io.topic_view import JsonView
    from table_api.capacity import Throttle


@dataclass
class Table:
    record: TableRecord
    key_schema: KeySchema
    indexes: tuple[SecondaryIndex, ...] = ()

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def description(self) -> dict:
        return self.record.description

    @property
    def has_local_index(self) -> bool:
        return any(not index.is_global for index in self.indexes)

    def index(self, name: str) -> SecondaryIndex:
        """The index a Query or Scan names, or DynamoDB's refusal."""
        for index in self.indexes:
            if index.name == name:
                return index
        raise ValidationException(f"The table does not have the specified index: {name}")


@dataclass
class Context:
    settings: Settings
    storage: Storage
    # Table lookups happen on every item request; descriptions change only through this
    # process's table operations, which call forget().
    _tables: dict[str, Table] = field(default_factory=dict)
    # --enforce-capacity: the token buckets every data operation charges (None: nothing is throttled).
    throttle: Throttle | None = None
    # CloudWatch's AWS/DynamoDB series (table_api/metrics.py records into them)
    metrics: DynamoDBSeries = field(default_factory=lambda: DynamoDBSeries(MetricStore()))
    # The Kinesis stream catalog, read only (kafka_io.topic_view.JsonView; None without Kafka): where a
    # table's Kinesis streaming destination sends its records (table_api/kinesis_destinations.py).
    kinesis: JsonView | None = None

    def table(self, name_or_arn: str, *, name_in_error: bool = False) -> Table:
        """The table, or ResourceNotFoundException: item operations say only "Requested resource
        not found", table operations also name the table (as DynamoDB does)."""
        name = table_name(name_or_arn)
        table = self._tables.get(name)
        if table is None:
            record = self.storage.get_table(name)
            if record is None:
                raise ResourceNotFoundException(
                    f"Requested resource not found: Table: {name} not found" if name_in_error else None
                )
            d = record.description
            schema = KeySchema.from_wire(d["KeySchema"], d["AttributeDefinitions"])
            backfilling = frozenset(index for _, index in self.storage.backfills(record.id))
            table = Table(record, schema, indexes_of(d, schema, backfilling))
            self._tables[name] = table
        return table

    def kinesis_stream(self, name: str) -> dict | None:
        """A live Kinesis stream's catalog value, from memory (None: unknown, deleted or no Kafka). A
        name the catalog has no record of (not even a deleted marker) is looked up again after
        reading the catalog to its end: a stream made or restored a moment ago (a connector restores
        them at start when a memory broker lost the catalog)."""
        if self.kinesis is None:
            return None
        stream = self.kinesis.get(name)
        if stream is None and self.kinesis.caught_up.is_set():
            self.kinesis.sync()
            stream = self.kinesis.get(name)
        return stream if is_live(stream) else None

    def forget(self, name: str) -> None:
        self._tables.pop(name, None)


def table_name(name_or_arn: str) -> str:
    """TableName may also be the table's ARN (arn:aws:dynamodb:region:account:table/NAME)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.rpartition(":table/")[2].split("/", 1)[0]
    check_table_name(name_or_arn)
    return name_or_arn


TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]+")


def check_table_name(name: str, member: str = "tableName") -> None:
    """DynamoDB's table-name rule (3-255 of [a-zA-Z0-9_.-]) with its validation wording."""
    problems = []
    if len(name) < 3:
        problems.append("Member must have length greater than or equal to 3")
    if len(name) > 255:
        problems.append("Member must have length less than or equal to 255")
    if not TABLE_NAME.fullmatch(name):
        problems.append("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    if problems:
        n = len(problems)
        raise ValidationException(
            f"{n} validation error{'s' if n > 1 else ''} detected: "
            + "; ".join(f"Value '{name}' at '{member}' failed to satisfy constraint: {p}" for p in problems)
        )
