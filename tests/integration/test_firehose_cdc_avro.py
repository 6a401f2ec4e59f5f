"""CDC change events archived as Avro: the Confluent-framed events of a table's stream topic, handed
to a delivery stream converting to the registry subject `<topic>-value`, come out as an Avro
container file with the change events' fields, which fastavro (as Spark, DuckDB, pandas) reads."""

from __future__ import annotations

import time

import pytest

from contracts.stream_catalog import topic_name
from tests.api.firehose_helpers import avro_rows, client, create_active, firehose_server, objects
from tests.api.helpers import create_table, unique_name
from tests.api.kinesis_helpers import needs_own_server
from tests.integration.kafka_reading import read_to_end

pytestmark = needs_own_server()


@pytest.fixture(scope="module")
def server(broker, tmp_path_factory, request):
    return firehose_server(broker, tmp_path_factory, request)


def test_cdc_events_become_avro_rows_in_the_event_schema(server, broker):
    url, archive = server
    dynamodb = client(url, "dynamodb")
    table = unique_name("avro")
    create_table(dynamodb, table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    for i in range(5):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "same"}, "n": {"N": str(i)}})
    topic = topic_name(table, dynamodb.describe_table(TableName=table)["Table"]["LatestStreamLabel"])
    deadline, events = time.monotonic() + 30, []
    while len(events) < 5 and time.monotonic() < deadline:
        events = [m.value() for m in read_to_end(broker.bootstrap_servers, topic, [0, 1, 2, 3])]
    assert len(events) == 5

    firehose = client(url)
    name = create_active(firehose, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1},
                         DataFormatConversionConfiguration={"Enabled": True, "SchemaConfiguration": {
                             "DatabaseName": "cdc-bridge", "TableName": f"{topic}-value"}})
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": e} for e in events])
    deadline, rows = time.monotonic() + 60, []
    while len(rows) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = [row for path in objects(archive, name) for row in avro_rows(path)]
    assert [row["eventName"] for row in rows] == ["INSERT"] + ["MODIFY"] * 4  # one item: one shard, in order
    assert [row["tableName"] for row in rows] == [table] * 5
    assert all(path.suffix == ".avro" for path in objects(archive, name))
