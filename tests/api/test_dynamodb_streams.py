"""The DynamoDB Streams API (`DynamoDBStreams_20120810.*`) of `cdc-bridge up`, black box, over HTTP.

ListStreams (all or one table's, newest first, Limit, ExclusiveStartStreamArn), DescribeStream
(every field, shard ids in DynamoDB's shape, pagination, a disabled stream's ending sequence
numbers), GetShardIterator and GetRecords request checks (unknown resources are
ResourceNotFoundException, malformed input is ValidationException and never a 500), the record
wire format, the 1 MB response cap, one endpoint for the `dynamodb` and `dynamodbstreams` clients
via AWS_ENDPOINT_URL, and the study guide's AWS CLI commands.

This module starts its own `cdc-bridge up` on the session broker (not the session's `endpoint_url`
one), so that ListStreams without a table lists only this module's streams. Reading behaviour end to end (every view type, iterator
types, retention, iterator lifetime, several connector instances) is tests/integration/test_connector.py.
"""

from __future__ import annotations

import json
import time

import boto3
import orjson
import pytest

from tests.api.helpers import aws_error, validation_error
from tests.conftest import CREDENTIALS, REGION
from tests.integration.streams_helpers import (
    MAX_RESPONSE_BYTES,
    SEQUENCE_NUMBER,
    SHARD_ID,
    STREAM_LABEL,
    assert_error,
    aws_cli_runner,
    call,
    create_stream_table,
    describe_stream,
    drain,
    dynamodb_client,
    iterator,
    listed_with,
    read_stream,
    server_log,
    set_stream,
    shard_ids,
    start_up,
    streams_client,
    unique_name,
    wait_status,
)

pytestmark = pytest.mark.timeout(120)

SHARDS = 4  # `up`'s default --stream-shards
DESCRIPTION_FIELDS = {"StreamArn", "StreamLabel", "StreamStatus", "StreamViewType", "CreationRequestDateTime",
                      "TableName", "KeySchema", "Shards"}
RECORD_FIELDS = {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"}


@pytest.fixture(scope="module")
def server(broker, tmp_path_factory):
    process = start_up(broker, tmp_path_factory.mktemp("streams-api"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def url(server):
    return server.url


@pytest.fixture(scope="module")
def ddb(url):
    return dynamodb_client(url)


@pytest.fixture(scope="module")
def streams(url):
    return streams_client(url)


@pytest.fixture(scope="module")
def loose(url):
    """A streams client that sends what it is given (botocore's own parameter checks off)."""
    return streams_client(url, parameter_validation=False)


@pytest.fixture(scope="module")
def written(ddb, streams):
    """A table (pk S, sk N) with a NEW_AND_OLD_IMAGES stream and 12 INSERTs over 6 partition keys
    (so that several shards hold records); returns (table, arn, records by shard id)."""
    started = time.time()
    table, arn = create_stream_table(ddb, range_key=True)
    for i in range(12):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"p{i % 6}"}, "sk": {"N": str(i)}, "n": {"N": str(i)}})
    by_shard = read_stream(streams, arn, 12)
    assert sum(map(len, by_shard.values())) == 12
    return {"table": table, "arn": arn, "by_shard": by_shard, "started": started, "ended": time.time()}


# -- ListStreams ----------------------------------------------------------------------------------


def test_list_streams_of_a_table(ddb, streams, written):
    table = ddb.describe_table(TableName=written["table"])["Table"]
    listed = streams.list_streams(TableName=written["table"])
    assert listed["Streams"] == [{"StreamArn": table["LatestStreamArn"], "TableName": written["table"],
                                  "StreamLabel": table["LatestStreamLabel"]}]
    assert "LastEvaluatedStreamArn" not in listed
    assert STREAM_LABEL.match(table["LatestStreamLabel"])
    assert table["LatestStreamArn"] == f"{table['TableArn']}/stream/{table['LatestStreamLabel']}"


def test_list_streams_of_a_table_without_streams(ddb, streams):
    name = unique_name("nostream")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    assert streams.list_streams(TableName=name)["Streams"] == []


