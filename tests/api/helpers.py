"""Assertions shared by the API tests: an AWS error is a code, a 400, and (where AWS's wording is
well established) an exact message."""

from __future__ import annotations

import contextlib
import re
import uuid

import pytest
from botocore.exceptions import ClientError

MAX_ITEM_BYTES = 400 * 1024


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_table(dynamodb, name: str, hash_key=("pk", "S"), range_key=None, **extra) -> None:
    """An on-demand table keyed by (name, type) pairs, waited for until it exists."""
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    definitions = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    if range_key:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        definitions.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
    dynamodb.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=definitions,
                          BillingMode="PAY_PER_REQUEST", **extra)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


@contextlib.contextmanager
def aws_error(code: str, message: str | None = None, match: str | None = None):
    """Expect a ClientError with this code and HTTP 400; `message` is compared exactly, `match`
    is a regular expression searched in the message. Yields pytest's ExceptionInfo."""
    with pytest.raises(ClientError) as info:
        yield info
    response = info.value.response
    error = response["Error"]
    assert error["Code"] == code, f"expected {code}, got {error['Code']}: {error.get('Message')}"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if message is not None:
        assert same_message(error["Message"], message), f"expected message {message!r}, got {error['Message']!r}"
    if match is not None:
        assert re.search(match, error["Message"]), f"{match!r} not found in {error['Message']!r}"


ENUM_SET = re.compile(r"(enum value set: \[)([^\]]*)(\])")


def same_message(actual: str, expected: str) -> bool:
    """Equal messages; the members of an "enum value set: [...]" may come in any order (AWS
    prints a hash set, whose order means nothing)."""

    def normalise(text: str) -> str:
        return ENUM_SET.sub(lambda m: m[1] + ", ".join(sorted(m[2].split(", "))) + m[3], text)

    return normalise(actual) == normalise(expected)


def validation_error(message: str | None = None, match: str | None = None):
    return aws_error("ValidationException", message, match)
