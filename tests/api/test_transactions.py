"""TransactWriteItems and TransactGetItems: several tables, all or nothing, cancellation reasons one
per action, the request rules (one kind per action, no two actions on one item, 100 actions, 4 MB),
client-token idempotency, consumed capacity (double), item collection metrics, snapshots and
projections, and the AWS CLI."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.api.helpers import aws_error, unique_name

CANCELLED = "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]"
SAME_ITEM = "Transaction request cannot include multiple operations on one item"


def key(pk: str, sk: int | None = None) -> dict:
    return {"pk": {"S": pk}} if sk is None else {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def put(table, item: dict, **extra) -> dict:
    return {"Put": {"TableName": table.name, "Item": item, **extra}}


def delete(table, k: dict, **extra) -> dict:
    return {"Delete": {"TableName": table.name, "Key": k, **extra}}


def check(table, k: dict, condition: str, **extra) -> dict:
    return {"ConditionCheck": {"TableName": table.name, "Key": k, "ConditionExpression": condition, **extra}}


def add(table, k: dict, amount: int, **extra) -> dict:
    return {"Update": {"TableName": table.name, "Key": k, "UpdateExpression": "ADD n :a",
                       "ExpressionAttributeValues": {":a": {"N": str(amount)}, **extra.pop("values", {})}, **extra}}


def get(dynamodb, table, k: dict) -> dict | None:
    return dynamodb.get_item(TableName=table.name, Key=k, ConsistentRead=True).get("Item")


def codes(info) -> list[str]:
    return [reason["Code"] for reason in info.value.response["CancellationReasons"]]


# --- TransactWriteItems: all of it ---------------------------------------------------------------------


def test_transact_write_puts_updates_deletes_and_checks_over_two_tables(dynamodb, table, composite_table):
    dynamodb.put_item(TableName=table.name, Item={**key("gone"), "v": {"S": "x"}})
    dynamodb.put_item(TableName=table.name, Item={**key("counter"), "n": {"N": "5"}})
    dynamodb.put_item(TableName=composite_table.name, Item={**key("p", 1), "open": {"BOOL": True}})
    response = dynamodb.transact_write_items(TransactItems=[
        put(table, {**key("new"), "v": {"S": "fresh"}}, ConditionExpression="attribute_not_exists(pk)"),
        add(table, key("counter"), 3),
        delete(table, key("gone")),
        check(composite_table, key("p", 1), "#o = :t", ExpressionAttributeNames={"#o": "open"},
              ExpressionAttributeValues={":t": {"BOOL": True}}),
        put(composite_table, {**key("p", 2), "v": {"N": "2"}}),
    ])
    assert "ConsumedCapacity" not in response and "ItemCollectionMetrics" not in response
    assert get(dynamodb, table, key("new")) == {**key("new"), "v": {"S": "fresh"}}
    assert get(dynamodb, table, key("counter"))["n"] == {"N": "8"}
    assert get(dynamodb, table, key("gone")) is None
    assert get(dynamodb, composite_table, key("p", 1)) == {**key("p", 1), "open": {"BOOL": True}}
    assert get(dynamodb, composite_table, key("p", 2)) == {**key("p", 2), "v": {"N": "2"}}


def test_a_failed_condition_cancels_every_action_with_one_reason_each_in_order(dynamodb, table, composite_table):
    dynamodb.put_item(TableName=table.name, Item={**key("a"), "n": {"N": "1"}})
    with aws_error("TransactionCanceledException", CANCELLED.format("None, ConditionalCheckFailed, None")) as info:
        dynamodb.transact_write_items(TransactItems=[
            add(table, key("a"), 10),
            check(table, key("missing"), "attribute_exists(pk)"),
            put(composite_table, {**key("p", 1)}),
        ])
    assert info.value.response["CancellationReasons"] == [
        {"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
        {"Code": "None"}]
    assert get(dynamodb, table, key("a"))["n"] == {"N": "1"}  # the update before the failure is undone
    assert get(dynamodb, composite_table, key("p", 1)) is None


def test_every_failing_action_gets_its_reason_and_all_old_returns_the_item(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item={**key("a"), "n": {"N": "1"}})
    dynamodb.put_item(TableName=table.name, Item={**key("b"), "n": {"N": "2"}})
    with aws_error("TransactionCanceledException",
                   CANCELLED.format("ConditionalCheckFailed, ConditionalCheckFailed, None")) as info:
        dynamodb.transact_write_items(TransactItems=[
            delete(table, key("a"), ConditionExpression="n > :z", ExpressionAttributeValues={":z": {"N": "5"}},
                   ReturnValuesOnConditionCheckFailure="ALL_OLD"),
            put(table, {**key("b"), "n": {"N": "9"}}, ConditionExpression="attribute_not_exists(pk)"),
            put(table, {**key("c")}),
        ])
    first, second, _ = info.value.response["CancellationReasons"]
    assert first["Item"] == {**key("a"), "n": {"N": "1"}}
    assert "Item" not in second  # ReturnValuesOnConditionCheckFailure NONE
    assert get(dynamodb, table, key("a")) is not None and get(dynamodb, table, key("c")) is None


def test_an_update_dynamodb_cannot_apply_is_a_validation_error_reason(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item={**key("s"), "n": {"S": "not a number"}})
    with aws_error("TransactionCanceledException", CANCELLED.format("None, ValidationError")) as info:
        dynamodb.transact_write_items(TransactItems=[put(table, {**key("x")}), add(table, key("s"), 1)])
    reason = info.value.response["CancellationReasons"][1]
    assert "incorrect data type" in reason["Message"]
    assert get(dynamodb, table, key("x")) is None


def test_a_no_op_transaction_succeeds_and_changes_nothing(dynamodb, table):
    a, b = {**key("a"), "n": {"N": "1"}}, {**key("b"), "n": {"N": "2"}}
    for item in (a, b):
        dynamodb.put_item(TableName=table.name, Item=item)
    dynamodb.transact_write_items(TransactItems=[check(table, key("a"), "attribute_exists(pk)"), put(table, b),
                                                 delete(table, key("never-there"))])
    assert (get(dynamodb, table, key("a")), get(dynamodb, table, key("b"))) == (a, b)


# --- the request's rules --------------------------------------------------------------------------------


def test_two_actions_on_one_item_are_refused(dynamodb, table):
    with aws_error("ValidationException", SAME_ITEM):
        dynamodb.transact_write_items(TransactItems=[put(table, {**key("a"), "v": {"S": "1"}}),
                                                     check(table, key("a"), "attribute_exists(pk)")])
    assert get(dynamodb, table, key("a")) is None


def test_an_action_has_exactly_one_kind(lenient, table):
    both = {**put(table, {**key("a")}), **delete(table, key("b"))}
    for entry in (both, {}):
        with aws_error("ValidationException", "TransactItems can only contain one of Check, Put, Update or Delete"):
            lenient.transact_write_items(TransactItems=[entry])


def test_one_to_one_hundred_actions(lenient, dynamodb, table):
    with aws_error("ValidationException", match="Member must have length less than or equal to 100"):
        lenient.transact_write_items(TransactItems=[put(table, {**key(str(i))}) for i in range(101)])
    with aws_error("ValidationException", match="Member must have length greater than or equal to 1"):
        lenient.transact_write_items(TransactItems=[])
    dynamodb.transact_write_items(TransactItems=[put(table, {**key(str(i))}) for i in range(100)])
    assert dynamodb.scan(TableName=table.name, Select="COUNT")["Count"] == 100


def test_an_unknown_table_or_a_bad_key_refuses_the_whole_transaction(dynamodb, table):
    missing = {"Put": {"TableName": unique_name("missing"), "Item": key("b")}}
    with aws_error("ResourceNotFoundException"):
        dynamodb.transact_write_items(TransactItems=[put(table, {**key("a")}), missing])
    with aws_error("ValidationException", match="key"):
        dynamodb.transact_write_items(TransactItems=[put(table, {**key("a")}), delete(table, {"pk": {"N": "1"}})])
    assert get(dynamodb, table, key("a")) is None


def test_more_than_4_mb_of_items_is_refused(dynamodb, table):
    big = "x" * (390 * 1024)
    with aws_error("ValidationException", match="4 MB"):
        dynamodb.transact_write_items(TransactItems=[put(table, {**key(str(i)), "v": {"S": big}}) for i in range(11)])
    assert dynamodb.scan(TableName=table.name, Select="COUNT")["Count"] == 0
    dynamodb.transact_write_items(TransactItems=[put(table, {**key(str(i)), "v": {"S": big}}) for i in range(10)])
    assert all(get(dynamodb, table, key(str(i))) is not None for i in range(10))


# --- ClientRequestToken ---------------------------------------------------------------------------------


def test_the_same_token_and_request_writes_once_and_answers_the_same(dynamodb, table):
    request = {"ClientRequestToken": str(uuid.uuid4()), "ReturnConsumedCapacity": "TOTAL",
               "TransactItems": [add(table, key("counter"), 1)]}
    first = dynamodb.transact_write_items(**request)
    again = dynamodb.transact_write_items(**request)
    assert get(dynamodb, table, key("counter"))["n"] == {"N": "1"}
    assert again["ConsumedCapacity"] == first["ConsumedCapacity"]


def test_the_same_token_with_another_request_is_a_mismatch(dynamodb, table):
    token = str(uuid.uuid4())
    dynamodb.transact_write_items(ClientRequestToken=token, TransactItems=[add(table, key("counter"), 1)])
    with aws_error("IdempotentParameterMismatchException"):
        dynamodb.transact_write_items(ClientRequestToken=token, TransactItems=[add(table, key("counter"), 2)])
    assert get(dynamodb, table, key("counter"))["n"] == {"N": "1"}
    dynamodb.transact_write_items(ClientRequestToken=str(uuid.uuid4()), TransactItems=[add(table, key("counter"), 2)])
    assert get(dynamodb, table, key("counter"))["n"] == {"N": "3"}


def test_a_cancelled_transaction_does_not_keep_its_token(dynamodb, table):
    """The token is kept with the writes it guards: nothing committed, nothing to repeat."""
    request = {"ClientRequestToken": str(uuid.uuid4()),
               "TransactItems": [put(table, {**key("a")}), check(table, key("flag"), "attribute_exists(pk)")]}
    with aws_error("TransactionCanceledException"):
        dynamodb.transact_write_items(**request)
    dynamodb.put_item(TableName=table.name, Item=key("flag"))
    dynamodb.transact_write_items(**request)
    assert get(dynamodb, table, key("a")) == key("a")


# --- capacity and metrics -------------------------------------------------------------------------------


def test_consumed_capacity_is_twice_a_write_per_table(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=key("checked"))
    response = dynamodb.transact_write_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
        put(table, {**key("a"), "v": {"S": "x" * 1500}}),  # 2 KB: 2 units, doubled
        check(table, key("checked"), "attribute_exists(pk)"),  # 1 unit, doubled
    ])
    assert response["ConsumedCapacity"] == [{"TableName": table.name, "CapacityUnits": 6.0}]


@pytest.fixture
def indexed_table(dynamodb):
    """Make a table keyed by pk (S) [+ sk (N)] with one index `by-v` on v (S), ALL projected:
    global, or local (with the sort key); deleted after the test."""
    names = []

    def make(local: bool = False) -> str:
        name = unique_name("indexed")
        schema = [{"AttributeName": "pk", "KeyType": "HASH"}] + (
            [{"AttributeName": "sk", "KeyType": "RANGE"}] if local else [])
        definitions = [{"AttributeName": n, "AttributeType": t} for n, t in
                       (("pk", "S"), ("v", "S")) + ((("sk", "N"),) if local else ())]
        index_key = [{"AttributeName": "pk", "KeyType": "HASH"}] if local else []
        index = {"IndexName": "by-v", "KeySchema": index_key + [
            {"AttributeName": "v", "KeyType": "RANGE" if local else "HASH"}], "Projection": {"ProjectionType": "ALL"}}
        dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=schema,
                              AttributeDefinitions=definitions,
                              **{"LocalSecondaryIndexes" if local else "GlobalSecondaryIndexes": [index]})
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
        names.append(name)
        return name

    yield make
    for name in names:
        dynamodb.delete_table(TableName=name)


def test_consumed_capacity_indexes_lists_each_table_and_index(dynamodb, table, indexed_table):
    name = indexed_table()
    response = dynamodb.transact_write_items(ReturnConsumedCapacity="INDEXES", TransactItems=[
        put(table, {**key("a")}),
        {"Put": {"TableName": name, "Item": {**key("b"), "v": {"S": "x"}}}},
    ])
    assert sorted(response["ConsumedCapacity"], key=lambda c: c["TableName"] != table.name) == [
        {"TableName": table.name, "CapacityUnits": 2.0, "Table": {"CapacityUnits": 2.0}},
        {"TableName": name, "CapacityUnits": 4.0, "Table": {"CapacityUnits": 2.0},
         "GlobalSecondaryIndexes": {"by-v": {"CapacityUnits": 2.0}}},
    ]


def test_an_index_key_of_the_wrong_type_is_refused(dynamodb, indexed_table):
    name = indexed_table()
    with aws_error("ValidationException", match="Type mismatch for Index Key v"):
        dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": {**key("b"), "v": {"N": "1"}}}}])
    dynamodb.put_item(TableName=name, Item={**key("c"), "w": {"N": "1"}})
    with aws_error("TransactionCanceledException", CANCELLED.format("ValidationError")):
        dynamodb.transact_write_items(TransactItems=[{"Update": {
            "TableName": name, "Key": key("c"), "UpdateExpression": "SET v = w"}}])


def test_item_collection_metrics_for_a_table_with_a_local_index(dynamodb, indexed_table):
    name = indexed_table(local=True)
    response = dynamodb.transact_write_items(ReturnItemCollectionMetrics="SIZE", TransactItems=[
        {"Put": {"TableName": name, "Item": {**key("p", 1), "v": {"S": "x"}}}}])
    assert response["ItemCollectionMetrics"] == {
        name: [{"ItemCollectionKey": {"pk": {"S": "p"}}, "SizeEstimateRangeGB": [0.0, 1.0]}]}


# --- TransactGetItems -----------------------------------------------------------------------------------


def test_transact_get_reads_several_tables_in_order_with_projections(dynamodb, table, composite_table):
    dynamodb.put_item(TableName=table.name, Item={**key("a"), "v": {"S": "A"}, "w": {"M": {"x": {"N": "1"}}}})
    dynamodb.put_item(TableName=composite_table.name, Item={**key("p", 1), "v": {"N": "1"}})
    response = dynamodb.transact_get_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
        {"Get": {"TableName": composite_table.name, "Key": key("p", 1)}},
        {"Get": {"TableName": table.name, "Key": key("missing")}},
        {"Get": {"TableName": table.name, "Key": key("a"), "ProjectionExpression": "#w.x",
                 "ExpressionAttributeNames": {"#w": "w"}}},
    ])
    assert response["Responses"] == [{"Item": {**key("p", 1), "v": {"N": "1"}}}, {},
                                     {"Item": {"w": {"M": {"x": {"N": "1"}}}}}]
    assert sorted(response["ConsumedCapacity"], key=lambda c: c["TableName"] != table.name) == [
        {"TableName": table.name, "CapacityUnits": 4.0}, {"TableName": composite_table.name, "CapacityUnits": 2.0}]


def test_transact_get_refuses_two_gets_of_one_item_and_unknown_tables(dynamodb, table):
    with aws_error("ValidationException", SAME_ITEM):
        dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": table.name, "Key": key("a")}}] * 2)
    with aws_error("ResourceNotFoundException"):
        dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": unique_name("missing"), "Key": key("a")}}])


# --- the AWS CLI ----------------------------------------------------------------------------------------


def test_aws_cli_transact_write_items(aws_cli, dynamodb, table):
    items = [put(table, {**key("cli"), "v": {"S": "1"}}), add(table, key("counter"), 2)]
    aws_cli("dynamodb", "transact-write-items", "--transact-items", json.dumps(items))
    assert get(dynamodb, table, key("cli")) == {**key("cli"), "v": {"S": "1"}}
    failed = aws_cli("dynamodb", "transact-write-items", "--transact-items",
                     json.dumps([check(table, key("nope"), "attribute_exists(pk)")]), check=False)
    assert failed.returncode != 0 and "TransactionCanceledException" in failed.stderr
    assert "[ConditionalCheckFailed]" in failed.stderr

