"""Query and Scan against a straightforward in-memory model, over random items and random key
conditions (hypothesis), through the registered operations with a real SQLite storage.

The model sorts with Python values (Decimal for numbers, UTF-8 bytes for strings, raw bytes for
binaries), filters partitions with plain comparisons and pages by slicing; the server must give
the same items, in the same order, page by page."""

from __future__ import annotations

import base64
import itertools
import tempfile
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from table_api.context import Context
from table_api.operations import SERVICE
from table_api.settings import Settings
from table_api.storage.sqlite import SqliteStorage
from table_api.values import validate_item

NUMBERS = ["-1E+125", "-123.45", "-10", "-1", "-0.5", "-1E-130", "0", "1E-130", "0.5", "1", "1.5", "9.99",
           "10", "10.01", "100", "12345678901234567890123456789012345678", "9.9E+125"]
CHARS = "ab\u00e9\uffff\U0001f600"
SORT_VALUES = {
    "N": st.sampled_from(NUMBERS).map(lambda n: {"N": n}),
    "S": st.text(CHARS, min_size=1, max_size=4).map(lambda s: {"S": s}),
    "B": st.binary(min_size=1, max_size=3).map(lambda b: {"B": base64.b64encode(b).decode()}),
}
OPS = ["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"]
_counter = itertools.count()


@pytest.fixture(scope="module")
def ctx():
    with tempfile.TemporaryDirectory() as tmp:
        storage = SqliteStorage(Path(tmp) / "tables.sqlite3")
        yield Context(Settings(data_dir=Path(tmp)), storage)
        storage.close()


def call(ctx: Context, operation: str, request: dict) -> dict:
    handler, req = SERVICE.request(operation, orjson.dumps(request))
    return orjson.loads(orjson.dumps(handler(ctx, req)))  # as a client sees it


def order_key(av: dict):
    (kind, raw), = av.items()
    return {"N": Decimal, "S": lambda s: s.encode("utf-8", "surrogatepass"), "B": base64.b64decode}[kind](raw)


def make_table(ctx: Context, sort_type: str, items: list[dict]) -> str:
    name = f"model-{next(_counter)}"
    call(ctx, "CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": sort_type}],
    })
    for i in range(0, len(items), 25):
        call(ctx, "BatchWriteItem", {"RequestItems": {name: [{"PutRequest": {"Item": it}} for it in items[i:i + 25]]}})
    return name


@st.composite
def tables(draw):
    sort_type = draw(st.sampled_from(["N", "S", "B"]))
    keys = draw(st.lists(st.tuples(st.sampled_from("pqr"), SORT_VALUES[sort_type]), max_size=30,
                         unique_by=lambda k: (k[0], order_key(k[1]))))
    items = [{"pk": {"S": pk}, "sk": sk, "v": {"N": str(draw(st.integers(0, 2)))}} for pk, sk in keys]
    return sort_type, items


@st.composite
def key_conditions(draw, sort_type: str):
    op = draw(st.sampled_from(OPS if sort_type != "N" else OPS[:-1] + [None]))
    values = {":p": {"S": draw(st.sampled_from("pqr"))}}
    if op is None:
        return "pk = :p", values, None
    low, high = sorted((draw(SORT_VALUES[sort_type]), draw(SORT_VALUES[sort_type])), key=order_key)
    values[":a"] = low
    if op == "BETWEEN":
        values[":b"] = high
        return "pk = :p AND sk BETWEEN :a AND :b", values, (op, low, high)
    if op == "begins_with":
        return "pk = :p AND begins_with(sk, :a)", values, (op, low, None)
    return f"pk = :p AND sk {op} :a", values, (op, low, None)


def model_match(item: dict, condition) -> bool:
    if condition is None:
        return True
    op, low, high = condition
    x, a = order_key(item["sk"]), order_key(low)
    match op:
        case "=": return x == a
        case "<": return x < a
        case "<=": return x <= a
        case ">": return x > a
        case ">=": return x >= a
        case "BETWEEN": return a <= x <= order_key(high)
    return x.startswith(a)


def pages(ctx: Context, operation: str, request: dict) -> list[dict]:
    found, start = [], {}
    for _ in range(200):
        response = call(ctx, operation, {**request, **start})
        found.append(response)
        if "LastEvaluatedKey" not in response:
            return found
        start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
    raise AssertionError("paging did not end")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), table=tables(), forward=st.booleans(), limit=st.one_of(st.none(), st.integers(1, 6)),
       filtered=st.booleans())
def test_query_pages_match_the_model(ctx, data, table, forward, limit, filtered):
    sort_type, items = table
    name = make_table(ctx, sort_type, items)
    expression, values, condition = data.draw(key_conditions(sort_type))
    request = {"TableName": name, "KeyConditionExpression": expression, "ScanIndexForward": forward}
    if filtered:
        request["FilterExpression"], values[":v"] = "v = :v", {"N": "1"}
    if limit:
        request["Limit"] = limit
    request["ExpressionAttributeValues"] = values
    result = pages(ctx, "Query", request)

    matching = sorted((it for it in items if it["pk"] == values[":p"] and model_match(it, condition)),
                      key=lambda it: order_key(it["sk"]), reverse=not forward)
    scanned = [len(matching)] if not limit else [limit] * (len(matching) // limit) + [len(matching) % limit]
    assert [page["ScannedCount"] for page in result] == scanned
    wanted = [it for it in matching if not filtered or it["v"] == {"N": "1"}]
    assert [it for page in result for it in page["Items"]] == [normal(it) for it in wanted]
    assert all(page["Count"] == len(page["Items"]) for page in result)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), total=st.integers(1, 5), limit=st.one_of(st.none(), st.integers(1, 7)))
def test_scan_segments_cover_the_table_exactly_once(ctx, table, total, limit):
    sort_type, items = table
    name = make_table(ctx, sort_type, items)
    seen = []
    for segment in range(total):
        request = {"TableName": name, "Segment": segment, "TotalSegments": total, **({"Limit": limit} if limit else {})}
        for page in pages(ctx, "Scan", request):
            assert page["ScannedCount"] <= (limit or len(items))
            keys = [order_key_pair(it) for it in page["Items"]]
            assert keys == sorted(keys), "a segment reads in key order"
            seen += page["Items"]
    assert sorted(map(order_key_pair, seen)) == sorted(order_key_pair(normal(it)) for it in items)


def order_key_pair(item: dict):
    return item["pk"]["S"].encode(), order_key(item["sk"])


def normal(item: dict) -> dict:
    """An item as the server answers it: numbers in canonical form."""
    return validate_item(item)


def test_a_query_reads_one_range_of_the_primary_key(ctx):
    """The SQL a Query runs is a range search of the primary key, not a scan of the table."""
    storage = ctx.storage
    plans = []
    storage.db.set_trace_callback(lambda sql: plans.append(sql) if sql.startswith("SELECT sk") else None)
    try:
        name = make_table(ctx, "N", [{"pk": {"S": "p"}, "sk": {"N": "1"}}])
        call(ctx, "Query", {"TableName": name, "KeyConditionExpression": "pk = :p AND sk > :a",
                            "ExpressionAttributeValues": {":p": {"S": "p"}, ":a": {"N": "0"}}})
    finally:
        storage.db.set_trace_callback(None)
    (sql,) = plans
    plan = storage.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    assert "SEARCH items USING PRIMARY KEY (tbl=? AND pk=? AND sk>?)" in plan[0][3]
