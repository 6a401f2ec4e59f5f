"""Query and Scan with IndexName: key conditions on the index's keys, index order (ties in
table key order), projections and Select, LSI fetches of attributes the index does not project,
GSI refusals, paging with table + index keys, filters, Limit, 1 MB pages, Count, parallel Scan
and consumed capacity."""

from __future__ import annotations

import pytest

from tests.api.helpers import unique_name, validation_error

INVALID = "One or more parameter values were invalid: "


def schema(hash_name, range_name=None):
    return [{"AttributeName": hash_name, "KeyType": "HASH"}] + (
        [{"AttributeName": range_name, "KeyType": "RANGE"}] if range_name else [])


@pytest.fixture(scope="module")
def shop(dynamodb):
    """Orders (customer S, order N): GSI byStatus (status S, amount N, INCLUDE note),
    GSI byDay (day S, ALL), LSI byTotal (customer, amount N, INCLUDE note)."""
    name = unique_name("shop")
    include = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=schema("customer", "order"),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              (("customer", "S"), ("order", "N"), ("status", "S"), ("amount", "N"), ("day", "S"))],
        GlobalSecondaryIndexes=[
            {"IndexName": "byStatus", "KeySchema": schema("status", "amount"), "Projection": include},
            {"IndexName": "byDay", "KeySchema": schema("day"), "Projection": {"ProjectionType": "ALL"}},
        ],
        LocalSecondaryIndexes=[{"IndexName": "byTotal", "KeySchema": schema("customer", "amount"),
                                "Projection": include}],
    )
    items = []
    for customer in ("ann", "bob"):
        for order in range(1, 9):
            item = {"customer": {"S": customer}, "order": {"N": str(order)}, "amount": {"N": str(order % 4 * 10)},
                    "note": {"S": f"n{order}"}, "secret": {"S": f"s{order}"}}
            if order != 8:  # order 8 has no status and no day: in neither GSI
                item["status"] = {"S": "open" if order % 2 else "paid"}
                item["day"] = {"S": "mon"}
            items.append(item)
    for item in items:
        dynamodb.put_item(TableName=name, Item=item)
    yield name
    dynamodb.delete_table(TableName=name)


def q(dynamodb, table, index, condition, values, **params):
    return dynamodb.query(TableName=table, IndexName=index, KeyConditionExpression=condition,
                          ExpressionAttributeValues=values, **params)


def keys(items):
    return [(i["customer"]["S"], int(i["order"]["N"])) for i in items]


OPEN = {":s": {"S": "open"}}


def test_query_on_a_gsi_returns_index_order_with_ties_in_table_key_order(dynamodb, shop):
    found = q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"})["Items"]
    # open orders are 1, 3, 5, 7 (amounts 10, 30, 10, 30) for both customers; amount ties -> (customer, order)
    assert keys(found) == [("ann", 1), ("ann", 5), ("bob", 1), ("bob", 5),
                           ("ann", 3), ("ann", 7), ("bob", 3), ("bob", 7)]


def test_query_backwards_reverses_the_index_order_ties_included(dynamodb, shop):
    forward = q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"})["Items"]
    backward = q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"},
                 ScanIndexForward=False)["Items"]
    assert keys(backward) == keys(forward)[::-1]


def test_sort_key_conditions_apply_to_the_index_sort_key(dynamodb, shop):
    found = q(dynamodb, shop, "byStatus", "#s = :s AND amount BETWEEN :a AND :b",
              {**OPEN, ":a": {"N": "20"}, ":b": {"N": "40"}}, ExpressionAttributeNames={"#s": "status"})["Items"]
    assert keys(found) == [("ann", 3), ("ann", 7), ("bob", 3), ("bob", 7)]


def test_a_gsi_returns_only_projected_attributes_by_default(dynamodb, shop):
    [item, *_] = q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"})["Items"]
    assert set(item) == {"customer", "order", "status", "amount", "note"}
    same = q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"},
             Select="ALL_PROJECTED_ATTRIBUTES")["Items"][0]
    assert same == item


def test_sparse_gsi_leaves_out_items_without_its_keys(dynamodb, shop):
    found = q(dynamodb, shop, "byDay", "#d = :d", {":d": {"S": "mon"}}, ExpressionAttributeNames={"#d": "day"})["Items"]
    assert len(found) == 14 and ("ann", 8) not in keys(found)
    assert set(found[0]) == {"customer", "order", "status", "amount", "note", "secret", "day"}  # ALL


def test_select_all_attributes_on_a_gsi_that_does_not_project_all_is_refused(dynamodb, shop):
    with validation_error(INVALID + "Select type ALL_ATTRIBUTES is not supported for global secondary index byStatus "
                                    "because its projection type is not ALL"):
        q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"},
          Select="ALL_ATTRIBUTES")


def test_a_gsi_projection_of_attributes_it_does_not_hold_returns_what_it_has(dynamodb, shop):
    found = q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"},
              ProjectionExpression="note, secret")["Items"]
    assert found[0] == {"note": {"S": "n1"}}