def test_list_streams_newest_first_with_pagination(ddb, streams):
    """Three streams of one table (enable, disable, enable...): all listed, newest first, also
    when read one page at a time."""
    table, first = create_stream_table(ddb, "KEYS_ONLY")
    created = [first]
    for view_type in ("NEW_IMAGE", "OLD_IMAGE"):
        set_stream(ddb, table, None)
        created.append(set_stream(ddb, table, view_type)["LatestStreamArn"])
    for arn in created:
        describe_stream(streams, arn)  # each is in the connector's catalog
    newest_first = created[::-1]

    listed = streams.list_streams(TableName=table)
    assert [s["StreamArn"] for s in listed["Streams"]] == newest_first
    assert "LastEvaluatedStreamArn" not in listed
    labels = [s["StreamLabel"] for s in listed["Streams"]]
    assert labels == sorted(labels, reverse=True) and len(set(labels)) == 3
    assert all(s["TableName"] == table for s in listed["Streams"])

    for limit in (1, 2):
        pages, start = [], None
        while True:
            page = streams.list_streams(TableName=table, Limit=limit,
                                        **({"ExclusiveStartStreamArn": start} if start else {}))
            pages.append([s["StreamArn"] for s in page["Streams"]])
            start = page.get("LastEvaluatedStreamArn")
            if start is None:
                break
            assert start == page["Streams"][-1]["StreamArn"]
            assert len(pages) < 10
        assert [arn for page in pages for arn in page] == newest_first, f"Limit={limit}: {pages}"
        assert all(len(page) <= limit for page in pages)
        assert all(pages), f"Limit={limit}: an empty page {pages}"

    exact = streams.list_streams(TableName=table, Limit=3)
    assert [s["StreamArn"] for s in exact["Streams"]] == newest_first
    if "LastEvaluatedStreamArn" in exact:  # allowed on a full page, but then nothing follows
        rest = streams.list_streams(TableName=table, Limit=3, ExclusiveStartStreamArn=exact["LastEvaluatedStreamArn"])
        assert rest["Streams"] == [] and "LastEvaluatedStreamArn" not in rest


def test_list_all_streams_newest_first(ddb, streams):
    _, older = create_stream_table(ddb)
    _, newer = create_stream_table(ddb)
    describe_stream(streams, older)
    describe_stream(streams, newer)
    everything = streams.list_streams()
    arns = [s["StreamArn"] for s in everything["Streams"]]
    assert older in arns and newer in arns
    assert arns.index(newer) < arns.index(older)
    labels = [s["StreamLabel"] for s in everything["Streams"]]
    assert labels == sorted(labels, reverse=True), "ListStreams is not newest first"
    if "LastEvaluatedStreamArn" not in everything:  # fewer than 100: page through them two by two
        paged, start = [], None
        while True:
            page = streams.list_streams(Limit=2, **({"ExclusiveStartStreamArn": start} if start else {}))
            paged += [s["StreamArn"] for s in page["Streams"]]
            start = page.get("LastEvaluatedStreamArn")
            if start is None:
                break
        assert paged[:arns.index(older) + 1] == arns[:arns.index(older) + 1]


@pytest.mark.parametrize("limit", [0, -1, 101, 1000])
def test_list_streams_limit_out_of_range(loose, limit):
    with validation_error():
        loose.list_streams(Limit=limit)


def test_list_streams_limit_bounds_accepted(streams):
    streams.list_streams(Limit=1)
    streams.list_streams(Limit=100)


# -- DescribeStream --------------------------------------------------------------------------------


def test_describe_stream(ddb, url, written):
    table = ddb.describe_table(TableName=written["table"])["Table"]
    response = call(url, "DescribeStream", {"StreamArn": written["arn"]})
    assert response.status_code == 200, response.text
    description = response.json()["StreamDescription"]
    assert DESCRIPTION_FIELDS <= set(description), sorted(description)
    assert description["StreamArn"] == written["arn"] == table["LatestStreamArn"]
    assert description["StreamLabel"] == table["LatestStreamLabel"]
    assert description["StreamStatus"] == "ENABLED"
    assert description["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert description["TableName"] == written["table"]
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                        {"AttributeName": "sk", "KeyType": "RANGE"}]
    created = description["CreationRequestDateTime"]
    assert isinstance(created, (int, float)), created  # epoch seconds on the wire
    assert written["started"] - 2 <= created <= written["ended"] + 2
    assert "LastEvaluatedShardId" not in description

    shards = description["Shards"]
    assert len(shards) == SHARDS
    ids = [s["ShardId"] for s in shards]
    assert len(set(ids)) == SHARDS
    for shard in shards:
        assert SHARD_ID.match(shard["ShardId"]), shard["ShardId"]
        numbers = shard["SequenceNumberRange"]
        assert SEQUENCE_NUMBER.match(numbers["StartingSequenceNumber"]), numbers
        assert "EndingSequenceNumber" not in numbers, "an enabled stream's shard is open"
        assert "ParentShardId" not in shard
        records = written["by_shard"][shard["ShardId"]]
        if records:  # the first record still inside the retention window
            assert numbers["StartingSequenceNumber"] == records[0]["dynamodb"]["SequenceNumber"]


def test_describe_stream_with_boto3(streams, written):
    description = streams.describe_stream(StreamArn=written["arn"])["StreamDescription"]
    assert description["StreamArn"] == written["arn"]
    assert len(description["Shards"]) == SHARDS


@pytest.mark.parametrize("limit", [1, 3])
def test_describe_stream_pagination(streams, written, limit):
    everything = [s["ShardId"] for s in streams.describe_stream(StreamArn=written["arn"])["StreamDescription"]["Shards"]]
    pages, start = [], None
    while True:
        description = streams.describe_stream(StreamArn=written["arn"], Limit=limit,
                                              **({"ExclusiveStartShardId": start} if start else {}))["StreamDescription"]
        pages.append([s["ShardId"] for s in description["Shards"]])
        start = description.get("LastEvaluatedShardId")
        if start is None:
            break
        assert start == pages[-1][-1]
        assert len(pages) <= SHARDS
    assert [shard for page in pages for shard in page] == everything
    assert all(0 < len(page) <= limit for page in pages), pages


