"""What CreateTable checks about a table's own definition (its KeySchema, AttributeDefinitions
and provisioned throughput), in DynamoDB's order and words; secondary indexes add their rules in
`secondary_indexes.py`."""

from __future__ import annotations

from aws_json.protocol import render
from table_api.errors import ValidationException

INVALID = "One or more parameter values were invalid: "


def check_key_schema(key_schema: list[dict], definitions: list[dict], with_indexes: bool = False) -> None:
    """DynamoDB's rules for a table's KeySchema and AttributeDefinitions, in its order. With
    secondary indexes, the definitions are matched against every key later (`secondary_indexes`)."""
    if len(key_schema) > 2:
        raise ValidationException(
            f"1 validation error detected: Value '{render(key_schema)}' at 'keySchema' failed to satisfy constraint: "
            "Member must have length less than or equal to 2"
        )
    defined = [d["AttributeName"] for d in definitions]
    keys = [k["AttributeName"] for k in key_schema]
    duplicated = next((name for i, name in enumerate(defined) if name in defined[:i]), None)
    if duplicated is not None:
        raise ValidationException(f"Attribute Name is duplicated: {duplicated}")
    if any(k not in defined for k in keys):
        if len(keys) == 2:
            raise ValidationException("Invalid KeySchema: Some index key attribute have no definition")
        raise ValidationException(
            INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
            f"Keys: [{', '.join(keys)}], AttributeDefinitions: [{', '.join(defined)}]"
        )
    if len(keys) == 2 and keys[0] == keys[1]:
        raise ValidationException("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    if key_schema[0]["KeyType"] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(key_schema) == 2 and key_schema[1]["KeyType"] != "RANGE":
        raise ValidationException("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    if len(keys) != len(defined) and not with_indexes:
        raise ValidationException(
            INVALID + "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
        )


def throughput(billing_mode: str, provisioned: dict | None) -> dict:
    if billing_mode == "PAY_PER_REQUEST":
        if provisioned is not None:
            raise ValidationException(
                INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )
        return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if provisioned is None:
        raise ValidationException(
            INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    for unit in ("ReadCapacityUnits", "WriteCapacityUnits"):
        if provisioned[unit] < 1:
            raise ValidationException(
                f"1 validation error detected: Value '{provisioned[unit]}' at 'provisionedThroughput.{unit[0].lower()}{unit[1:]}' "
                "failed to satisfy constraint: Member must have value greater than or equal to 1"
            )
        if provisioned[unit] > 1_000_000_000_000:
            raise ValidationException(f"Given value {provisioned[unit]} for {unit} is out of bounds")
    return {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": provisioned["ReadCapacityUnits"],
        "WriteCapacityUnits": provisioned["WriteCapacityUnits"],
    }
