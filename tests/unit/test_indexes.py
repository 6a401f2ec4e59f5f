"""SecondaryIndex: which items an index holds (sparse), what its entries keep (projections), and
the refusal of wrong-typed or empty index keys."""

from __future__ import annotations

import pytest

from table_api.errors import ValidationException
from table_api.indexes import SecondaryIndex, index_arn, indexes_of
from table_api.keys import KeySchema, encode_key_value
from table_api.values import item_size

TABLE = KeySchema("pk", "S", "sk", "N")
DESCRIPTION = {
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in
                             (("pk", "S"), ("sk", "N"), ("g", "S"), ("l", "N"))],
    "GlobalSecondaryIndexes": [
        {"IndexName": "byG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["kept"]}},
    ],
    "LocalSecondaryIndexes": [
        {"IndexName": "byL", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                           {"AttributeName": "l", "KeyType": "RANGE"}],
         "Projection": {"ProjectionType": "KEYS_ONLY"}},
    ],
}
ITEM = {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "x"}, "l": {"N": "-2.5"}, "kept": {"S": "k"},
        "other": {"S": "o"}}


@pytest.fixture
def indexes() -> dict[str, SecondaryIndex]:
    return {index.name: index for index in indexes_of(DESCRIPTION, TABLE, frozenset({"byG"}))}


def test_lsis_come_first_and_backfilling_is_per_index():
    found = indexes_of(DESCRIPTION, TABLE, frozenset({"byG"}))
    assert [(i.name, i.is_global, i.backfilling) for i in found] == [("byL", False, False), ("byG", True, True)]
    assert [i.kind for i in found] == ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"]


def test_an_entry_keeps_the_table_keys_the_index_keys_and_included_attributes(indexes):
    entry = indexes["byG"].entry(ITEM)
    assert entry.item == {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "x"}, "kept": {"S": "k"}}
    assert (entry.pk, entry.sk) == (encode_key_value({"S": "x"}), b"")
    keys_only = indexes["byL"].entry(ITEM)
    assert keys_only.item == {"pk": {"S": "a"}, "sk": {"N": "1"}, "l": {"N": "-2.5"}}
    assert keys_only.sk == encode_key_value({"N": "-2.5"})
    assert keys_only.size == item_size(keys_only.item) < item_size(ITEM)


def test_an_item_without_an_index_key_has_no_entry(indexes):
    assert indexes["byG"].entry({k: v for k, v in ITEM.items() if k != "g"}) is None
    assert indexes["byL"].entry(None) is None


def test_an_all_projection_keeps_the_whole_item_and_a_known_size():
    index = SecondaryIndex("all", True, KeySchema("g", "S"), "ALL", frozenset())
    entry = index.entry(ITEM, size=123)
    assert entry.item is ITEM and entry.size == 123


@pytest.mark.parametrize("value, message", [
    ({"N": "1"}, ("One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N "
                  "IndexName: byG")),
    ({"S": ""}, ("One or more parameter values are not valid. A value specified for a secondary index key is not "
                 "supported. The AttributeValue for a key attribute cannot contain an empty string value. "
                 "IndexName: byG, IndexKey: g")),
])
def test_a_wrong_or_empty_index_key_is_refused(indexes, value, message):
    with pytest.raises(ValidationException) as info:
        indexes["byG"].check({**ITEM, "g": value})
    assert info.value.message == message
    assert not indexes["byG"].fits({**ITEM, "g": value})
    assert indexes["byG"].fits({k: v for k, v in ITEM.items() if k != "g"})  # absent is fine: sparse


def test_index_arn_is_the_table_arn_and_the_index_name():
    assert index_arn("arn:aws:dynamodb:us-east-1:1:table/t", "byG") == "arn:aws:dynamodb:us-east-1:1:table/t/index/byG"