def test_consistent_read_on_a_gsi_is_refused(dynamodb, shop):
    with validation_error("Consistent reads are not supported on global secondary indexes"):
        q(dynamodb, shop, "byDay", "#d = :d", {":d": {"S": "mon"}}, ExpressionAttributeNames={"#d": "day"},
          ConsistentRead=True)
    with validation_error("Consistent reads are not supported on global secondary indexes"):
        dynamodb.scan(TableName=shop, IndexName="byDay", ConsistentRead=True)


def test_an_lsi_query_reads_one_customer_in_total_order(dynamodb, shop):
    found = q(dynamodb, shop, "byTotal", "customer = :c", {":c": {"S": "bob"}}, ConsistentRead=True)["Items"]
    assert [int(i["amount"]["N"]) for i in found] == [0, 0, 10, 10, 20, 20, 30, 30]
    assert [int(i["order"]["N"]) for i in found] == [4, 8, 1, 5, 2, 6, 3, 7]
    assert set(found[0]) == {"customer", "order", "amount", "note"}


def test_an_lsi_fetches_attributes_it_does_not_project_and_charges_the_table_read(dynamodb, shop):
    whole = q(dynamodb, shop, "byTotal", "customer = :c AND amount = :t", {":c": {"S": "ann"}, ":t": {"N": "30"}},
              Select="ALL_ATTRIBUTES", ReturnConsumedCapacity="INDEXES")
    assert [i["secret"] for i in whole["Items"]] == [{"S": "s3"}, {"S": "s7"}]
    assert whole["Items"][0]["status"] == {"S": "open"}
    capacity = whole["ConsumedCapacity"]
    assert capacity["LocalSecondaryIndexes"] == {"byTotal": {"CapacityUnits": 0.5}}
    assert capacity["Table"] == {"CapacityUnits": 1.0}  # two items fetched, 0.5 each
    assert capacity["CapacityUnits"] == 1.5
    projected = q(dynamodb, shop, "byTotal", "customer = :c AND amount = :t", {":c": {"S": "ann"}, ":t": {"N": "30"}},
                  ProjectionExpression="secret")["Items"]
    assert projected == [{"secret": {"S": "s3"}}, {"secret": {"S": "s7"}}]


def test_index_read_capacity_is_reported_per_index(dynamodb, shop):
    answer = q(dynamodb, shop, "byDay", "#d = :d", {":d": {"S": "mon"}}, ExpressionAttributeNames={"#d": "day"},
               ReturnConsumedCapacity="INDEXES")
    assert answer["ConsumedCapacity"] == {"TableName": shop, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.0},
                                          "GlobalSecondaryIndexes": {"byDay": {"CapacityUnits": 0.5}}}
    total = q(dynamodb, shop, "byDay", "#d = :d", {":d": {"S": "mon"}}, ExpressionAttributeNames={"#d": "day"},
              ReturnConsumedCapacity="TOTAL")
    assert total["ConsumedCapacity"] == {"TableName": shop, "CapacityUnits": 0.5}


def test_paging_a_gsi_query_with_ties_visits_every_item_once(dynamodb, shop):
    seen, start = [], None
    while True:
        params = {"ExclusiveStartKey": start} if start else {}
        page = q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"}, Limit=3,
                 **params)
        seen += page["Items"]
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
        assert set(start) == {"status", "amount", "customer", "order"}
    assert keys(seen) == keys(q(dynamodb, shop, "byStatus", "#s = :s", OPEN,
                                ExpressionAttributeNames={"#s": "status"})["Items"])


def test_paging_backwards_on_an_lsi(dynamodb, shop):
    first = q(dynamodb, shop, "byTotal", "customer = :c", {":c": {"S": "ann"}}, ScanIndexForward=False, Limit=5)
    assert set(first["LastEvaluatedKey"]) == {"customer", "order", "amount"}
    rest = q(dynamodb, shop, "byTotal", "customer = :c", {":c": {"S": "ann"}}, ScanIndexForward=False,
             ExclusiveStartKey=first["LastEvaluatedKey"])
    orders = [int(i["order"]["N"]) for i in first["Items"] + rest["Items"]]
    assert orders == [7, 3, 6, 2, 5, 1, 8, 4]


@pytest.mark.parametrize("start", [
    {"status": {"S": "open"}, "amount": {"N": "10"}},
    {"customer": {"S": "ann"}, "order": {"N": "1"}},
    {"status": {"S": "open"}, "amount": {"N": "10"}, "customer": {"S": "ann"}, "order": {"N": "1"}, "x": {"S": "y"}},
])
def test_an_index_start_key_needs_the_index_and_table_keys(dynamodb, shop, start):
    with validation_error("The provided starting key is invalid"):
        q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"},
          ExclusiveStartKey=start)


def test_an_index_start_key_with_a_table_key_of_the_wrong_type_is_refused(dynamodb, shop):
    start = {"status": {"S": "open"}, "amount": {"N": "10"}, "customer": {"S": "ann"}, "order": {"S": "1"}}
    with validation_error("The provided starting key is invalid: The provided key element does not match the schema"):
        q(dynamodb, shop, "byStatus", "#s = :s", OPEN, ExpressionAttributeNames={"#s": "status"},
          ExclusiveStartKey=start)