def test_describe_stream_limit_covering_every_shard(streams, written):
    description = streams.describe_stream(StreamArn=written["arn"], Limit=100)["StreamDescription"]
    assert len(description["Shards"]) == SHARDS and "LastEvaluatedShardId" not in description


@pytest.mark.parametrize("limit", [0, -5])
def test_describe_stream_limit_below_one(loose, written, limit):
    with validation_error():
        loose.describe_stream(StreamArn=written["arn"], Limit=limit)


@pytest.mark.parametrize("limit", [101, 1000])
def test_describe_stream_limit_above_100(loose, written, limit):
    """DescribeStream's Limit has the upper limit 100, like ListStreams'."""
    with validation_error():
        loose.describe_stream(StreamArn=written["arn"], Limit=limit)


def test_disabled_stream_is_described_with_ending_sequence_numbers(ddb, streams):
    table, arn = create_stream_table(ddb, "NEW_IMAGE")
    for i in range(8):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
    by_shard = read_stream(streams, arn, 8)
    set_stream(ddb, table, None)

    description = wait_status(streams, arn, "DISABLED")
    assert description["StreamStatus"] == "DISABLED"
    assert arn in [s["StreamArn"] for s in listed_with(streams, arn, TableName=table)]
    for shard in description["Shards"]:
        numbers = shard["SequenceNumberRange"]
        assert "EndingSequenceNumber" in numbers, shard
        assert SEQUENCE_NUMBER.match(numbers["EndingSequenceNumber"])
        records = by_shard[shard["ShardId"]]
        if records:
            assert numbers["StartingSequenceNumber"] == records[0]["dynamodb"]["SequenceNumber"]
            assert numbers["EndingSequenceNumber"] == records[-1]["dynamodb"]["SequenceNumber"]
        # a closed shard is read to its end: the last page has no NextShardIterator
        read, following, _ = drain(streams, iterator(streams, arn, shard["ShardId"]))
        assert following is None
        assert [r["dynamodb"]["SequenceNumber"] for r in read] == [r["dynamodb"]["SequenceNumber"] for r in records]


# -- unknown resources --------------------------------------------------------------------------------


def test_unknown_stream_is_resource_not_found(streams, written):
    table_arn = written["arn"].rsplit("/stream/", 1)[0]
    unknown = f"{table_arn}/stream/2000-01-01T00:00:00.000"
    with aws_error("ResourceNotFoundException"):
        streams.describe_stream(StreamArn=unknown)
    with aws_error("ResourceNotFoundException"):
        streams.get_shard_iterator(StreamArn=unknown, ShardId=shard_ids(streams, written["arn"])[0],
                                   ShardIteratorType="TRIM_HORIZON")
    missing_table = written["arn"].replace(f"table/{written['table']}/", "table/no-such-table/")
    with aws_error("ResourceNotFoundException"):
        streams.describe_stream(StreamArn=missing_table)


def unknown_shards(first: str) -> tuple[str, ...]:
    """Well-formed shard ids a stream whose first shard is `first` does not have."""
    stamp = first.split("-")[1]
    return (
        f"shardId-{stamp}-{SHARDS:08x}",           # one partition past the last
        f"shardId-{stamp}-ffffffff",
        f"shardId-{int(stamp) + 1:020d}-00000000",  # another stream's creation time
        "shardId-00000000000000000000-00000000",
    )


# DynamoDB Streams' message for a shard id the stream does not have, as AWS answers it (quoted from
# real responses in ironSource/node-dynamodb-stream#16 and opensearch-project/data-prepper#4401).
SHARD_NOT_FOUND = "Requested resource not found: Shard does not exist"


def test_unknown_shard_is_resource_not_found(streams, written):
    for unknown in unknown_shards(shard_ids(streams, written["arn"])[0]):
        for kind in ("LATEST", "TRIM_HORIZON"):
            with aws_error("ResourceNotFoundException", message=SHARD_NOT_FOUND):
                streams.get_shard_iterator(StreamArn=written["arn"], ShardId=unknown, ShardIteratorType=kind)


# -- sequence numbers and positions --------------------------------------------------------------------


def test_sequence_numbers_are_unique_across_the_shards_of_a_stream(written):
    """Every shard's offsets start at 0; the sequence numbers of a stream still never repeat, and
    each shard's increase (as strings and as numbers)."""
    numbers = [r["dynamodb"]["SequenceNumber"] for records in written["by_shard"].values() for r in records]
    assert len(numbers) == 12 and len(set(numbers)) == 12, numbers
    assert sum(1 for records in written["by_shard"].values() if records) >= 2, "the test needs several shards"
    for records in written["by_shard"].values():
        own = [r["dynamodb"]["SequenceNumber"] for r in records]
        assert own == sorted(own) and [int(n) for n in own] == sorted(int(n) for n in own)
        assert all(SEQUENCE_NUMBER.match(n) for n in own)


