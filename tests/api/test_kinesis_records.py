"""Kinesis records against a live `cdc-bridge up`, with boto3: PutRecord, PutRecords,
GetShardIterator (every iterator type), GetRecords; routing by hash key, order per partition key,
iterator expiry and AWS's errors."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.helpers import aws_error, validation_error
from tests.api.kinesis_helpers import (
    ITERATOR_TTL_S,
    client,
    create_active,
    kinesis_server_url,
    needs_own_server,
    read_all,
    shard_records,
)

ACCOUNT = "000000000000"
MIB = 1024 * 1024


@pytest.fixture(scope="session")
def kinesis_url(broker, tmp_path_factory, request):
    return kinesis_server_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="session")
def kinesis(kinesis_url):
    return client(kinesis_url)


@pytest.fixture(scope="session")
def lenient(kinesis_url):
    return client(kinesis_url, parameter_validation=False)


@pytest.fixture
def stream(kinesis):
    """A fresh 3-shard stream for each test."""
    return create_active(kinesis, 3)


def hash_of(key: str) -> int:
    return int.from_bytes(hashlib.md5(key.encode()).digest(), "big")


def iterator(kinesis, stream: str, shard: str, kind: str, **extra) -> str:
    return kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **extra)["ShardIterator"]


# -- PutRecord, PutRecords ----------------------------------------------------------------------------


def test_put_record_then_get_records_returns_exactly_those_bytes(kinesis, stream):
    data = bytes(range(256)) * 4
    put = kinesis.put_record(StreamName=stream, PartitionKey="pk-1", Data=data)
    assert put["SequenceNumber"].isdigit() and put["EncryptionType"] == "NONE"
    [record] = shard_records(kinesis, stream, put["ShardId"])
    assert record["Data"] == data and record["PartitionKey"] == "pk-1"
    assert record["SequenceNumber"] == put["SequenceNumber"]
    age = datetime.now(UTC) - record["ApproximateArrivalTimestamp"]
    assert timedelta(0) <= age < timedelta(seconds=30)


def test_records_land_on_the_shard_their_partition_key_hashes_to(kinesis, stream):
    shards = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]
    for i in range(30):
        key = f"key-{i}"
        put = kinesis.put_record(StreamName=stream, PartitionKey=key, Data=b"x")
        [expected] = [s["ShardId"] for s in shards if int(s["HashKeyRange"]["StartingHashKey"]) <= hash_of(key)
                      <= int(s["HashKeyRange"]["EndingHashKey"])]
        assert put["ShardId"] == expected, key


def test_an_explicit_hash_key_chooses_the_shard(kinesis, stream):
    shards = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]
    for shard in shards:
        for edge in ("StartingHashKey", "EndingHashKey"):
            put = kinesis.put_record(StreamName=stream, PartitionKey="same", Data=b"x",
                                     ExplicitHashKey=shard["HashKeyRange"][edge])
            assert put["ShardId"] == shard["ShardId"]
    with aws_error("InvalidArgumentException", "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                   f"[0, 2^128-1]. Specified value was {2**128}"):
        kinesis.put_record(StreamName=stream, PartitionKey="a", Data=b"x", ExplicitHashKey=str(2**128))


def test_put_records_answers_per_record_and_keeps_order_per_partition_key(kinesis, stream):
    entries = [{"PartitionKey": f"user-{i % 7}", "Data": f"{i % 7}:{i}".encode()} for i in range(500)]
    put = kinesis.put_records(StreamName=stream, Records=entries)
    assert put["FailedRecordCount"] == 0 and len(put["Records"]) == 500
    records = {}
    for shard in {r["ShardId"] for r in put["Records"]}:
        for record in shard_records(kinesis, stream, shard):
            records[record["SequenceNumber"]] = (shard, record)
    for entry, result in zip(entries, put["Records"]):
        shard, record = records[result["SequenceNumber"]]
        assert (shard, record["Data"], record["PartitionKey"]) == (result["ShardId"], entry["Data"], entry["PartitionKey"])
    for user in range(7):
        mine = [r for e, r in zip(entries, put["Records"]) if e["PartitionKey"] == f"user-{user}"]
        assert len({r["ShardId"] for r in mine}) == 1
        numbers = [r["SequenceNumber"] for r in mine]
        assert numbers == sorted(numbers)  # in request order


def test_put_record_limits(kinesis, lenient, stream):
    with validation_error(match="at 'partitionKey' failed to satisfy constraint: Member must have length less "
                                "than or equal to 256"):
        lenient.put_record(StreamName=stream, PartitionKey="p" * 257, Data=b"x")
    with validation_error(match="at 'partitionKey' failed to satisfy constraint: Member must not be null"):
        lenient.put_record(StreamName=stream, Data=b"x")
    with validation_error(match=f"at 'data' failed to satisfy constraint: Member must have length less than or "
                                f"equal to {MIB}"):
        kinesis.put_record(StreamName=stream, PartitionKey="a", Data=b"x" * (MIB + 1))
    big = kinesis.put_record(StreamName=stream, PartitionKey="a", Data=b"y" * MIB)
    assert [r["Data"] for r in shard_records(kinesis, stream, big["ShardId"])] == [b"y" * MIB]


def test_put_records_limits(kinesis, lenient, stream):
    with validation_error(match="at 'records' failed to satisfy constraint: Member must have length less than or "
                                "equal to 500"):
        lenient.put_records(StreamName=stream, Records=[{"PartitionKey": "a", "Data": b"x"}] * 501)
    with validation_error(match="at 'records.2.member.partitionKey' failed to satisfy constraint: Member must not be null"):
        lenient.put_records(StreamName=stream, Records=[{"PartitionKey": "a", "Data": b"x"}, {"Data": b"x"}])
    with aws_error("InvalidArgumentException", match="Records size exceeds 5 MB limit"):
        kinesis.put_records(StreamName=stream, Records=[{"PartitionKey": "a", "Data": b"z" * MIB}] * 5)
    with aws_error("ResourceNotFoundException", f"Stream no-such-stream under account {ACCOUNT} not found."):
        kinesis.put_records(StreamName="no-such-stream", Records=[{"PartitionKey": "a", "Data": b"x"}])


# -- GetShardIterator ---------------------------------------------------------------------------------


def test_every_iterator_type_starts_where_it_says(kinesis, stream):
    puts = [kinesis.put_record(StreamName=stream, PartitionKey="one", Data=b"%d" % i) for i in range(3)]
    shard = puts[0]["ShardId"]
    latest = iterator(kinesis, stream, shard, "LATEST")
    kinesis.put_record(StreamName=stream, PartitionKey="one", Data=b"3")

    def data(it):
        return [r["Data"] for r in read_all(kinesis, it)]

    assert data(iterator(kinesis, stream, shard, "TRIM_HORIZON")) == [b"0", b"1", b"2", b"3"]
    assert data(latest) == [b"3"]
    assert data(iterator(kinesis, stream, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=puts[1]["SequenceNumber"])) == [b"1", b"2", b"3"]
    assert data(iterator(kinesis, stream, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=puts[1]["SequenceNumber"])) == [b"2", b"3"]


def test_at_timestamp_starts_at_the_first_record_at_or_after_it(kinesis, stream):
    first = kinesis.put_record(StreamName=stream, PartitionKey="t", Data=b"first")
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    kinesis.put_record(StreamName=stream, PartitionKey="t", Data=b"second")
    shard = first["ShardId"]
    at = iterator(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=middle)
    assert [r["Data"] for r in read_all(kinesis, at)] == [b"second"]
    [r0, _] = shard_records(kinesis, stream, shard)
    exact = iterator(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=r0["ApproximateArrivalTimestamp"])
    assert [r["Data"] for r in read_all(kinesis, exact)] == [b"first", b"second"]
    old = iterator(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=datetime(2001, 1, 1, tzinfo=UTC))
    assert len(read_all(kinesis, old)) == 2  # older than the trim horizon: from the oldest record
    with aws_error("InvalidArgumentException", match="The timestampInMillis parameter cannot be greater than the "
                                                     "currentTimestampInMillis"):
        iterator(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=datetime.now(UTC) + timedelta(hours=1))
    with aws_error("InvalidArgumentException", "Must specify timestampInMillis parameter for iterator of type "
                   "AT_TIMESTAMP. Current request has no timestamp parameter."):
        iterator(kinesis, stream, shard, "AT_TIMESTAMP")


def test_get_shard_iterator_errors(kinesis, stream):
    put = kinesis.put_record(StreamName=stream, PartitionKey="e", Data=b"x")
    shard, other = put["ShardId"], next(f"shardId-00000000000{i}" for i in range(3) if f"shardId-00000000000{i}" != put["ShardId"])
    rule = ("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
            "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. ")
    with aws_error("InvalidArgumentException", rule + "Request specified TRIM_HORIZON and also a StartingSequenceNumber."):
        iterator(kinesis, stream, shard, "TRIM_HORIZON", StartingSequenceNumber=put["SequenceNumber"])
    with aws_error("InvalidArgumentException", rule + "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."):
        iterator(kinesis, stream, shard, "AT_SEQUENCE_NUMBER")
    with aws_error("InvalidArgumentException", f"Invalid StartingSequenceNumber. It encodes {shard}, while it was used "
                   f"in a call to a shard with {other}"):
        iterator(kinesis, stream, other, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=put["SequenceNumber"])
    with aws_error("InvalidArgumentException", f"StartingSequenceNumber 12345 used in GetShardIterator on shard {shard} "
                   f"in stream {stream} under account {ACCOUNT} is invalid."):
        iterator(kinesis, stream, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber="12345")
    future = put["SequenceNumber"][:-6] + "999999"
    with aws_error("InvalidArgumentException", f"StartingSequenceNumber {future} used in GetShardIterator on shard "
                   f"{shard} in stream {stream} under account {ACCOUNT} is invalid because it did not come from this "
                   "stream."):
        iterator(kinesis, stream, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=future)
    with aws_error("ResourceNotFoundException", f"Shard shardId-000000000009 in stream {stream} under account "
                   f"{ACCOUNT} does not exist"):
        iterator(kinesis, stream, "shardId-000000000009", "LATEST")
    with aws_error("ResourceNotFoundException"):
        iterator(kinesis, "no-such-stream", shard, "LATEST")


def test_sequence_numbers_carry_the_streams_data_epoch(kinesis, stream):
    """A stream whose topics the broker never lost is at epoch 0, whose sequence numbers are the
    34 digits they were before epochs existed: "49", the shard (12 digits), the Kafka offset."""
    from connector.ids import parse_kinesis_sequence_number

    put = kinesis.put_record(StreamName=stream, PartitionKey="epoch", Data=b"x")
    number = put["SequenceNumber"]
    assert len(number) == 34 and number.startswith("49" + put["ShardId"][-12:])
    assert parse_kinesis_sequence_number(number)[:2] == (0, int(put["ShardId"][-12:]))
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    assert all(s["SequenceNumberRange"]["StartingSequenceNumber"] == "49" + s["ShardId"][-12:] + "0" * 20 for s in shards)


def test_a_sequence_number_of_a_later_epoch_did_not_come_from_this_stream(kinesis, stream):
    """The epoch is raised only when the broker lost the stream's topics, so a number of a later
    epoch than the stream's was never given out: Kinesis's InvalidArgumentException. (One of an
    earlier epoch reads on from the trim horizon, as Kinesis does for a trimmed position:
    tests/unit/test_kinesis_epochs.py.)"""
    from connector.ids import kinesis_sequence_number, parse_kinesis_sequence_number

    put = kinesis.put_record(StreamName=stream, PartitionKey="later", Data=b"x")
    epoch, shard_number, offset = parse_kinesis_sequence_number(put["SequenceNumber"])
    later = kinesis_sequence_number(epoch + 1, shard_number, offset)
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        with aws_error("InvalidArgumentException", f"StartingSequenceNumber {later} used in GetShardIterator on shard "
                       f"{put['ShardId']} in stream {stream} under account {ACCOUNT} is invalid because it did not "
                       "come from this stream."):
            iterator(kinesis, stream, put["ShardId"], kind, StartingSequenceNumber=later)


# -- GetRecords ---------------------------------------------------------------------------------------


def test_get_records_honours_limit_and_continues_with_the_next_iterator(kinesis, stream):
    kinesis.put_records(StreamName=stream, Records=[{"PartitionKey": "l", "Data": b"%d" % i} for i in range(5)])
    shard = kinesis.put_record(StreamName=stream, PartitionKey="l", Data=b"5")["ShardId"]
    page = kinesis.get_records(ShardIterator=iterator(kinesis, stream, shard, "TRIM_HORIZON"), Limit=2)
    assert [r["Data"] for r in page["Records"]] == [b"0", b"1"] and page["MillisBehindLatest"] >= 0
    rest = kinesis.get_records(ShardIterator=page["NextShardIterator"], Limit=10000)
    assert [r["Data"] for r in rest["Records"]] == [b"2", b"3", b"4", b"5"] and rest["MillisBehindLatest"] == 0
    with validation_error("1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
                          "Member must have value less than or equal to 10000"):
        kinesis.get_records(ShardIterator=rest["NextShardIterator"], Limit=10001)


def test_an_empty_shard_answers_at_once_with_a_next_iterator(kinesis, stream):
    it = iterator(kinesis, stream, "shardId-000000000000", "TRIM_HORIZON")
    started = time.monotonic()
    page = kinesis.get_records(ShardIterator=it)
    assert page["Records"] == [] and page["NextShardIterator"] and page["MillisBehindLatest"] == 0
    assert time.monotonic() - started < 1.0


def test_malformed_or_tampered_iterators_are_invalid_arguments(kinesis, stream):
    it = iterator(kinesis, stream, "shardId-000000000000", "LATEST")
    for bad in ("garbage", it[:-3] + "abc", it.replace(".", "x", 1)):
        with aws_error("InvalidArgumentException", "Invalid ShardIterator."):
            kinesis.get_records(ShardIterator=bad)


@needs_own_server()
def test_an_iterator_expires(kinesis, stream):
    it = iterator(kinesis, stream, "shardId-000000000000", "LATEST")
    time.sleep(ITERATOR_TTL_S + 0.5)
    with aws_error("ExpiredIteratorException", match=r"^Iterator expired. The iterator was created at time \w{3} "
                   rf"\w{{3}} \d+ [\d:]+ UTC \d{{4}} while right now it is .* tolerated delay of {ITERATOR_TTL_S * 1000} "
                   "milliseconds.$"):
        kinesis.get_records(ShardIterator=it)


def test_an_iterator_of_a_deleted_stream_is_resource_not_found(kinesis):
    name = create_active(kinesis, 1)
    it = iterator(kinesis, name, "shardId-000000000000", "TRIM_HORIZON")
    kinesis.delete_stream(StreamName=name)
    with aws_error("ResourceNotFoundException"):
        kinesis.get_records(ShardIterator=it)


def test_sequence_number_for_ordering_must_be_one_of_ours(kinesis, stream):
    first = kinesis.put_record(StreamName=stream, PartitionKey="o", Data=b"1")
    second = kinesis.put_record(StreamName=stream, PartitionKey="o", Data=b"2",
                                SequenceNumberForOrdering=first["SequenceNumber"])
    assert second["SequenceNumber"] > first["SequenceNumber"]
    with aws_error("InvalidArgumentException", f"ExclusiveMinimumSequenceNumber 123 used in PutRecord on stream "
                   f"{stream} under account {ACCOUNT} is invalid."):
        kinesis.put_record(StreamName=stream, PartitionKey="o", Data=b"3", SequenceNumberForOrdering="123")


def test_get_records_returns_at_most_10_mib_and_continues(kinesis, stream):
    """12 MiB in one shard: no page holds more than 10 MiB, and reading on returns every record
    once, in order. (How many a page holds below the cap depends on what the broker has fetched
    within the call, as on AWS: a loaded machine may answer with fewer.)"""
    sequences = []
    for _ in range(3):
        put = kinesis.put_records(StreamName=stream, Records=[{"PartitionKey": "big", "Data": b"m" * MIB}] * 4)
        assert put["FailedRecordCount"] == 0
        sequences += [r["SequenceNumber"] for r in put["Records"]]
    it = iterator(kinesis, stream, put["Records"][0]["ShardId"], "TRIM_HORIZON")
    read, pages = [], 0
    while len(read) < 12 and pages < 30:
        page = kinesis.get_records(ShardIterator=it)
        assert sum(len(r["Data"]) for r in page["Records"]) <= 10 * MIB
        read += page["Records"]
        it, pages = page["NextShardIterator"], pages + 1
    assert [r["SequenceNumber"] for r in read] == sequences
