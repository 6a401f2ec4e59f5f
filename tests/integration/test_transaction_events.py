"""TransactWriteItems' change events, read back from Kafka with a real consumer: one event per item
the transaction changes, over several tables' topics, each with the same `cdc-bridge-transaction`
header and the transaction's event count in `cdc-bridge-transaction-items`, so a consumer can
regroup it; none for a cancelled transaction, none for its ConditionChecks and no-op writes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.integration.cdc_helpers import latest_label

pytestmark = pytest.mark.timeout(60)

TX, TX_ITEMS = "cdc-bridge-transaction", "cdc-bridge-transaction-items"


def topic_of(cdc, dynamodb, table: str) -> str:
    return cdc.stream_topic(table, latest_label(dynamodb, table))


def test_a_transaction_emits_one_event_per_changed_item_with_its_id_and_size(cdc, dynamodb, tables):
    first, second = tables.create("cdc-tx"), tables.create("cdc-tx-sk", "NEW_IMAGE", range_key=("sk", "N"))
    for pk in ("same", "checked", "removed", "counter"):
        dynamodb.put_item(TableName=first, Item={"pk": {"S": pk}, "n": {"N": "1"}})
    response = dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": first, "Item": {"pk": {"S": "same"}, "n": {"N": "1"}}}},  # no change: no event
        {"ConditionCheck": {"TableName": first, "Key": {"pk": {"S": "checked"}},
                            "ConditionExpression": "attribute_exists(pk)"}},  # no event
        {"Delete": {"TableName": first, "Key": {"pk": {"S": "removed"}}}},
        {"Update": {"TableName": first, "Key": {"pk": {"S": "counter"}}, "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": second, "Item": {"pk": {"S": "p"}, "sk": {"N": "1"}}}},
    ])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    dynamodb.put_item(TableName=first, Item={"pk": {"S": "after"}})  # a single write: no transaction headers

    first_events = cdc.events(topic_of(cdc, dynamodb, first))
    second_events = cdc.events(topic_of(cdc, dynamodb, second))
    in_tx = [e for e in first_events + second_events if TX in e.headers]
    assert sorted((e.name, e.key["pk"]["S"]) for e in in_tx) == [
        ("INSERT", "p"), ("MODIFY", "counter"), ("REMOVE", "removed")]
    assert len({e.headers[TX] for e in in_tx}) == 1 and in_tx[0].headers[TX]
    assert {e.headers[TX_ITEMS] for e in in_tx} == {b"3"}
    modify = next(e for e in in_tx if e.name == "MODIFY").record
    assert (modify["OldImage"]["n"], modify["NewImage"]["n"]) == ({"N": "1"}, {"N": "2"})
    outside = [e for e in first_events if TX not in e.headers]
    assert sorted(e.key["pk"]["S"] for e in outside) == ["after", "checked", "counter", "removed", "same"]
    assert all(TX_ITEMS not in e.headers for e in outside)


def test_two_transactions_have_distinct_ids(cdc, dynamodb, tables):
    table = tables.create("cdc-tx-ids", "KEYS_ONLY")
    for pk in ("a", "b"):
        dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": pk}}}}])
    events = cdc.events(topic_of(cdc, dynamodb, table))
    assert len(events) == 2 and events[0].headers[TX] != events[1].headers[TX]
    assert {e.headers[TX_ITEMS] for e in events} == {b"1"}


def test_a_cancelled_transaction_emits_nothing(cdc, dynamodb, tables):
    table = tables.create("cdc-tx-cancelled", "NEW_AND_OLD_IMAGES")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "marker"}})
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": "marker"}}, "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "x"}}}},
            {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "absent"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
    events = cdc.events(topic_of(cdc, dynamodb, table))
    assert [(e.name, e.key) for e in events] == [("INSERT", {"pk": {"S": "marker"}})]
