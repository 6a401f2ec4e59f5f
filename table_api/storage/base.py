"""The storage interface. Backends know nothing of DynamoDB's rules, only bytes and dicts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol


@dataclass
class TableRecord:
    """A table as stored: its internal id and its DynamoDB description (wire shape)."""

    id: int
    name: str
    description: dict[str, Any]


@dataclass(frozen=True)
class Bound:
    """One end of a range of encoded keys: the key bytes, and whether the range includes them."""

    key: bytes
    inclusive: bool = True


class StoredItem(NamedTuple):
    """An item as a range read returns it: its encoded key, its wire form as JSON (UTF-8, as
    stored: a response may embed it as is), and its size as DynamoDB counts it. (A tuple: range
    reads make thousands per page.)"""

    pk: bytes
    sk: bytes
    json: bytes
    size: int


@dataclass(frozen=True)
class OutboxRow:
    """Something to ship to Kafka, committed with the change that caused it.

    kind "event": a change event for `topic`/`partition`; kind "stream": a stream's metadata
    (create its topic, publish it to the stream catalog); kind "kinesis": a record of a table's
    Kinesis streaming destination (`<partition key>\n<JSON>`, table_api/kinesis_destinations.py)."""

    seq: int
    kind: str
    topic: str
    partition: int
    payload: bytes
    created_ms: int
    headers: dict[str, str] | None = None  # extra Kafka headers (a transaction's, writes.py)


class Transaction(Protocol):
    """One atomic unit of work: an item write and its outbox row commit together."""

    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None: ...
    def get_sized_item(self, table_id: int, pk: bytes, sk: bytes) -> tuple[dict | None, int]: ...  # (item, size)
    def put_item(self, table_id: int, pk: bytes, sk: bytes, item: dict, size: int) -> None: ...
    def delete_item(self, table_id: int, pk: bytes, sk: bytes) -> None: ...
    # Secondary index entries: (index key bytes, the item's table key bytes) -> projected item.
    def put_index_entry(self, table_id: int, index: str, key: tuple[bytes, bytes], table_key: tuple[bytes, bytes],
                        item: dict, size: int) -> None: ...
    def delete_index_entry(self, table_id: int, index: str, key: tuple[bytes, bytes],
                           table_key: tuple[bytes, bytes]) -> None: ...
    def delete_index(self, table_id: int, index: str) -> None: ...  # its entries and any back-fill
    def collection_size(self, table_id: int, pk: bytes, local_indexes: list[str]) -> int: ...
    # Back-fills of indexes added to a table that has items (see table_api/backfill.py).
    def start_backfill(self, table_id: int, index: str) -> None: ...
    def backfill_position(self, table_id: int, index: str) -> tuple[bytes, bytes] | None | bool: ...
    def advance_backfill(self, table_id: int, index: str, after: tuple[bytes, bytes] | None) -> None: ...
    def items_after(self, table_id: int, after: tuple[bytes, bytes] | None, limit: int) -> list[tuple[bytes, bytes, dict]]: ...
    def append_outbox(self, kind: str, topic: str, partition: int, payload: bytes, created_ms: int,
                      headers: dict[str, str] | None = None) -> None: ...
    # TransactWriteItems' client tokens: (fingerprint, response) of a use since `since_ms`.
    def client_token(self, token: str, since_ms: int) -> tuple[bytes, bytes] | None: ...
    def save_client_token(self, token: str, fingerprint: bytes, response: bytes, created_ms: int,
                          forget_before_ms: int) -> None: ...

    def create_table(self, name: str, description: dict[str, Any]) -> TableRecord: ...
    def update_table(self, record: TableRecord) -> None: ...
    def delete_table(self, record: TableRecord) -> None: ...


class Outbox(Protocol):
    """The publisher's reading view of the outbox, on its own connection."""

    def pending(self, after_seq: int, limit: int) -> list[OutboxRow]: ...
    def backlog(self) -> tuple[int, int | None]: ...  # (rows, created_ms of the oldest)
    def close(self) -> None: ...


class Storage(Protocol):
    # Called with each transaction's outbox rows after its commit, in commit order (the publisher).
    on_outbox_committed: Callable[[list[OutboxRow]], None] | None

    def transaction(self) -> AbstractContextManager[Transaction]: ...
    def snapshot(self) -> AbstractContextManager[Transaction]: ...  # read-only, one consistent state
    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None: ...
    def get_table(self, name: str) -> TableRecord | None: ...
    def tables(self) -> list[TableRecord]: ...
    def table_names(self, after: str | None, limit: int) -> list[str]: ...
    def table_stats(self, table_id: int) -> tuple[int, int]: ...  # (item count, total size in bytes)

    # Range reads, one index range each (never a table scan). Both return items in key order
    # until `limit` items, or until their sizes add up to `max_bytes` (that item included).
    def query_items(self, table_id: int, pk: bytes, low: Bound | None, high: Bound | None,
                    forward: bool, limit: int, max_bytes: int) -> list[StoredItem]: ...
    def scan_items(self, table_id: int, after: tuple[bytes, bytes] | None, pk_from: bytes | None,
                   pk_below: bytes | None, limit: int, max_bytes: int) -> list[StoredItem]: ...
    # The same two reads over a secondary index's entries (rows carry their item's table key).
    def query_index(self, table_id: int, index: str, pk: bytes, low: Bound | None, high: Bound | None,
                    after: tuple[bytes, bytes, bytes] | None, forward: bool, limit: int,
                    max_bytes: int) -> list[StoredItem]: ...
    def scan_index(self, table_id: int, index: str, after: tuple[bytes, bytes, bytes, bytes] | None,
                   pk_from: bytes | None, pk_below: bytes | None, limit: int, max_bytes: int) -> list[StoredItem]: ...
    def index_stats(self, table_id: int, index: str) -> tuple[int, int]: ...  # (entries, total size)
    def backfills(self, table_id: int | None = None) -> list[tuple[int, str]]: ...  # (table id, index) unfinished
    def outbox(self) -> Outbox: ...
    def remove_outbox(self, seqs: list[int]) -> None: ...  # shipped rows
    def close(self) -> None: ...
