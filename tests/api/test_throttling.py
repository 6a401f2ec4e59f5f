"""Throttling with `--enforce-capacity` (docs/design.md, "Capacity and throttling"): a table server
started with the option, boto3 clients with retries off (they see every
ProvisionedThroughputExceededException) and with the standard retry mode (it recovers).

Buckets start empty when their table is created, so a 5-unit table throttles a client loop at once.
No test asserts timing: only that throttling happens, that what was throttled was not written, and
that retries get every write through."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cdc_bridge.cli import build_parser
from tests.api.helpers import unique_name
from tests.conftest import CREDENTIALS, REGION, ServerProcess

ON_DEMAND_WRITE_LIMIT = 5
AMPLE = 1_000_000  # units per second: a bucket that has enough a millisecond after its table is made
THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture(scope="module")
def enforcing_url(tmp_path_factory):
    server = ServerProcess("table-api", tmp_path_factory.mktemp("enforcing"), "--enforce-capacity",
                           "--on-demand-write-limit", str(ON_DEMAND_WRITE_LIMIT))
    server.start()
    yield server.url
    server.stop()


def client(url: str, **retries):
    """Retries off unless asked for (legacy mode's `max_attempts` counts retries, so 1 would retry once)."""
    config = Config(retries=retries or {"mode": "standard", "total_max_attempts": 1}, connect_timeout=10,
                    read_timeout=60)
    return boto3.client("dynamodb", endpoint_url=url, region_name=REGION, config=config, **CREDENTIALS)


@pytest.fixture(scope="module")
def ddb(enforcing_url):
    return client(enforcing_url)


def make(ddb, read=AMPLE, write=AMPLE, mode="PROVISIONED", gsi_write=None, **extra) -> str:
    name = unique_name("cap")
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}]
    if mode == "PROVISIONED":
        extra["ProvisionedThroughput"] = {"ReadCapacityUnits": read, "WriteCapacityUnits": write}
    if gsi_write is not None:
        definitions.append({"AttributeName": "g", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [{
            "IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": AMPLE, "WriteCapacityUnits": gsi_write}}]
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=definitions, BillingMode=mode, **extra)
    return name


def put_loop(ddb, name: str, count: int, **attributes) -> tuple[list[str], list[ClientError]]:
    """Put `count` items as fast as one client can; the keys written and the errors seen."""
    written, errors = [], []
    for i in range(count):
        key = f"k{i}"
        try:
            ddb.put_item(TableName=name, Item={"pk": {"S": key}, **attributes})
            written.append(key)
        except ClientError as exc:
            errors.append(exc)
    return written, errors


def stored_keys(ddb, name: str) -> set[str]:
    items = ddb.scan(TableName=name, ConsistentRead=True)["Items"]
    return {item["pk"]["S"] for item in items}


def test_a_5_unit_table_throttles_a_client_loop_and_writes_nothing_it_refused(ddb):
    name = make(ddb, write=5)
    written, errors = put_loop(ddb, name, 30)
    assert errors, "30 writes in a burst on a new 5-unit table must be throttled"
    for exc in errors:
        assert exc.response["Error"]["Code"] == THROTTLED
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert exc.response["Error"]["Message"] == (
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.")
    assert stored_keys(ddb, name) == set(written)
    print(f"5-unit table, 30 puts without retries: {len(errors)} throttled ({len(errors) / 30:.0%})")


def test_the_error_names_the_throttled_table_and_why(enforcing_url, ddb):
    name = make(ddb, write=1)
    _, errors = put_loop(ddb, name, 10)
    body = errors[0].response
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    assert body.get("ThrottlingReasons", [{}])[0] == {"reason": "TableWriteProvisionedThroughputExceeded",
                                                      "resource": arn}


def test_standard_retries_get_every_write_of_the_loop_through(enforcing_url, ddb):
    name = make(ddb, write=5)
    retrying = client(enforcing_url, mode="standard", max_attempts=10)
    retries = 0
    for i in range(20):
        response = retrying.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}})
        retries += response["ResponseMetadata"]["RetryAttempts"]
    assert retries > 0, "the loop should have been throttled and retried"
    assert stored_keys(ddb, name) == {f"k{i}" for i in range(20)}
    print(f"5-unit table, 20 puts with standard retries: {retries} retries")


def test_failed_conditional_writes_still_spend_write_capacity(ddb):
    name = make(ddb, write=1)
    codes = []
    for i in range(10):
        try:
            ddb.put_item(TableName=name, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_exists(pk)")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert THROTTLED in codes, codes  # once the unit is spent, the next failed condition is throttled
    assert stored_keys(ddb, name) == set()


def test_strongly_consistent_reads_beyond_read_capacity_are_throttled(ddb):
    name = make(ddb, read=1)
    errors = []
    for _ in range(10):
        try:
            ddb.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)
        except ClientError as exc:
            errors.append(exc)
    assert errors and all(e.response["Error"]["Code"] == THROTTLED for e in errors)
    assert errors[0].response["ThrottlingReasons"][0]["reason"] == "TableReadProvisionedThroughputExceeded"


