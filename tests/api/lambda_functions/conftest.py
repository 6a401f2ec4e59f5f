"""Fixtures of the Lambda and CloudWatch Logs tests: one shared `up` server and its clients, and
functions (and the mapping tests' Kinesis streams) deleted after each test."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.api.helpers import create_table, unique_name
from tests.api.lambda_functions.helpers import ROLE, clients, lambda_server_url, python_package
from tests.api.lambda_functions.mapping_helpers import RECORDING_HANDLER


@pytest.fixture(scope="session")
def lambda_url(broker, tmp_path_factory, request) -> str:
    return lambda_server_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="session")
def lam(lambda_url):
    return clients(lambda_url, "lambda")


@pytest.fixture(scope="session")
def lenient_lam(lambda_url):
    """A Lambda client that sends what it is given (botocore's checks off): the server's answer is tested."""
    return clients(lambda_url, "lambda", validate=False)


@pytest.fixture(scope="session")
def logs(lambda_url):
    return clients(lambda_url, "logs")


@pytest.fixture(scope="session")
def lambda_dynamodb(lambda_url):
    return clients(lambda_url, "dynamodb")


@pytest.fixture
def make_function(lam):
    """Create a python3.11 function `app.handler` from source; deleted after the test."""
    created = []

    def make(source: str, name: str | None = None, **extra) -> str:
        name = name or unique_name("fn")
        extra.setdefault("Runtime", "python3.11")
        extra.setdefault("Handler", "app.handler")
        code = extra.pop("Code", None) or {"ZipFile": python_package(source)}
        lam.create_function(FunctionName=name, Role=ROLE, Code=code, **extra)
        created.append(name)
        return name

    yield make
    for name in created:
        try:
            lam.delete_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            pass


# -- event source mappings ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def streams(lambda_url):
    return clients(lambda_url, "dynamodbstreams")


@pytest.fixture
def stream_table(lambda_dynamodb):
    """A table keyed (pk, sk) with a NEW_AND_OLD_IMAGES stream: (name, stream ARN)."""
    name = unique_name("esm")
    create_table(lambda_dynamodb, name, ("pk", "S"), ("sk", "N"),
                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = lambda_dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    yield name, arn
    lambda_dynamodb.delete_table(TableName=name)


@pytest.fixture
def recorder(make_function, tmp_path):
    """A function recording its events in a file: (name, path of the file)."""
    def make(**variables):
        out = tmp_path / f"{unique_name('out')}.jsonl"
        name = make_function(RECORDING_HANDLER, Environment={"Variables": {"OUT": str(out), **variables}}, Timeout=10)
        return name, out
    return make


@pytest.fixture
def mappings(lam):
    """create(**request) -> the mapping, deleted after the test."""
    made = []

    def create(**request):
        request.setdefault("StartingPosition", "LATEST")
        mapping = lam.create_event_source_mapping(**request)
        made.append(mapping["UUID"])
        return mapping

    yield create
    for uuid in made:
        try:
            lam.delete_event_source_mapping(UUID=uuid)
        except ClientError:
            pass


@pytest.fixture(scope="session")
def kinesis(lambda_url):
    return clients(lambda_url, "kinesis")


@pytest.fixture
def kinesis_stream(kinesis):
    """(name, ARN) of a new one-shard Kinesis stream, deleted after the test."""
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    yield name, kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.delete_stream(StreamName=name)
