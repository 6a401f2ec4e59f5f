"""Query and Scan with IndexName: which index a read may use, what it returns, and where it
starts.

An index read is one range of the index's entries (`storage.query_index` / `scan_index`), which
hold the projected attributes. By default it returns them (ALL_PROJECTED_ATTRIBUTES). An LSI
read that asks for more (Select=ALL_ATTRIBUTES, or a projection or filter naming attributes the
index does not project) fetches each item from the table, charged as a table read of the whole
item, as DynamoDB does; a GSI cannot (Select=ALL_ATTRIBUTES on a GSI that does not project
everything is refused; a projection simply lacks what the GSI does not hold). ExclusiveStartKey
and LastEvaluatedKey carry the table's key and the index's key: ties in index order are in table
key order, so the pair is a position in the index.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from table_api.context import Table
from table_api.errors import ValidationException
from table_api.expressions.keyconditions import path_heads
from table_api.indexes import SecondaryIndex
from table_api.keys import INVALID, encode_key
from table_api.operations.reading import ReadOptions, start_key
from table_api.storage import Storage, StoredItem
from table_api.values import Item, item_size

BACKFILLING = "Cannot read from backfilling global secondary index: {}"
CONSISTENT_GSI = "Consistent reads are not supported on global secondary indexes"


@dataclass(frozen=True)
class IndexRead:
    index: SecondaryIndex
    fetch: bool  # LSI only: the items come from the table (the index lacks attributes asked for)


def index_read(table: Table, req: dict, options: ReadOptions) -> IndexRead | None:
    """The index a Query or Scan reads (None: the table itself), with DynamoDB's refusals."""
    name = req.get("IndexName")
    if name is None:
        return None
    index = table.index(name)
    if index.backfilling:
        raise ValidationException(BACKFILLING.format(name))
    if index.is_global and options.consistent:
        raise ValidationException(CONSISTENT_GSI)
    select = req.get("Select")
    if select == "ALL_ATTRIBUTES" and index.is_global and not index.projects_all:
        raise ValidationException(INVALID + f"Select type ALL_ATTRIBUTES is not supported for global secondary index "
                                            f"{name} because its projection type is not ALL")
    return IndexRead(index, needs_fetch(index, select, options))


def needs_fetch(index: SecondaryIndex, select: str | None, options: ReadOptions) -> bool:
    if index.is_global or index.projects_all:
        return False
    if select == "ALL_ATTRIBUTES":
        return True
    wanted = [path.segments[0] for path in options.paths or ()]
    wanted += path_heads(options.filter) if options.filter is not None else []
    return any(name not in index.projected for name in wanted)


def table_part(table: Table, start: Item) -> Item:
    """The table key in an index position, checked against the table's key schema."""
    return start_key(table.key_schema, {n: start[n] for n in table.key_schema.names if n in start})


def query_position(table: Table, index: SecondaryIndex, start: Item) -> tuple[bytes, bytes, bytes]:
    """(index sort key, table key) bytes of a Query's ExclusiveStartKey on an index."""
    return (encode_key(index.key_schema, start)[1], *encode_key(table.key_schema, table_part(table, start)))


def scan_position(table: Table, index: SecondaryIndex, start: Item) -> tuple[bytes, bytes, bytes, bytes]:
    """(index key, table key) bytes of a Scan's ExclusiveStartKey on an index."""
    return (*encode_key(index.key_schema, start), *encode_key(table.key_schema, table_part(table, start)))


def fetched(storage: Storage, table: Table, rows: list[StoredItem]) -> list[StoredItem]:
    """The table's items behind an LSI page's entries (an LSI is updated with its table, so each
    entry's item is there)."""
    items = []
    for row in rows:
        item = storage.get_item(table.id, row.pk, row.sk) or {}
        items.append(StoredItem(row.pk, row.sk, orjson.dumps(item), item_size(item)))
    return items