def test_index_key_conditions_must_name_the_index_keys(dynamodb, shop):
    with validation_error("Query condition missed key schema element: status"):
        q(dynamodb, shop, "byStatus", "customer = :c", {":c": {"S": "ann"}})
    with validation_error(INVALID + "Condition parameter type does not match schema type"):
        q(dynamodb, shop, "byStatus", "#s = :s", {":s": {"N": "1"}}, ExpressionAttributeNames={"#s": "status"})


def test_a_filter_on_an_index_may_use_the_table_keys_but_not_the_index_keys(dynamodb, shop):
    found = q(dynamodb, shop, "byStatus", "#s = :s", {**OPEN, ":c": {"S": "bob"}},
              ExpressionAttributeNames={"#s": "status"}, FilterExpression="customer = :c")
    assert keys(found["Items"]) == [("bob", 1), ("bob", 5), ("bob", 3), ("bob", 7)]
    assert found["ScannedCount"] == 8
    with validation_error("Filter Expression can only contain non-primary key attributes: "
                          "Primary key attribute: amount"):
        q(dynamodb, shop, "byStatus", "#s = :s", {**OPEN, ":t": {"N": "1"}}, ExpressionAttributeNames={"#s": "status"},
          FilterExpression="amount > :t")


def test_an_lsi_filter_on_an_attribute_it_does_not_project_reads_the_item(dynamodb, shop):
    found = q(dynamodb, shop, "byTotal", "customer = :c", {":c": {"S": "ann"}, ":x": {"S": "s6"}},
              FilterExpression="secret = :x")["Items"]
    assert [(int(i["order"]["N"]), i["secret"]["S"]) for i in found] == [(6, "s6")]


def test_select_count_on_an_index(dynamodb, shop):
    answer = q(dynamodb, shop, "byDay", "#d = :d", {":d": {"S": "mon"}}, ExpressionAttributeNames={"#d": "day"},
               Select="COUNT")
    assert (answer["Count"], answer["ScannedCount"], "Items" in answer) == (14, 14, False)


def test_unknown_index_is_refused(dynamodb, shop):
    with validation_error("The table does not have the specified index: nope"):
        q(dynamodb, shop, "nope", "customer = :c", {":c": {"S": "ann"}})
    with validation_error("The table does not have the specified index: nope"):
        dynamodb.scan(TableName=shop, IndexName="nope")


def test_scan_of_a_gsi_returns_its_entries_only(dynamodb, shop):
    found = dynamodb.scan(TableName=shop, IndexName="byStatus")["Items"]
    assert len(found) == 14
    assert all(set(i) == {"customer", "order", "status", "amount", "note"} for i in found)


def test_scan_of_an_index_pages_with_index_positions(dynamodb, shop):
    seen, start = [], None
    while True:
        page = dynamodb.scan(TableName=shop, IndexName="byStatus", Limit=4,
                             **({"ExclusiveStartKey": start} if start else {}))
        seen += keys(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen) == sorted(keys(dynamodb.scan(TableName=shop, IndexName="byStatus")["Items"]))
    assert len(seen) == len(set(seen)) == 14


def test_parallel_scan_of_an_index_covers_each_entry_once(dynamodb, shop):
    seen = []
    for segment in range(3):
        seen += keys(dynamodb.scan(TableName=shop, IndexName="byDay", Segment=segment, TotalSegments=3)["Items"])
    assert len(seen) == len(set(seen)) == 14


def test_scan_of_an_lsi_with_select_all_attributes_fetches_items(dynamodb, shop):
    found = dynamodb.scan(TableName=shop, IndexName="byTotal", Select="ALL_ATTRIBUTES")["Items"]
    assert len(found) == 16 and all("secret" in i for i in found)


@pytest.fixture
def big_index(dynamodb):
    """25 items of 100 KB in one GSI partition: more than one 1 MB page."""
    name = unique_name("big")
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=schema("pk", "sk"),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                              for n, t in (("pk", "S"), ("sk", "N"), ("g", "S"))],
        GlobalSecondaryIndexes=[{"IndexName": "byG", "KeySchema": schema("g"),
                                 "Projection": {"ProjectionType": "ALL"}}])
    blob = "x" * 100_000
    for i in range(25):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "g": {"S": "one"},
                                                "blob": {"S": blob}})
    yield name
    dynamodb.delete_table(TableName=name)


def test_an_index_query_stops_at_1_mb_and_continues(dynamodb, big_index):
    counts, start = [], None
    while True:
        page = q(dynamodb, big_index, "byG", "g = :g", {":g": {"S": "one"}},
                 **({"ExclusiveStartKey": start} if start else {}))
        counts.append(page["Count"])
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
    assert counts[0] == 11  # 11 items of 100 KB reach 1 MB
    assert sum(counts) == 25
