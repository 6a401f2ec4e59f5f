"""The request-shape validator driven by botocore's DynamoDB model (pure, no server)."""

import pytest

from aws_json.errors import SerializationException, UnknownOperationException, ValidationException
from aws_json.protocol import Service


@pytest.fixture(scope="module")
def service():
    s = Service("dynamodb", "2012-08-10")
    s.operation("CreateTable", required=("AttributeDefinitions", "KeySchema"))(lambda ctx, req: {})
    s.operation("ListTables")(lambda ctx, req: {})
    return s


def test_missing_required_member_is_reported_like_aws(service):
    with pytest.raises(ValidationException) as exc:
        service.request("CreateTable", b"{}")
    assert exc.value.message.startswith("3 validation errors detected: ")
    assert "Value null at 'tableName' failed to satisfy constraint: Member must not be null" in exc.value.message


def test_enum_and_range_violations_use_aws_wording(service):
    body = b'{"TableName": "abc", "KeySchema": [{"AttributeName": "a", "KeyType": "SIDEWAYS"}], "AttributeDefinitions": []}'
    with pytest.raises(ValidationException) as exc:
        service.request("CreateTable", body)
    assert (
        "Value 'SIDEWAYS' at 'keySchema.1.member.keyType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [HASH, RANGE]"
    ) in exc.value.message
    with pytest.raises(ValidationException, match="Member must have value less than or equal to 100"):
        service.request("ListTables", b'{"Limit": 101}')


def test_wrong_json_type_is_a_serialization_error(service):
    with pytest.raises(SerializationException):
        service.request("ListTables", b'{"Limit": "ten"}')
    with pytest.raises(SerializationException):
        service.request("ListTables", b"[1, 2]")
    with pytest.raises(SerializationException):
        service.request("ListTables", b"{not json")


def test_unknown_members_are_ignored_and_unknown_operations_refused(service):
    handler, req = service.request("ListTables", b'{"Limit": 5, "Whatever": 1}')
    assert req["Limit"] == 5
    with pytest.raises(UnknownOperationException):
        service.request("DescribeTable", b"{}")  # not registered on this test service
