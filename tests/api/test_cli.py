"""The AWS CLI (v1) against the table service: the study guide's commands, verbatim but for the
`--endpoint-url` that the `aws_cli` fixture adds."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import unique_name

CREATE_MY_TABLE = [
    "dynamodb", "create-table", "--table-name", "MyTable",
    "--attribute-definitions", "AttributeName=userId,AttributeType=S", "AttributeName=timestamp,AttributeType=N",
    "--key-schema", "AttributeName=userId,KeyType=HASH", "AttributeName=timestamp,KeyType=RANGE",
    "--billing-mode", "PAY_PER_REQUEST",
]
PUT_ITEM = [
    "dynamodb", "put-item", "--table-name", "MyTable", "--item",
    '{ "userId": {"S": "123"}, "timestamp": {"N": "20231010"}, "expirationTimestamp": {"N": "20231015"} }',
]
ITEM = {"userId": {"S": "123"}, "timestamp": {"N": "20231010"}, "expirationTimestamp": {"N": "20231015"}}


@pytest.fixture
def no_my_table(dynamodb):
    """MyTable is a fixed name: make sure no earlier run left it, and delete it at the end (with boto3,
    which starts faster than the CLI; the CLI is what the test itself exercises)."""

    def drop():
        try:
            dynamodb.delete_table(TableName="MyTable")
        except dynamodb.exceptions.ResourceNotFoundException:
            return
        dynamodb.get_waiter("table_not_exists").wait(TableName="MyTable", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})

    drop()
    yield
    drop()


def test_study_guide_commands_create_put_get_describe_list_delete(aws_cli, no_my_table):
    created = json.loads(aws_cli(*CREATE_MY_TABLE).stdout)["TableDescription"]
    assert created["TableName"] == "MyTable"
    assert created["KeySchema"] == [{"AttributeName": "userId", "KeyType": "HASH"},
                                    {"AttributeName": "timestamp", "KeyType": "RANGE"}]
    aws_cli("dynamodb", "wait", "table-exists", "--table-name", "MyTable")

    put = aws_cli(*PUT_ITEM)
    assert put.stdout.strip() == ""

    got = aws_cli("dynamodb", "get-item", "--table-name", "MyTable",
                  "--key", '{"userId": {"S": "123"}, "timestamp": {"N": "20231010"}}')
    assert json.loads(got.stdout) == {"Item": ITEM}

    table = json.loads(aws_cli("dynamodb", "describe-table", "--table-name", "MyTable").stdout)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted(d["AttributeName"] for d in table["AttributeDefinitions"]) == ["timestamp", "userId"]

    names = json.loads(aws_cli("dynamodb", "list-tables").stdout)["TableNames"]
    assert "MyTable" in names

    deleted = json.loads(aws_cli("dynamodb", "delete-table", "--table-name", "MyTable").stdout)
    assert deleted["TableDescription"]["TableName"] == "MyTable"
    aws_cli("dynamodb", "wait", "table-not-exists", "--table-name", "MyTable")
    missing = aws_cli("dynamodb", "describe-table", "--table-name", "MyTable", check=False)
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr


def test_cli_reports_a_failed_condition(aws_cli, make_table):
    table = make_table(hash_key=("userId", "S"))
    item = '{"userId": {"S": "123"}}'
    aws_cli("dynamodb", "put-item", "--table-name", table.name, "--item", item)
    result = aws_cli("dynamodb", "put-item", "--table-name", table.name, "--item", item,
                     "--condition-expression", "attribute_not_exists(userId)", check=False)
    assert result.returncode != 0
    assert "ConditionalCheckFailedException" in result.stderr


def test_cli_reports_a_validation_error(aws_cli):
    result = aws_cli("dynamodb", "describe-table", "--table-name", "bad;name", check=False)
    assert result.returncode != 0
    assert "ValidationException" in result.stderr
    result = aws_cli("dynamodb", "describe-table", "--table-name", unique_name(), check=False)
    assert "ResourceNotFoundException" in result.stderr
