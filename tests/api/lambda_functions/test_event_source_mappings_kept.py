"""Event source mappings kept across a restart of `up` on the memory broker, whose topics (the
mappings' own among them) are gone after it: they come back from the data directory."""

from __future__ import annotations

from tests.api.lambda_functions.helpers import ROLE, clients, python_package
from tests.api.lambda_functions.mapping_helpers import RECORDING_HANDLER, records, wait_for
from tests.conftest import ServerProcess


def test_mappings_survive_a_restart_of_up_on_the_memory_broker(tmp_path):
    """The memory broker loses its topics when `up` stops: the mappings come back from the data directory."""
    server = ServerProcess("up", tmp_path / "data", "--broker", "memory").start()
    try:
        dynamodb, lam = clients(server.url, "dynamodb"), clients(server.url, "lambda")
        dynamodb.create_table(TableName="songs", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST",
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        stream_arn = dynamodb.describe_table(TableName="songs")["Table"]["LatestStreamArn"]
        out = tmp_path / "events.jsonl"
        lam.create_function(FunctionName="fn", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": python_package(RECORDING_HANDLER)},
                            Environment={"Variables": {"OUT": str(out)}})
        uuid = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=stream_arn,
                                               StartingPosition="LATEST")["UUID"]
        wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", 60)
        server.stop()
        server.start()
        lam, dynamodb = clients(server.url, "lambda"), clients(server.url, "dynamodb")
        assert [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]] == [uuid]
        wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", 60)
        dynamodb.put_item(TableName="songs", Item={"pk": {"S": "after"}})
        [record] = wait_for(lambda: records(out), 60)
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "after"}}
    finally:
        server.stop()