def written_shards(written) -> list[tuple[str, list[dict]]]:
    """The shards of `written` that hold records, in shard order."""
    return sorted((shard, records) for shard, records in written["by_shard"].items() if records)


def test_sequence_number_of_another_shard_is_a_validation_exception(streams, written):
    """A sequence number names its shard: used with another shard id it is DynamoDB Streams'
    ValidationException (DynamoDB Local's wording), never a position in the wrong shard."""
    (shard_a, records_a), (shard_b, _) = written_shards(written)[:2]
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        with aws_error("ValidationException", message="Invalid SequenceNumber for the shard"):
            iterator(streams, written["arn"], shard_b, kind, records_a[0]["dynamodb"]["SequenceNumber"])
    # and on its own shard it works
    assert iterator(streams, written["arn"], shard_a, "AT_SEQUENCE_NUMBER", records_a[0]["dynamodb"]["SequenceNumber"])


def shifted(sequence: str, epochs: int = 0, offsets: int = 0) -> str:
    """A sequence number of the same shard in another epoch or at another offset."""
    from connector.ids import parse_sequence_number, sequence_number

    epoch, partition, offset = parse_sequence_number(sequence)
    return sequence_number(epoch + epochs, partition, offset + offsets)


def test_sequence_number_of_a_later_epoch_or_past_the_end_is_a_validation_exception(streams, written):
    """Numbers the shard has not given out: one of an epoch after the stream's current one (the
    epoch is raised only when the broker lost the stream's topic), one past the shard's last record."""
    shard, records = written_shards(written)[0]
    last = records[-1]["dynamodb"]["SequenceNumber"]
    for number in (shifted(last, epochs=1), shifted(records[0]["dynamodb"]["SequenceNumber"], epochs=1),
                   shifted(last, offsets=1000)):
        for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            with aws_error("ValidationException", message="Invalid SequenceNumber for the shard"):
                iterator(streams, written["arn"], shard, kind, number)


def test_sequence_numbers_of_the_format_before_epochs_are_a_validation_exception(streams, written):
    """`10**20 + offset` (21 digits) named no shard; such a number is refused, not misread."""
    shard, _ = written_shards(written)[0]
    with aws_error("ValidationException", match="Invalid SequenceNumber"):
        iterator(streams, written["arn"], shard, "AT_SEQUENCE_NUMBER", str(10**20))


def test_after_the_last_sequence_number_waits_for_the_next_record(ddb, streams):
    """AFTER_SEQUENCE_NUMBER of a shard's last record: an iterator at the end, which returns the
    record written next, and nothing older."""
    table, arn = create_stream_table(ddb, "KEYS_ONLY")
    ddb.put_item(TableName=table, Item={"pk": {"S": "same"}, "v": {"N": "1"}})
    by_shard = read_stream(streams, arn, 1)
    shard, [first] = next((s, r) for s, r in by_shard.items() if r)
    position = iterator(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", first["dynamodb"]["SequenceNumber"])
    ddb.put_item(TableName=table, Item={"pk": {"S": "same"}, "v": {"N": "2"}})
    read, _, _ = drain(streams, position, want=1)
    assert len(read) == 1 and read[0]["dynamodb"]["SequenceNumber"] > first["dynamodb"]["SequenceNumber"]


def test_starting_sequence_number_of_an_empty_shard_gives_iterators_that_see_its_first_record(ddb, streams):
    """DescribeStream reports a StartingSequenceNumber for every shard, also one without records
    yet; AT_ and AFTER_SEQUENCE_NUMBER with it are accepted, and both iterators return the first
    record written to the shard afterwards (AFTER must not skip it: the number named no record)."""
    table, arn = create_stream_table(ddb, "NEW_IMAGE")
    shards = describe_stream(streams, arn)["Shards"]
    assert len(shards) == SHARDS
    positions = {}
    for shard in shards:
        starting = shard["SequenceNumberRange"]["StartingSequenceNumber"]
        for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            positions[shard["ShardId"], kind] = iterator(streams, arn, shard["ShardId"], kind, starting)
    item = {"pk": {"S": "first"}, "v": {"S": "hello"}}
    ddb.put_item(TableName=table, Item=item)
    shard = next(s for s, records in read_stream(streams, arn, 1).items() if records)
    starting = next(s["SequenceNumberRange"]["StartingSequenceNumber"] for s in shards if s["ShardId"] == shard)
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        read, _, _ = drain(streams, positions[shard, kind], want=1)
        assert [r["dynamodb"]["NewImage"] for r in read] == [item], kind
        assert read[0]["dynamodb"]["SequenceNumber"] == starting  # the number the shard started with
    for (other, kind), position in positions.items():
        if other != shard:
            assert streams.get_records(ShardIterator=position)["Records"] == [], (other, kind)


def test_at_timestamp_starts_at_the_first_record_created_at_or_after_it(ddb, streams):
    """AT_TIMESTAMP (botocore's current model): the first record whose creation time is at or
    after the timestamp; a timestamp before the trim horizon starts at the trim horizon; a
    future one, or none, is ValidationException."""
    table, arn = create_stream_table(ddb, "KEYS_ONLY")
    ddb.put_item(TableName=table, Item={"pk": {"S": "same"}, "v": {"N": "1"}})
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    ddb.put_item(TableName=table, Item={"pk": {"S": "same"}, "v": {"N": "2"}})
    shard = next(s for s, records in read_stream(streams, arn, 2).items() if records)
    everything, _, _ = drain(streams, iterator(streams, arn, shard), want=2)

    def first_from(moment) -> list[dict]:
        position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_TIMESTAMP",
                                              Timestamp=moment)["ShardIterator"]
        return drain(streams, position, want=2, timeout_s=1)[0]

    assert first_from(middle) == everything[1:]
    assert first_from(middle - 3 * 86400) == everything  # older than the 24 h retention
    assert first_from(time.time()) == []  # nothing created since
    for bad in ({"Timestamp": time.time() + 3600}, {}):
        with pytest.raises(streams.exceptions.ClientError, match="ValidationException"):
            streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_TIMESTAMP", **bad)


