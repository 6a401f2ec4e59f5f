"""A throttled write emits no change event (`--enforce-capacity`): the events read from Kafka with a
real consumer are exactly those of the writes that were accepted, one each."""

from __future__ import annotations

import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from contracts.stream_catalog import topic_name
from tests.conftest import CREDENTIALS, REGION, ServerProcess
from tests.integration.fault_helpers import read_topic, wait_drained


def test_only_accepted_writes_reach_the_stream(broker, tmp_path):
    server = ServerProcess("table-api", tmp_path, "--enforce-capacity",
                           "--kafka-bootstrap-servers", broker.bootstrap_servers).start()
    try:
        ddb = boto3.client("dynamodb", endpoint_url=server.url, region_name=REGION, **CREDENTIALS,
                           config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        ddb.create_table(TableName="throttled", BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 1000, "WriteCapacityUnits": 5},
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        accepted, throttled, i = set(), 0, 0
        deadline = time.monotonic() + 60  # the bucket refills at 5/s: some writes pass, most are throttled
        while (len(accepted) < 3 or throttled < 3) and time.monotonic() < deadline:
            i += 1
            try:
                ddb.put_item(TableName="throttled", Item={"pk": {"S": f"k{i}"}, "v": {"N": "1"}})
                accepted.add(f"k{i}")
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
                throttled += 1
        assert len(accepted) >= 3 and throttled >= 3
        wait_drained(server.url, timeout_s=60)
        label = ddb.describe_table(TableName="throttled")["Table"]["LatestStreamLabel"]
        events = read_topic(broker.bootstrap_servers, topic_name("throttled", label))
        assert sorted(e.key for e in events) == sorted(accepted)
        assert all(e.name == "INSERT" for e in events)
    finally:
        server.stop()
