"""Every list and map parameter of every operation we serve has its AWS limit: the botocore
models state them, and aws_json/protocol.py enforces each one with AWS's message."""

from __future__ import annotations

import random

import orjson
import pytest

import connector.app  # noqa: F401  (registers the Streams and Kinesis operations)
import table_api.app  # noqa: F401  (registers the DynamoDB operations)
from aws_json.protocol import validate
from bench.harness.request_fuzzer import RequestFuzzer, Values
from connector.operations.dynamodb_streams import SERVICE as STREAMS
from connector.operations.kinesis_service import SERVICE as KINESIS
from table_api.operations.service import SERVICE as DYNAMODB

SERVICES = [DYNAMODB, STREAMS, KINESIS]


def bounded_collections(service) -> list[tuple[str, str]]:
    """(operation, shape) of every list or map with a maximum reachable from a served operation."""
    shapes, found, seen = service.model["shapes"], [], set()

    def walk(operation: str, name: str) -> None:
        if name in seen or name == "AttributeValue":
            return
        seen.add(name)
        shape = shapes[name]
        if shape["type"] in ("list", "map") and "max" in shape:
            found.append((operation, name))
        children = {"structure": lambda: [m["shape"] for m in shape["members"].values()],
                    "list": lambda: [shape["member"]["shape"]],
                    "map": lambda: [shape["key"]["shape"], shape["value"]["shape"]]}.get(shape["type"], list)()
        for child in children:
            walk(operation, child)

    for operation in sorted(service.handlers):
        if "input" in service.model["operations"][operation]:
            walk(operation, service.model["operations"][operation]["input"]["shape"])
    return found


CASES = [(service, operation, shape) for service in SERVICES for operation, shape in bounded_collections(service)]


def test_the_models_bound_the_collections_aws_documents():
    names = {shape for _, _, shape in CASES}
    assert {"BatchWriteItemRequestMap", "WriteRequests", "BatchGetRequestMap", "KeyList", "PutRecordsRequestEntryList",
            "TagMap", "TagKeyList"} <= names


@pytest.mark.parametrize("service, operation, shape", CASES, ids=[f"{o}-{s}" for _, o, s in CASES])
def test_one_member_over_the_maximum_is_a_validation_error(service, operation, shape):
    shapes = service.model["shapes"]
    limit = shapes[shape]["max"]
    values = Values(RequestFuzzer(0), random.Random(shape), shapes, operation, all_members=False)
    if shapes[shape]["type"] == "list":
        too_many = [values.of(shapes[shape]["member"]["shape"], "", 3) for _ in range(limit + 1)]
    else:
        too_many = {f"k{i}": values.of(shapes[shape]["value"]["shape"], "", 3) for i in range(limit + 1)}
    problems = validate(shapes, shape, too_many, "param")
    assert f"Member must have length less than or equal to {limit}" in "; ".join(problems)


def test_a_batch_of_26_writes_is_refused_before_the_operation_runs():
    request = {"RequestItems": {"t": [{"DeleteRequest": {"Key": {"pk": {"S": str(i)}}}} for i in range(26)]}}
    with pytest.raises(DYNAMODB.errors.ValidationException, match="length less than or equal to 25"):
        DYNAMODB.request("BatchWriteItem", orjson.dumps(request))