# -- DescribeStream: ShardFilter and ExclusiveStartShardId ------------------------------------------------


def test_child_shards_of_any_shard_are_none(streams, written):
    """ShardFilter CHILD_SHARDS (botocore's current model): our shards never split (a shard is a
    Kafka partition), so every shard of the stream has no children: an empty Shards list."""
    for shard in shard_ids(streams, written["arn"]):
        description = streams.describe_stream(StreamArn=written["arn"],
                                              ShardFilter={"Type": "CHILD_SHARDS", "ShardId": shard})["StreamDescription"]
        assert description["Shards"] == [] and "LastEvaluatedShardId" not in description
        assert description["StreamArn"] == written["arn"] and description["StreamStatus"] == "ENABLED"


def test_child_shards_of_a_shard_the_stream_does_not_have_is_resource_not_found(streams, written):
    """Decided here: a filter naming a shard the stream does not have is answered as
    GetShardIterator answers that shard id (ResourceNotFoundException), not with an empty list
    that would look like a shard without children."""
    for unknown in unknown_shards(shard_ids(streams, written["arn"])[0]):
        with aws_error("ResourceNotFoundException", message=SHARD_NOT_FOUND):
            streams.describe_stream(StreamArn=written["arn"], ShardFilter={"Type": "CHILD_SHARDS", "ShardId": unknown})


@pytest.mark.parametrize("shard_filter", [
    {"Type": "CHILD_SHARDS"},                                          # no ShardId
    {"ShardId": "shardId-00000000000000000000-00000000"},                # no Type
    {"Type": "CHILD_SHARDS", "ShardId": "not-a-shard-id-but-long-enough"},
    {"Type": "PARENT_SHARDS", "ShardId": "shardId-00000000000000000000-00000000"},
    {"Type": "CHILD_SHARDS", "ShardId": "shardId-1"},                    # shorter than 28
])
def test_malformed_shard_filter_is_a_validation_exception(server, url, written, shard_filter):
    assert_error(call(url, "DescribeStream", {"StreamArn": written["arn"], "ShardFilter": shard_filter}),
                 "ValidationException", server)


def test_exclusive_start_shard_id_naming_no_shard_gives_the_shards_after_it(streams, written):
    """ExclusiveStartShardId need not be a shard of the stream: as DynamoDB Local (AWS's own
    emulator) answers, it is not an error, and as Kinesis documents for ExclusiveStartShardId,
    the answer is the shards whose ids sort after it. So a paging client that saved a shard id
    which has since expired continues with the shards after it instead of failing."""
    everything = shard_ids(streams, written["arn"])
    assert everything == sorted(everything)
    before_all, *_, after_all = sorted(unknown_shards(everything[0]))
    assert before_all < everything[0] and after_all > everything[-1]
    described = streams.describe_stream(StreamArn=written["arn"], ExclusiveStartShardId=before_all)["StreamDescription"]
    assert [s["ShardId"] for s in described["Shards"]] == everything
    paged = streams.describe_stream(StreamArn=written["arn"], ExclusiveStartShardId=before_all, Limit=2)["StreamDescription"]
    assert [s["ShardId"] for s in paged["Shards"]] == everything[:2]
    assert paged["LastEvaluatedShardId"] == everything[1]
    described = streams.describe_stream(StreamArn=written["arn"], ExclusiveStartShardId=after_all)["StreamDescription"]
    assert described["Shards"] == [] and "LastEvaluatedShardId" not in described
    described = streams.describe_stream(StreamArn=written["arn"], ExclusiveStartShardId=everything[-1])["StreamDescription"]
    assert described["Shards"] == []


# -- malformed input: ValidationException, never a 500 -----------------------------------------------


