"""Fixtures shared by the black-box API tests (tests/conftest.py provides the server and clients)."""

from __future__ import annotations

import os
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.api.firehose_helpers import client, firehose_server
from tests.api.helpers import unique_name
from tests.conftest import CREDENTIALS, REGION


@pytest.fixture(scope="session")
def lenient(endpoint_url):
    """A boto3 client that sends what it is given: botocore's own parameter checks are off, so the
    server's validation (short names, several types in one AttributeValue...) is what answers."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
        **CREDENTIALS,
    )


@pytest.fixture(scope="session")
def own_server() -> bool:
    """True when the fixture started cdc-bridge itself (not a peer such as moto or AWS)."""
    return not os.environ.get("CDC_BRIDGE_TEST_ENDPOINT")


@pytest.fixture(scope="module")
def module_table(dynamodb):
    """One table (pk S) shared by the tests of a module; each test writes under its own `key`."""
    name = unique_name("mod")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    yield name
    try:
        dynamodb.delete_table(TableName=name)
    except dynamodb.exceptions.ResourceNotFoundException:
        pass


@pytest.fixture
def tables(lenient):
    """Names appended here are deleted after the test (for tests that call CreateTable themselves,
    and for names the server should have refused, in case it did not)."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            lenient.delete_table(TableName=name)
        except ClientError:
            pass


@pytest.fixture
def key():
    """A key of its own for each test that writes into `module_table`."""
    return {"pk": {"S": f"k-{uuid.uuid4().hex}"}}


# -- Firehose (tests/api/test_firehose_*.py): one server per session, see firehose_helpers ---------------------------


@pytest.fixture(scope="module")
def firehose_url(broker, tmp_path_factory, request) -> str:
    return firehose_server(broker, tmp_path_factory, request)[0]


@pytest.fixture(scope="module")
def archive(broker, tmp_path_factory, request):
    """The folder the Firehose server delivers to (a bucket is a folder in it)."""
    return firehose_server(broker, tmp_path_factory, request)[1]


@pytest.fixture(scope="module")
def firehose(firehose_url):
    return client(firehose_url)
