"""Query and Scan: one range of the primary index per page, never a table scan for a Query.

Query reads one partition between the sort-key bounds of its key condition (`storage.query_items`);
its cost depends on the page, not on the table. Scan reads the table in (partition key, sort key)
byte order (`storage.scan_items`), which is DynamoDB's order within a partition and a fixed order
across partitions (DynamoDB's is by hash; no client may rely on either).

Parallel scan: segment s of TotalSegments n covers the partition keys whose encoded bytes lie in
[b(s), b(s+1)), where b(i) is the 8-byte big-endian number floor(i * 2^64 / n), b(0) is the start
and b(n) the end of the key space. Each segment is one index range, so n segments read the table
once between them, every item in exactly one segment whatever writes happen meanwhile. Segments
are even when partition keys spread over the byte space (UUIDs, hashes); keys sharing a prefix
("user-...") fall into few segments: still correct, less parallel.
"""

from __future__ import annotations

from table_api.context import Context, Table
from table_api.errors import ValidationException
from table_api.expressions import evaluate
from table_api.expressions.keyconditions import KeyCondition, key_conditions, path_heads
from table_api.keys import (
    SCHEMA_MISMATCH,
    KeySchema,
    check_key_value,
    encode_key,
    encode_key_value,
)
from table_api.operations import legacy_filters
from table_api.operations.common import RequestExpressions
from table_api.operations.index_reads import IndexRead, fetched, index_read, query_position, scan_position
from table_api.operations.reading import (
    BAD_START,
    MAX_PAGE_BYTES,
    ReadOptions,
    check_parameters,
    check_select,
    page,
    position_names,
    read_options,
    start_key,
    start_key_values,
)
from table_api.operations.service import SERVICE
from table_api.storage import Bound
from table_api.values import Item, type_of

QUERY_EXPRESSIONS = ("ProjectionExpression", "FilterExpression", "KeyConditionExpression")
QUERY_LEGACY = ("AttributesToGet", "QueryFilter", "ConditionalOperator", "KeyConditions")
SCAN_EXPRESSIONS = ("ProjectionExpression", "FilterExpression")
SCAN_LEGACY = ("AttributesToGet", "ScanFilter", "ConditionalOperator")

NOT_SUPPORTED = "Query key condition not supported"
NOT_INDEXABLE = frozenset({"NULL", "NOT_NULL", "NE", "CONTAINS", "NOT_CONTAINS", "IN"})
WRONG_TYPE = "One or more parameter values were invalid: Condition parameter type does not match schema type"


@SERVICE.operation("Query")
def query(ctx: Context, req: dict) -> dict:
    conditions, options, start = query_request(req)
    table = ctx.table(req["TableName"])
    read = index_read(table, req, options)
    schema = table.key_schema if read is None else read.index.key_schema
    start_names = schema.names if read is None else position_names(table, read.index)
    check_key_conditions(schema, conditions, start, len(start_names))
    check_filter_keys(req, schema, options)
    hash_value = conditions[schema.hash_name].values[0]
    sort = conditions.get(schema.range_name) if schema.range_name else None
    low, high = sort_bounds(sort)
    forward = req.get("ScanIndexForward", True)
    if start is not None:
        check_resume(schema, start, hash_value, sort)
    if read is None:
        if start is not None:
            low, high = resume(schema, start, low, high, forward)
        rows = ctx.storage.query_items(table.id, encode_key_value(hash_value), low, high, forward,
                                       options.limit, MAX_PAGE_BYTES)
        return page(ctx, req, table, options, rows)
    after = None if start is None else query_position(table, read.index, start)
    rows = ctx.storage.query_index(table.id, read.index.name, encode_key_value(hash_value), low, high, after,
                                   forward, options.limit, MAX_PAGE_BYTES)
    return index_page(ctx, req, table, options, read, rows)


def index_page(ctx: Context, req: dict, table: Table, options: ReadOptions, read: IndexRead, rows: list) -> dict:
    return page(ctx, req, table, options, rows, read.index, fetched(ctx.storage, table, rows) if read.fetch else None)