def malformed_cases():
    arn = "ARN"  # replaced by the stream's ARN
    shard = "SHARD"  # replaced by one of its shard ids
    return {
        "describe-arn-too-short": ("DescribeStream", {"StreamArn": "arn:aws:dynamodb"}),
        "describe-arn-not-an-arn": ("DescribeStream", {"StreamArn": "x" * 40}),
        "describe-arn-not-a-stream-arn": ("DescribeStream", {"StreamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/abc"}),
        "describe-limit-0": ("DescribeStream", {"StreamArn": arn, "Limit": 0}),
        "describe-start-shard-too-short": ("DescribeStream", {"StreamArn": arn, "ExclusiveStartShardId": "shardId-1"}),
        "describe-start-shard-not-a-shard-id": ("DescribeStream", {"StreamArn": arn, "ExclusiveStartShardId": "not-a-shard-id-but-long-enough"}),
        "iterator-type-unknown": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "OLDEST"}),
        "iterator-shard-too-short": ("GetShardIterator", {"StreamArn": arn, "ShardId": "shardId-1", "ShardIteratorType": "LATEST"}),
        "iterator-shard-not-a-shard-id": ("GetShardIterator", {"StreamArn": arn, "ShardId": "not-a-shard-id-but-long-enough", "ShardIteratorType": "LATEST"}),
        "iterator-arn-not-an-arn": ("GetShardIterator", {"StreamArn": "x" * 40, "ShardId": shard, "ShardIteratorType": "LATEST"}),
        "iterator-at-without-sequence": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER"}),
        "iterator-after-without-sequence": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER"}),
        "iterator-sequence-20-digits": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "1" * 20}),
        "iterator-sequence-41-digits": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "1" * 41}),
        "iterator-sequence-letters": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "a" * 25}),
        "iterator-sequence-negative": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "-" + "1" * 24}),
        "iterator-sequence-non-ascii-digits": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "١" * 21}),
        "iterator-sequence-beyond-last": ("GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "9" * 40}),
        "records-iterator-empty": ("GetRecords", {"ShardIterator": ""}),
        "records-iterator-garbage": ("GetRecords", {"ShardIterator": "garbage"}),
        "records-iterator-dots": ("GetRecords", {"ShardIterator": "a.b.c"}),
        "records-iterator-unicode": ("GetRecords", {"ShardIterator": "é.é"}),
        "records-iterator-too-long": ("GetRecords", {"ShardIterator": "A" * 2049}),
        "records-iterator-missing": ("GetRecords", {}),
        "records-limit-0": ("GetRecords", {"ShardIterator": "ITERATOR", "Limit": 0}),
        "records-limit-1001": ("GetRecords", {"ShardIterator": "ITERATOR", "Limit": 1001}),
        "list-limit-0": ("ListStreams", {"Limit": 0}),
        "list-limit-101": ("ListStreams", {"Limit": 101}),
        "list-table-name-pattern": ("ListStreams", {"TableName": "not a table name"}),
        "list-table-name-too-short": ("ListStreams", {"TableName": "ab"}),
        "list-start-arn-too-short": ("ListStreams", {"ExclusiveStartStreamArn": "arn"}),
        "list-start-arn-not-an-arn": ("ListStreams", {"ExclusiveStartStreamArn": "x" * 40}),
    }


MALFORMED = malformed_cases()


