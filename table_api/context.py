"""What every operation gets: settings, storage, and the table lookup they all start with."""

from __future__ import annotations

from dataclasses import dataclass, field

from table_api.errors import ResourceNotFoundException
from table_api.keys import KeySchema
from table_api.settings import Settings
from table_api.storage import Storage, TableRecord


@dataclass
class Table:
    record: TableRecord
    key_schema: KeySchema

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def description(self) -> dict:
        return self.record.description


@dataclass
class Context:
    settings: Settings
    storage: Storage
    # Table lookups happen on every item request; descriptions change only through this
    # process's table operations, which call forget().
    _tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name_or_arn: str) -> Table:
        name = table_name(name_or_arn)
        table = self._tables.get(name)
        if table is None:
            record = self.storage.get_table(name)
            if record is None:
                raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
            d = record.description
            table = Table(record, KeySchema.from_wire(d["KeySchema"], d["AttributeDefinitions"]))
            self._tables[name] = table
        return table

    def forget(self, name: str) -> None:
        self._tables.pop(name, None)


def table_name(name_or_arn: str) -> str:
    """TableName may also be the table's ARN (arn:aws:dynamodb:region:account:table/NAME)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.rpartition(":table/")[2].split("/", 1)[0]
    return name_or_arn