def query_request(req: dict) -> tuple[dict[str, KeyCondition], ReadOptions, Item | None]:
    """Everything a Query asks for that needs no table: checked, parsed and resolved."""
    check_select(req, "1 validation error detected: ")
    # KeyConditions may come with filter or projection expressions, not with a key expression.
    legacy = QUERY_LEGACY if req.get("KeyConditionExpression") is not None else QUERY_LEGACY[:-1]
    check_parameters(req, QUERY_EXPRESSIONS, legacy)
    start = start_key_values(req)
    if req.get("KeyConditions") is None and req.get("KeyConditionExpression") is None:
        raise ValidationException("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
    exprs = RequestExpressions(req, QUERY_EXPRESSIONS)
    key_tree = exprs.condition("KeyConditionExpression")
    options = read_options(req, exprs, "QueryFilter")
    exprs.check_unused()
    if key_tree is not None:
        return key_conditions(key_tree), options, start
    return legacy_filters.key_conditions(req["KeyConditions"]), options, start


def check_key_conditions(schema: KeySchema, conditions: dict[str, KeyCondition], start: Item | None,
                         start_size: int) -> None:
    """The key condition against the keys of the table (or index), and the starting key's parts,
    in DynamoDB's order: each key attribute in turn, hash first. A starting key has `start_size`
    attributes (on an index: its keys and the table's)."""
    if start is not None and len(start) != start_size:
        raise ValidationException(BAD_START)
    for name, kind, is_hash in schema.parts():
        if start is not None:
            check_start_part(start, name, kind, is_hash)
        check_key_condition(schema, conditions, name, kind, is_hash)


def check_start(schema: KeySchema, start: Item, start_size: int) -> None:
    """A starting key of `start_size` attributes, with the parts of `schema`."""
    if len(start) != start_size:
        raise ValidationException(BAD_START)
    for name, kind, is_hash in schema.parts():
        check_start_part(start, name, kind, is_hash)


def check_start_part(start: Item, name: str, kind: str, is_hash: bool) -> None:
    if name not in start:
        raise ValidationException(BAD_START)
    if type_of(start[name]) != kind:
        raise ValidationException(SCHEMA_MISMATCH)
    check_key_value(name, start[name], is_hash)


def check_key_condition(schema: KeySchema, conditions: dict[str, KeyCondition], name: str, kind: str,
                        is_hash: bool) -> None:
    if is_hash and schema.range_name is None and len(conditions) > 1:
        raise ValidationException(NOT_SUPPORTED)
    condition = conditions.get(name)
    if condition is None:
        if is_hash or len(conditions) > 1:
            raise ValidationException(f"Query condition missed key schema element: {name}")
        return
    if condition.op in NOT_INDEXABLE:
        raise ValidationException("Attempted conditional constraint is not an indexable operation")
    if any(type_of(v) != kind for v in condition.values):
        raise ValidationException(WRONG_TYPE)
    if is_hash and condition.op != "EQ":
        raise ValidationException(NOT_SUPPORTED)
    if is_hash:
        check_key_value(name, condition.values[0], is_hash)


def check_filter_keys(req: dict, schema: KeySchema, options: ReadOptions) -> None:
    """A Query's filter may not use key attributes (the key condition is where they go)."""
    if options.filter is None:
        return
    legacy = req.get("QueryFilter") is not None
    used = set(req["QueryFilter"]) if legacy else set(path_heads(options.filter))
    for name in schema.names:
        if name in used:
            what = "QueryFilter" if legacy else "Filter Expression"
            raise ValidationException(f"{what} can only contain non-primary key attributes: Primary key attribute: {name}")


def sort_bounds(condition: KeyCondition | None) -> tuple[Bound | None, Bound | None]:
    """The sort-key range of a key condition, as encoded bounds (byte order = DynamoDB order)."""
    if condition is None:
        return None, None
    first, *rest = (encode_key_value(v) for v in condition.values)
    match condition.op:
        case "EQ":
            return Bound(first), Bound(first)
        case "LT" | "LE":
            return None, Bound(first, condition.op == "LE")
        case "GT" | "GE":
            return Bound(first, condition.op == "GE"), None
        case "BETWEEN":
            return Bound(first), Bound(rest[0])
    return Bound(first), prefix_end(first)  # BEGINS_WITH


def prefix_end(prefix: bytes) -> Bound | None:
    """The least key above every key that starts with `prefix` (None: no such key)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return Bound(stripped[:-1] + bytes([stripped[-1] + 1]), inclusive=False)


def check_resume(schema: KeySchema, start: Item, hash_value: dict, sort: KeyCondition | None) -> None:
    """ExclusiveStartKey must lie in the query (on an index, the index's part of it)."""
    same_partition = encode_key_value(start[schema.hash_name]) == encode_key_value(hash_value)
    if sort is None and not same_partition:
        raise ValidationException("The provided starting key is outside query boundaries based on provided conditions")
    if sort is not None:
        condition = legacy_filters.legacy_condition(sort.name, sort.op, sort.values)
        if not evaluate(condition, start):
            raise ValidationException("The provided starting key does not match the range key predicate")
        if not same_partition:
            raise ValidationException("The query can return at most one row and cannot be restarted")


def resume(schema: KeySchema, start: Item, low: Bound | None, high: Bound | None,
           forward: bool) -> tuple[Bound | None, Bound | None]:
    """The bounds of a table page that continues after ExclusiveStartKey."""
    _, sk = encode_key(schema, start_key(schema, start))
    return (Bound(sk, False), high) if forward else (low, Bound(sk, False))


# -- Scan --------------------------------------------------------------------------------------


@SERVICE.operation("Scan")
def scan(ctx: Context, req: dict) -> dict:
    check_select(req, "")
    check_parameters(req, SCAN_EXPRESSIONS, SCAN_LEGACY)
    start = start_key_values(req)
    segment = check_segments(req)
    exprs = RequestExpressions(req, SCAN_EXPRESSIONS)
    options = read_options(req, exprs, "ScanFilter")
    exprs.check_unused()
    table = ctx.table(req["TableName"])
    read = index_read(table, req, options)
    pk_from, pk_below = segment_range(*segment) if segment else (None, None)
    if read is None:
        after = scan_start(table, start, segment, pk_from, pk_below)
        rows = ctx.storage.scan_items(table.id, after, pk_from, pk_below, options.limit, MAX_PAGE_BYTES)
        return page(ctx, req, table, options, rows)
    after = index_scan_start(table, read, start, segment, pk_from, pk_below)
    rows = ctx.storage.scan_index(table.id, read.index.name, after, pk_from, pk_below, options.limit, MAX_PAGE_BYTES)
    return index_page(ctx, req, table, options, read, rows)


def check_segments(req: dict) -> tuple[int, int] | None:
    segment, total = req.get("Segment"), req.get("TotalSegments")
    if segment is not None and total is None:
        raise ValidationException("The TotalSegments parameter is required but was not present in the request "
                                  "when Segment parameter is present")
    if total is None:
        return None
    if segment is None:
        raise ValidationException("The Segment parameter is required but was not present in the request "
                                  "when parameter TotalSegments is present")
    if segment >= total:
        raise ValidationException("The Segment parameter is zero-based and must be less than parameter "
                                  f"TotalSegments: Segment: {segment} is not less than TotalSegments: {total}")
    return segment, total


def segment_range(segment: int, total: int) -> tuple[bytes | None, bytes | None]:
    """[from, below) of the encoded partition keys of one segment (None: open end)."""
    def boundary(i: int) -> bytes | None:
        return None if i in (0, total) else (i * 2**64 // total).to_bytes(8, "big")

    return boundary(segment), boundary(segment + 1)


def scan_start(table: Table, start: Item | None, segment: tuple[int, int] | None,
               pk_from: bytes | None, pk_below: bytes | None) -> tuple[bytes, bytes] | None:
    """The encoded key a Scan continues after; it must be a key of the table, in the segment."""
    if start is None:
        return None
    pk, sk = encode_key(table.key_schema, start_key(table.key_schema, start))
    check_in_segment(pk, segment, pk_from, pk_below)
    return pk, sk


def index_scan_start(table: Table, read: IndexRead, start: Item | None, segment: tuple[int, int] | None,
                     pk_from: bytes | None, pk_below: bytes | None) -> tuple[bytes, bytes, bytes, bytes] | None:
    """The index position a Scan of an index continues after: its keys and the table's, in the segment."""
    if start is None:
        return None
    check_start(read.index.key_schema, start, len(position_names(table, read.index)))
    position = scan_position(table, read.index, start)
    check_in_segment(position[0], segment, pk_from, pk_below)
    return position


def check_in_segment(pk: bytes, segment: tuple[int, int] | None, pk_from: bytes | None, pk_below: bytes | None) -> None:
    if (pk_from is not None and pk < pk_from) or (pk_below is not None and pk >= pk_below):
        raise ValidationException(
            f"{BAD_START}: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. "
            f"TotalSegments: {segment[1]} Segment: {segment[0]}"
        )