@pytest.fixture(scope="module")
def targets(streams, written) -> dict:
    """What the malformed requests refer to: the stream, one of its shards, a live iterator."""
    shard = shard_ids(streams, written["arn"])[0]
    return {"ARN": written["arn"], "SHARD": shard, "ITERATOR": iterator(streams, written["arn"], shard)}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_input_is_a_validation_exception(server, url, targets, case):
    operation, body = MALFORMED[case]
    body = {k: targets.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    assert_error(call(url, operation, body), "ValidationException", server)


@pytest.mark.parametrize("operation, body", [
    ("ListStreams", b"not json"),
    ("ListStreams", b"[]"),
    ("ListStreams", {"Limit": "10"}),
    ("ListStreams", {"TableName": 5}),
    ("DescribeStream", {"StreamArn": ["x" * 40]}),
    ("GetShardIterator", {"StreamArn": {"a": 1}, "ShardId": 1, "ShardIteratorType": None}),
    ("GetRecords", {"ShardIterator": 12345}),
    ("GetRecords", {"ShardIterator": "x", "Limit": 1.5}),
    ("GetRecords", {"ShardIterator": "x", "Limit": 10**30}),
])
def test_wrong_json_types_are_client_errors(server, url, operation, body):
    """A body of the wrong JSON types is AWS's SerializationException (or ValidationException),
    a 400 either way."""
    content = body if isinstance(body, bytes) else json.dumps(body)
    response = call(url, operation, content)
    assert response.status_code == 400, f"{response.status_code} {response.text}\n{server_log(server)}"
    assert response.json()["__type"].rpartition("#")[2] in ("SerializationException", "ValidationException")


def test_unknown_streams_operation(url):
    response = call(url, "PutRecords", {})
    assert response.status_code == 400
    assert response.json()["__type"].endswith("UnknownOperationException")


# -- GetRecords on the wire ---------------------------------------------------------------------------


def get_records_raw(url, shard_iterator: str, **extra) -> tuple[dict, int]:
    response = call(url, "GetRecords", {"ShardIterator": shard_iterator, **extra})
    assert response.status_code == 200, response.text
    return response.json(), len(response.content)


def first_records_raw(url, shard_iterator: str, timeout_s: float = 5.0) -> dict:
    """The first non-empty GetRecords response from `shard_iterator` on (a GetRecords may come
    back empty while a reader warms up; clients follow NextShardIterator)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body, _ = get_records_raw(url, shard_iterator)
        if body["Records"] or time.monotonic() > deadline:
            return body
        shard_iterator = body["NextShardIterator"]


def test_records_on_the_wire(url, streams, written):
    """The records exactly as DynamoDB Streams shows them, as JSON."""
    shard = next(s for s, records in written["by_shard"].items() if records)
    body = first_records_raw(url, iterator(streams, written["arn"], shard))
    assert set(body) == {"Records", "NextShardIterator"}
    assert body["Records"]
    previous = None
    for record in body["Records"]:
        assert set(record) == RECORD_FIELDS, sorted(record)  # no userIdentity for a user's own write
        assert record["eventName"] == "INSERT"
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == REGION
        assert isinstance(record["eventID"], str) and record["eventID"]
        data = record["dynamodb"]
        assert set(data) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                             "StreamViewType"}, sorted(data)
        assert isinstance(data["ApproximateCreationDateTime"], (int, float))
        assert written["started"] - 2 <= data["ApproximateCreationDateTime"] <= written["ended"] + 2
        assert set(data["Keys"]) == {"pk", "sk"}
        assert data["NewImage"] == {**data["Keys"], "n": data["Keys"]["sk"]}
        assert SEQUENCE_NUMBER.match(data["SequenceNumber"])
        assert isinstance(data["SizeBytes"], int) and data["SizeBytes"] >= 1
        assert data["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        if previous is not None:
            assert previous < data["SequenceNumber"]
        previous = data["SequenceNumber"]


def test_approximate_creation_date_time_is_whole_seconds(url, streams, written):
    """DynamoDB Streams: ApproximateCreationDateTime is epoch seconds "rounded down to the
    closest second" (the StreamRecord reference)."""
    shard = next(s for s, records in written["by_shard"].items() if records)
    body = first_records_raw(url, iterator(streams, written["arn"], shard))
    values = [r["dynamodb"]["ApproximateCreationDateTime"] for r in body["Records"]]
    assert all(float(v).is_integer() for v in values), values


def test_get_records_limit(streams, written):
    shard = max(written["by_shard"], key=lambda s: len(written["by_shard"][s]))
    expected = written["by_shard"][shard]
    assert len(expected) >= 2
    read, _, pages = drain(streams, iterator(streams, written["arn"], shard), want=len(expected), limit=1)
    assert read == expected
    assert all(len(p["Records"]) <= 1 for p in pages)
    read, _, pages = drain(streams, iterator(streams, written["arn"], shard), want=len(expected), limit=1000)
    assert read == expected


@pytest.mark.parametrize("limit", [0, 1001])
def test_get_records_limit_out_of_range(loose, streams, written, limit):
    shard = shard_ids(streams, written["arn"])[0]
    with validation_error():
        loose.get_records(ShardIterator=iterator(streams, written["arn"], shard), Limit=limit)


BIG = 300 * 1024  # four records of 300 KB: more than a 1 MB response


def test_get_records_response_is_capped_at_1_mb(ddb, url, streams):
    table, arn = create_stream_table(ddb, "NEW_IMAGE", range_key=True)
    for i in range(5):  # one partition key: one shard
        ddb.put_item(TableName=table, Item={"pk": {"S": "big"}, "sk": {"N": str(i)}, "blob": {"S": chr(97 + i) * BIG}})
    shard = next(s for s, records in read_stream(streams, arn, 5).items() if records)
    position, sizes, seen = iterator(streams, arn, shard), [], []
    deadline = time.monotonic() + 10
    while len(seen) < 5 and time.monotonic() < deadline:
        body, size = get_records_raw(url, position)
        assert size <= MAX_RESPONSE_BYTES, f"a GetRecords response of {size} bytes"
        sizes.append((len(body["Records"]), size))
        seen += [r["dynamodb"]["Keys"]["sk"]["N"] for r in body["Records"]]
        position = body["NextShardIterator"]
    assert seen == ["0", "1", "2", "3", "4"], f"pages (records, bytes): {sizes}"


def test_get_records_response_cap_counts_the_whole_response(ddb, url, streams):
    """Records whose own JSON adds up to just under 1 MB: the response around them (the
    `{"Records":[...]}` envelope, the commas, NextShardIterator) must still fit in 1 MB."""
    table, arn = create_stream_table(ddb, "NEW_IMAGE", range_key=True)
    filler = 340 * 1024
    for i in range(2):
        ddb.put_item(TableName=table, Item={"pk": {"S": "edge"}, "sk": {"N": str(i)}, "blob": {"S": "x" * filler}})
    shard = next(s for s, records in read_stream(streams, arn, 2).items() if records)
    body = first_records_raw(url, iterator(streams, arn, shard))
    while len(body["Records"]) < 2:
        body = first_records_raw(url, iterator(streams, arn, shard))
    record_sizes = [len(orjson.dumps(r)) for r in body["Records"]]
    # a third record sized so that the three records' JSON is 64 bytes short of 1 MB
    overhead = record_sizes[1] - filler
    third = MAX_RESPONSE_BYTES - 64 - sum(record_sizes) - overhead
    ddb.put_item(TableName=table, Item={"pk": {"S": "edge"}, "sk": {"N": "2"}, "blob": {"S": "y" * third}})
    read_stream(streams, arn, 3)
    for _ in range(3):  # from TRIM_HORIZON a few times: the whole shard fits one response's record budget
        position, seen, deadline = iterator(streams, arn, shard), 0, time.monotonic() + 10
        while seen < 3 and time.monotonic() < deadline:
            body, size = get_records_raw(url, position)
            record_bytes = sum(len(orjson.dumps(r)) for r in body["Records"])
            assert size <= MAX_RESPONSE_BYTES, (
                f"a GetRecords response of {size} bytes ({len(body['Records'])} records of {record_bytes} bytes)")
            seen += len(body["Records"])
            position = body["NextShardIterator"]


# -- one endpoint for both clients ----------------------------------------------------------------------


def test_aws_endpoint_url_alone_serves_dynamodb_and_dynamodbstreams(url, monkeypatch):
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_ENDPOINT_URL_DYNAMODBSTREAMS",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    dynamodb = session.client("dynamodb")
    streams = session.client("dynamodbstreams")
    assert dynamodb.meta.endpoint_url == url and streams.meta.endpoint_url == url

    table, arn = create_stream_table(dynamodb, "NEW_IMAGE")
    item = {"pk": {"S": "one-endpoint"}, "v": {"S": "hello"}}
    dynamodb.put_item(TableName=table, Item=item)
    assert arn in [s["StreamArn"] for s in listed_with(streams, arn, TableName=table)]
    records = [r for rs in read_stream(streams, arn, 1).values() for r in rs]
    assert [(r["eventName"], r["dynamodb"]["NewImage"]) for r in records] == [("INSERT", item)]


# -- the study guide's AWS CLI commands ---------------------------------------------------------------


@pytest.fixture
def example_table(ddb):
    """ExampleTable (the study guide's fixed name) on this module's server, dropped afterwards."""
    def drop():
        try:
            ddb.delete_table(TableName="ExampleTable")
        except ddb.exceptions.ResourceNotFoundException:
            pass

    drop()
    ddb.create_table(TableName="ExampleTable", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    yield "ExampleTable"
    drop()


def test_study_guide_cli_commands(url, ddb, streams, tmp_path, example_table):
    aws = aws_cli_runner(url, tmp_path)
    enabled = json.loads(aws("dynamodb", "update-table", "--table-name", "ExampleTable", "--stream-specification",
                             "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES").stdout)["TableDescription"]
    arn = enabled["LatestStreamArn"]
    assert enabled["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    describe_stream(streams, arn)  # in the connector's catalog (milliseconds)

    # the study guide's next two commands are independent: run side by side (the CLI starts slowly)
    listed, described = aws.parallel(
        ["dynamodbstreams", "list-streams", "--query", "Streams[].StreamArn", "--output", "table"],
        ["dynamodbstreams", "describe-stream", "--stream-arn", arn, "--query", "StreamDescription.StreamArn",
         "--output", "text"],
    )
    assert arn in listed.stdout, listed.stdout
    assert described.stdout.strip() == arn

    item = {"id": {"S": "item-1"}, "message": {"S": "hello streams"}}
    ddb.put_item(TableName="ExampleTable", Item=item)  # boto3 where the CLI is not what is tested: it starts faster
    shard = next(s for s, records in read_stream(streams, arn, 1).items() if records)  # the shard of the INSERT
    position = aws("dynamodbstreams", "get-shard-iterator", "--stream-arn", arn, "--shard-id", shard,
                   "--shard-iterator-type", "TRIM_HORIZON", "--query", "ShardIterator", "--output", "text").stdout.strip()
    records = json.loads(aws("dynamodbstreams", "get-records", "--shard-iterator", position).stdout)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"], r["dynamodb"]["NewImage"]) for r in records] == [
        ("INSERT", {"id": item["id"]}, item)]
    assert "OldImage" not in records[0]["dynamodb"]

    aws("dynamodb", "update-table", "--table-name", "ExampleTable", "--stream-specification", "StreamEnabled=false")
    wait_status(streams, arn, "DISABLED")
    listed, status = aws.parallel(
        ["dynamodbstreams", "list-streams", "--query", "Streams[].StreamArn", "--output", "table"],
        ["dynamodbstreams", "describe-stream", "--stream-arn", arn, "--query", "StreamDescription.StreamStatus",
         "--output", "text"],
    )
    assert arn in listed.stdout, "a disabled stream stays listed until its retention has passed"
    assert status.stdout.strip() == "DISABLED"