def test_an_under_provisioned_gsi_throttles_the_writes_that_reach_it(ddb):
    name = make(ddb, write=1000, gsi_write=1)
    _, outside = put_loop(ddb, name, 10)  # no "g": these items are not in the index
    assert outside == []
    written, errors = put_loop(ddb, name, 10, g={"S": "x"})
    assert errors
    reasons = errors[0].response["ThrottlingReasons"]
    assert reasons[0]["reason"] == "IndexWriteProvisionedThroughputExceeded"
    assert reasons[0]["resource"].endswith("/index/by-g")
    assert errors[0].response["Error"]["Message"].startswith(
        "The level of configured provisioned throughput for one or more global secondary indexes")
    in_index = ddb.scan(TableName=name, IndexName="by-g")["Items"]
    assert {item["pk"]["S"] for item in in_index} == set(written)


def test_an_on_demand_table_throttles_past_the_configured_ceiling(ddb):
    name = make(ddb, mode="PAY_PER_REQUEST")
    written, errors = put_loop(ddb, name, 10 * ON_DEMAND_WRITE_LIMIT)
    assert len(written) >= ON_DEMAND_WRITE_LIMIT  # one second of the ceiling is there at once
    assert errors, f"{10 * ON_DEMAND_WRITE_LIMIT} writes at once pass a ceiling of {ON_DEMAND_WRITE_LIMIT}/s"
    assert errors[0].response["ThrottlingReasons"][0]["reason"] == "TableWriteAccountLimitExceeded"
    assert stored_keys(ddb, name) == set(written)


def test_on_demand_throughput_maximum_throttles_the_table(ddb):
    name = make(ddb, mode="PAY_PER_REQUEST", OnDemandThroughput={"MaxWriteRequestUnits": 1})
    _, errors = put_loop(ddb, name, 20)
    assert errors
    assert errors[0].response["Error"]["Message"] == (
        "Throughput exceeds the maximum OnDemandThroughput configured on table or index")
    assert errors[0].response["ThrottlingReasons"][0]["reason"] == "TableWriteMaxOnDemandThroughputExceeded"


def test_batch_get_returns_a_throttled_tables_keys_unprocessed(ddb):
    ample, starved = make(ddb), make(ddb, read=1)
    keys = [{"pk": {"S": f"k{i}"}} for i in range(10)]
    answer = ddb.batch_get_item(RequestItems={ample: {"Keys": keys}, starved: {"Keys": keys, "ConsistentRead": True}})
    assert answer["Responses"].get(ample) == []
    assert answer["UnprocessedKeys"][starved]["Keys"] == keys
    assert answer["UnprocessedKeys"][starved]["ConsistentRead"] is True
    with pytest.raises(ClientError) as refused:
        ddb.batch_get_item(RequestItems={starved: {"Keys": keys, "ConsistentRead": True}})
    assert refused.value.response["Error"]["Code"] == THROTTLED


def test_a_throttled_batch_write_writes_nothing(ddb):
    name = make(ddb, write=5)
    requests = [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(25)]
    with pytest.raises(ClientError) as refused:
        ddb.batch_write_item(RequestItems={name: requests})
    assert refused.value.response["Error"]["Code"] == THROTTLED
    assert stored_keys(ddb, name) == set()


def test_batch_write_returns_a_throttled_tables_requests_unprocessed_and_writes_the_rest(ddb):
    ample, starved = make(ddb), make(ddb, write=1)
    requests = [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(10)]
    answer = ddb.batch_write_item(RequestItems={ample: requests, starved: requests})
    assert answer["UnprocessedItems"] == {starved: requests}
    assert stored_keys(ddb, ample) == {f"k{i}" for i in range(10)}
    assert stored_keys(ddb, starved) == set()


def test_throttling_is_off_by_default(dynamodb, make_table):
    table = make_table(BillingMode="PROVISIONED",
                       ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    written, errors = put_loop(dynamodb, table.name, 30)
    assert errors == [] and len(written) == 30


def test_up_and_table_api_take_the_option():
    for command in ("up", "table-api"):
        args = build_parser().parse_args([command, "--enforce-capacity", "--on-demand-read-limit", "7"])
        assert args.enforce_capacity and int(args.on_demand_read_limit) == 7
        assert not build_parser().parse_args([command]).enforce_capacity


def test_a_transaction_without_the_capacity_for_it_is_cancelled_whole(ddb):
    """Transactional writes cost twice: 10 puts of ~1 KB need 20 units, more than a new 5-unit table
    has; DynamoDB cancels the transaction, reason ProvisionedThroughputExceeded for the actions on
    that table and None for those on a table with the capacity. Nothing is written on either."""
    small, ample = make(ddb, write=5), make(ddb)
    actions = [{"Put": {"TableName": small, "Item": {"pk": {"S": f"k{i}"}, "pad": {"S": "x" * 900}}}} for i in range(9)]
    actions.append({"Put": {"TableName": ample, "Item": {"pk": {"S": "other"}}}})
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=actions)
    error = info.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    codes = [reason["Code"] for reason in error["CancellationReasons"]]
    assert codes == ["ProvisionedThroughputExceeded"] * 9 + ["None"]
    assert stored_keys(ddb, small) == set() and stored_keys(ddb, ample) == set()
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": ample, "Item": {"pk": {"S": "fine"}}}}])
    assert stored_keys(ddb, ample) == {"fine"}


def test_transact_get_items_beyond_the_read_capacity_is_cancelled(ddb):
    name = make(ddb, read=1)
    with pytest.raises(ClientError) as info:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": name, "Key": {"pk": {"S": f"k{i}"}}}}
                                              for i in range(5)])
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert {r["Code"] for r in info.value.response["CancellationReasons"]} == {"ProvisionedThroughputExceeded"}
