"""The storage interface. Backends know nothing of DynamoDB's rules, only bytes and dicts."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class TableRecord:
    """A table as stored: its internal id and its DynamoDB description (wire shape)."""

    id: int
    name: str
    description: dict[str, Any]


class Transaction(Protocol):
    """One atomic unit of work; every item write of a request happens inside one."""

    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None: ...
    def put_item(self, table_id: int, pk: bytes, sk: bytes, item: dict, size: int) -> None: ...
    def delete_item(self, table_id: int, pk: bytes, sk: bytes) -> None: ...


class Storage(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]: ...
    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None: ...

    def create_table(self, name: str, description: dict[str, Any]) -> TableRecord: ...
    def get_table(self, name: str) -> TableRecord | None: ...
    def update_table(self, record: TableRecord) -> None: ...
    def delete_table(self, record: TableRecord) -> None: ...
    def table_names(self, after: str | None, limit: int) -> list[str]: ...
    def table_stats(self, table_id: int) -> tuple[int, int]: ...  # (item count, total size in bytes)

    def close(self) -> None: ...
