"""The connector end to end: items written through the table service come back through the
DynamoDB Streams API of `cdc-bridge up` (one endpoint, boto3), read from Kafka.

Every view type (count, order per item, images), LATEST / AT_SEQUENCE_NUMBER /
AFTER_SEQUENCE_NUMBER positions, GetRecords Limit and pagination, a disabled stream's shards
ending, latency on a connector whose reader pool is in full use (an empty shard answers at once,
a new record is seen within milliseconds, also on a stream just enabled), tampered and forged
iterators (another secret included), two connector instances sharing one iterator secret, and,
on a server with a retention of 3 s and an iterator lifetime of 4.5 s: exact trimming on read,
TRIM_HORIZON inside the window, TrimmedDataAccessException, ExpiredIteratorException, and
disabled streams dropping out of ListStreams once their retention has passed.

A PutItem over an existing item is the MODIFY these tests read.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
import pytest

from connector.ids import ShardIterator
from tests.api.helpers import aws_error
from tests.integration.streams_helpers import (
    REGION,
    SEQUENCE_NUMBER,
    SHARD_ID,
    VIEW_TYPES,
    connector_server,
    create_stream_table,
    describe_stream,
    drain,
    dynamodb_client,
    iterator,
    read_stream,
    server_log,
    set_stream,
    shard_ids,
    start_all,
    streams_client,
    up_server,
    wait_status,
)

pytestmark = pytest.mark.timeout(120)

RETENTION_S = 3.0  # the short server's --stream-retention-hours, in seconds (slack for a loaded machine)
ITERATOR_TTL_S = 4.5  # --streams-iterator-ttl-seconds on the short server


POOL_SIZE = 8  # the main server's connector reader pool (CDC_BRIDGE_CONNECTOR_READERS)


@pytest.fixture(scope="module")
def servers(broker, tmp_path_factory):
    """Started side by side: `up` (default retention and iterator lifetime), a second connector
    instance with the same iterator secret, and an `up` whose streams keep records for 3 s
    (one shard each) and whose iterators live 3 s."""
    started = {
        # A small reader pool, so that the latency tests can fill it.
        "main": up_server(broker, tmp_path_factory.mktemp("connector-main"),
                          env={"CDC_BRIDGE_CONNECTOR_READERS": str(POOL_SIZE)}),
        "second": connector_server(broker, tmp_path_factory.mktemp("connector-second")),
        "short": up_server(broker, tmp_path_factory.mktemp("connector-short"),
                           "--stream-retention-hours", str(RETENTION_S / 3600),
                           "--streams-iterator-ttl-seconds", str(ITERATOR_TTL_S),
                           "--stream-shards", "1"),
    }
    start_all(list(started.values()))
    yield started
    for process in started.values():
        process.stop()


@pytest.fixture(scope="module")
def main(servers):
    return servers["main"]


@pytest.fixture(scope="module")
def ddb(main):
    return dynamodb_client(main.url)


@pytest.fixture(scope="module")
def streams(main):
    return streams_client(main.url)


def key(pk: str) -> dict:
    return {"pk": {"S": pk}}


def seqs(records: list[dict]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in records]


def single_shard(streams, arn: str, records: int = 1) -> str:
    """The one shard that holds the records (of tables whose items share one partition key)."""
    holding = [shard for shard, found in read_stream(streams, arn, records).items() if found]
    assert len(holding) == 1, holding
    return holding[0]


# -- every view type, end to end ----------------------------------------------------------------------


def writes(ddb, table: str) -> dict[str, list[tuple[str, dict | None, dict | None]]]:
    """PutItem / DeleteItem over six items; returns, per partition key, the changes DynamoDB
    Streams must show: (eventName, old image, new image)."""
    expected: dict[str, list] = {}
    items: dict[str, dict] = {}

    def put(pk: str, **attributes) -> None:
        item = {**key(pk), **attributes}
        ddb.put_item(TableName=table, Item=item)
        old = items.get(pk)
        if old != item:
            expected.setdefault(pk, []).append(("INSERT" if old is None else "MODIFY", old, item))
        items[pk] = item

    def delete(pk: str) -> None:
        ddb.delete_item(TableName=table, Key=key(pk))
        old = items.pop(pk, None)
        if old is not None:
            expected.setdefault(pk, []).append(("REMOVE", old, None))

    for i in range(6):
        put(f"item-{i}", n={"N": str(i)}, tags={"SS": ["a", "b"]}, doc={"M": {"nested": {"L": [{"S": "x"}, {"BOOL": True}]}}})
    for i in range(3):
        put(f"item-{i}", n={"N": str(10 + i)}, note={"S": f"second version of {i}"}, blob={"B": b"\x00\x01\x02"})
    put("item-3", n={"N": "3"}, tags={"SS": ["a", "b"]}, doc={"M": {"nested": {"L": [{"S": "x"}, {"BOOL": True}]}}})  # no change: no record
    delete("item-0")
    delete("item-4")
    delete("never-written")  # nothing deleted: no record
    put("item-0", n={"N": "100"}, flag={"NULL": True})
    return expected


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_every_record_of_every_view_type(ddb, streams, view_type):
    table, arn = create_stream_table(ddb, view_type)
    before = time.time()
    expected = writes(ddb, table)
    after = time.time()
    total = sum(map(len, expected.values()))
    assert total == 12

    description = describe_stream(streams, arn)
    assert description["StreamViewType"] == view_type
    by_shard = read_stream(streams, arn, total)
    records = [r for shard_records in by_shard.values() for r in shard_records]
    assert len(records) == total, {s: [(r["eventName"], r["dynamodb"]["Keys"]) for r in rs] for s, rs in by_shard.items()}

    event_ids = [r["eventID"] for r in records]
    assert len(set(event_ids)) == total and all(isinstance(e, str) and e for e in event_ids)
    for shard, shard_records in by_shard.items():
        assert SHARD_ID.match(shard)
        numbers = seqs(shard_records)
        assert all(SEQUENCE_NUMBER.match(n) for n in numbers), numbers
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), f"{shard}: {numbers}"

    shard_of: dict[str, str] = {}
    for shard, shard_records in by_shard.items():
        for record in shard_records:
            pk = record["dynamodb"]["Keys"]["pk"]["S"]
            assert shard_of.setdefault(pk, shard) == shard, f"{pk} in two shards"
    for pk, changes in expected.items():
        got = [r for r in by_shard[shard_of[pk]] if r["dynamodb"]["Keys"] == key(pk)]
        assert [r["eventName"] for r in got] == [name for name, _, _ in changes], pk
        for record, (name, old, new) in zip(got, changes):
            assert record["eventVersion"] == "1.1"
            assert record["eventSource"] == "aws:dynamodb"
            assert record["awsRegion"] == REGION
            assert "userIdentity" not in record
            data = record["dynamodb"]
            assert data["Keys"] == key(pk)
            assert data["StreamViewType"] == view_type
            assert isinstance(data["SizeBytes"], int) and data["SizeBytes"] >= 1
            created = data["ApproximateCreationDateTime"]
            assert isinstance(created, datetime)
            assert before - 1 <= created.timestamp() <= after + 1
            wants_new = view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None
            wants_old = view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None
            assert data.get("NewImage") == (new if wants_new else None), (pk, name)
            assert data.get("OldImage") == (old if wants_old else None), (pk, name)
            expected_keys = {"ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType"}
            expected_keys |= {"NewImage"} if wants_new else set()
            expected_keys |= {"OldImage"} if wants_old else set()
            assert set(data) == expected_keys, (pk, name, sorted(data))


# -- iterator types -----------------------------------------------------------------------------------


def test_latest_sees_only_later_writes(ddb, streams):
    table, arn = create_stream_table(ddb, "NEW_IMAGE")
    for i in range(6):
        ddb.put_item(TableName=table, Item={**key(f"before-{i}"), "when": {"S": "before"}})
    read_stream(streams, arn, 6)  # on Kafka: LATEST starts after them
    latest = {shard: iterator(streams, arn, shard, "LATEST") for shard in shard_ids(streams, arn)}
    for shard, position in latest.items():
        page = streams.get_records(ShardIterator=position)
        assert page["Records"] == [], f"LATEST of {shard} returned older records"
        latest[shard] = page["NextShardIterator"]
    for i in range(6):
        ddb.put_item(TableName=table, Item={**key(f"after-{i}"), "when": {"S": "after"}})
    seen = []
    deadline = time.monotonic() + 10
    while len(seen) < 6 and time.monotonic() < deadline:
        for shard, position in latest.items():
            page = streams.get_records(ShardIterator=position)
            seen += page["Records"]
            latest[shard] = page["NextShardIterator"]
    assert sorted(r["dynamodb"]["Keys"]["pk"]["S"] for r in seen) == [f"after-{i}" for i in range(6)]
    assert all(r["dynamodb"]["NewImage"]["when"] == {"S": "after"} for r in seen)


def test_at_and_after_sequence_number_resume_exactly(ddb, streams):
    table, arn = create_stream_table(ddb, "KEYS_ONLY", range_key=True)
    for i in range(6):  # one partition key: one shard, in write order
        ddb.put_item(TableName=table, Item={**key("one"), "sk": {"N": str(i)}})
    shard = single_shard(streams, arn)
    records, _, _ = drain(streams, iterator(streams, arn, shard), want=6)
    numbers = seqs(records)
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in records] == [str(i) for i in range(6)]
    ranges = {s["ShardId"]: s["SequenceNumberRange"] for s in describe_stream(streams, arn)["Shards"]}
    assert ranges[shard]["StartingSequenceNumber"] == numbers[0]

    for i, number in enumerate(numbers):
        at, _, _ = drain(streams, iterator(streams, arn, shard, "AT_SEQUENCE_NUMBER", number), want=6 - i)
        assert seqs(at) == numbers[i:], f"AT_SEQUENCE_NUMBER {number}"
        if i < 5:
            after, _, _ = drain(streams, iterator(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", number), want=5 - i)
            assert seqs(after) == numbers[i + 1:], f"AFTER_SEQUENCE_NUMBER {number}"

    # after the last record: nothing yet, then exactly the next write
    position = iterator(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", numbers[-1])
    page = streams.get_records(ShardIterator=position)
    assert page["Records"] == []
    ddb.put_item(TableName=table, Item={**key("one"), "sk": {"N": "6"}})
    following, _, _ = drain(streams, page["NextShardIterator"], want=1)
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in following] == ["6"]
    assert following[0]["dynamodb"]["SequenceNumber"] > numbers[-1]


@pytest.mark.parametrize("limit", [1, 2, 3, 1000])
def test_get_records_limit_and_pagination(ddb, streams, limit):
    table, arn = create_stream_table(ddb, "NEW_AND_OLD_IMAGES", range_key=True)
    for i in range(7):
        ddb.put_item(TableName=table, Item={**key("paged"), "sk": {"N": str(i)}, "v": {"S": "x" * i}})
    shard = single_shard(streams, arn)
    everything, _, _ = drain(streams, iterator(streams, arn, shard), want=7)
    assert len(everything) == 7
    paged, following, pages = drain(streams, iterator(streams, arn, shard), want=7, limit=limit)
    assert paged == everything, f"Limit={limit}: pages of {[len(p['Records']) for p in pages]}"
    assert all(len(p["Records"]) <= limit for p in pages)
    assert following is not None and "NextShardIterator" in pages[-1]
    assert streams.get_records(ShardIterator=following, Limit=limit)["Records"] == []


def test_disabled_stream_ends_its_shards(ddb, streams):
    """An iterator taken while the stream was enabled reads to the shard's end after the
    stream is disabled, and then gets no NextShardIterator; later writes make no records."""
    table, arn = create_stream_table(ddb, "NEW_IMAGE", range_key=True)
    for i in range(3):
        ddb.put_item(TableName=table, Item={**key("closing"), "sk": {"N": str(i)}})
    shard = single_shard(streams, arn)
    open_records, position, _ = drain(streams, iterator(streams, arn, shard), want=3)
    assert position is not None
    ddb.put_item(TableName=table, Item={**key("closing"), "sk": {"N": "3"}})
    set_stream(ddb, table, None)
    ddb.put_item(TableName=table, Item={**key("closing"), "sk": {"N": "4"}})  # no stream: no record
    description = wait_status(streams, arn, "DISABLED")
    assert description["StreamStatus"] == "DISABLED"

    rest, following, _ = drain(streams, position)
    assert following is None, "a disabled stream's shard never ends"
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in open_records + rest] == ["0", "1", "2", "3"]
    ending = {s["ShardId"]: s["SequenceNumberRange"].get("EndingSequenceNumber") for s in description["Shards"]}
    assert ending[shard] == rest[-1]["dynamodb"]["SequenceNumber"]
    for other in set(ending) - {shard}:  # the empty shards end at once
        page = streams.get_records(ShardIterator=iterator(streams, arn, other))
        assert page["Records"] == [] and "NextShardIterator" not in page


# -- latency -------------------------------------------------------------------------------------------

READ_WAIT_S = 0.05  # what a GetRecords that does not answer at once waits (connector/shards.py)
IDLE_WAIT_S = 0.025  # how long a GetRecords after an empty page waits for a write (in `up`)


def readers_in_use(server) -> int:
    return httpx.get(f"{server.url}/health", timeout=10).json()["parts"]["connector"]["readers"]


@pytest.fixture
def busy_connector(main, ddb, streams):
    """The main server's connector once every reader of its pool has read a topic of its own
    (as on any server with many consumers): shards of a new stream now recycle readers."""
    for _ in range(POOL_SIZE):
        if readers_in_use(main) >= POOL_SIZE:
            break
        table, arn = create_stream_table(ddb, "KEYS_ONLY")
        ddb.put_item(TableName=table, Item=key("pool"))
        for shard in shard_ids(streams, arn):
            streams.get_records(ShardIterator=iterator(streams, arn, shard))
    assert readers_in_use(main) == POOL_SIZE
    return main


def timed_get_records(streams, position: str) -> tuple[float, dict]:
    started = time.perf_counter()
    page = streams.get_records(ShardIterator=position)
    return time.perf_counter() - started, page


def test_an_empty_shard_answers_at_once(busy_connector, ddb, streams):
    """GetRecords on an empty shard, following NextShardIterator, answers within milliseconds
    rather than waiting out READ_WAIT_S (50 ms) for records, on a connector whose reader pool is
    in full use (a call after an empty page waits at most IDLE_WAIT_S, 25 ms, for a write). Three
    shards of a new stream, eight calls each; the median of each leaves room for a loaded machine."""
    _, arn = create_stream_table(ddb)
    shards = shard_ids(streams, arn)
    chains = []
    for shard in shards[:3]:
        timings, position = [], iterator(streams, arn, shard)
        for _ in range(8):
            elapsed, page = timed_get_records(streams, position)
            assert page["Records"] == []
            timings.append(elapsed)
            position = page["NextShardIterator"]
        chains.append(timings)
    fresh, page = timed_get_records(streams, iterator(streams, arn, shards[3], "LATEST"))
    shown = (f"GetRecords on empty shards took {[[round(t * 1000) for t in c] for c in chains]} ms "
             f"(three shards, following NextShardIterator); a fresh LATEST one {fresh * 1000:.0f} ms")
    assert all(statistics.median(c) < READ_WAIT_S for c in chains), shown
    assert all(max(c[1:]) < 0.1 for c in chains), shown
    assert fresh < 0.1, shown


def test_a_drains_first_empty_page_is_prompt_and_a_tailing_poller_is_held(ddb, streams):
    """The page that finds a shard's end after records waits at most 10 ms for a write (a drain
    that stops at its first empty page pays little); a GetRecords after an empty page holds the
    call until the shard's next write, at most IDLE_WAIT_S: an idle poller costs a call per 25 ms."""
    table, arn = create_stream_table(ddb, "KEYS_ONLY", range_key=True)
    ddb.put_item(TableName=table, Item={**key("drain"), "sk": {"N": "0"}})
    shard = single_shard(streams, arn)
    page = streams.get_records(ShardIterator=iterator(streams, arn, shard))
    assert len(page["Records"]) == 1
    first_empty = [timed_get_records(streams, page["NextShardIterator"]) for _ in range(5)]
    held, position = [], first_empty[0][1]["NextShardIterator"]
    for _ in range(5):
        elapsed, page = timed_get_records(streams, position)
        assert page["Records"] == []
        held.append(elapsed)
        position = page["NextShardIterator"]
    shown = (f"first empty pages {[round(t * 1000, 1) for t, _ in first_empty]} ms, "
             f"following ones {[round(t * 1000, 1) for t in held]} ms")
    assert all(page["Records"] == [] for _, page in first_empty), shown
    assert statistics.median(t for t, _ in first_empty) < IDLE_WAIT_S, shown
    assert min(held) >= IDLE_WAIT_S * 0.9 and statistics.median(held) < READ_WAIT_S * 2, shown


def test_a_held_poller_is_woken_by_the_write(ddb, streams):
    """A GetRecords held at the end of a shard returns the write made during the hold in the
    same call. The write goes 5 ms into the hold; tried up to five times for a loaded machine
    (without the hold every try answers empty before the write)."""
    table, arn = create_stream_table(ddb, "KEYS_ONLY", range_key=True)
    ddb.put_item(TableName=table, Item={**key("held"), "sk": {"N": "0"}})
    shard = single_shard(streams, arn)
    position = streams.get_records(ShardIterator=iterator(streams, arn, shard))["NextShardIterator"]
    position = streams.get_records(ShardIterator=position)["NextShardIterator"]  # an empty page: held next
    tries = []
    for attempt in range(1, 6):
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(timed_get_records, streams, position)
            time.sleep(0.005)
            ddb.put_item(TableName=table, Item={**key("held"), "sk": {"N": str(attempt)}})
            elapsed, page = call.result()
        tries.append((round(elapsed * 1000, 1), [r["dynamodb"]["Keys"]["sk"]["N"] for r in page["Records"]]))
        if page["Records"]:
            assert tries[-1][1] == [str(attempt)], tries
            return
        position = drain(streams, page["NextShardIterator"], want=1)[1]
        position = streams.get_records(ShardIterator=position)["NextShardIterator"]
    pytest.fail(f"no held GetRecords returned the write made during it: (ms, records) {tries}")


def reader_uses(server) -> int:
    connector = httpx.get(f"{server.url}/health", timeout=10).json()["parts"]["connector"]
    return connector["reader_reuses"] + connector["reader_seeks"]


def test_a_poller_at_the_end_of_a_shard_needs_no_kafka_reader(main, ddb, streams):
    """In `up` only its own publisher writes a stream's topic, so once a shard's end is known (from
    the publisher's acknowledgements, or from one read that found it) a GetRecords there is
    answered without a Kafka reader, which then stops fetching: on a shard that had a write and on
    one that never had any."""
    table, arn = create_stream_table(ddb, "KEYS_ONLY", range_key=True)
    ddb.put_item(TableName=table, Item={**key("end"), "sk": {"N": "0"}})
    written = single_shard(streams, arn)
    empty = next(shard for shard in shard_ids(streams, arn) if shard != written)
    positions = []
    for shard in (written, empty):
        page = streams.get_records(ShardIterator=iterator(streams, arn, shard))
        assert len(page["Records"]) == (1 if shard == written else 0)
        positions.append(streams.get_records(ShardIterator=page["NextShardIterator"])["NextShardIterator"])
    before = reader_uses(main)
    for _ in range(10):
        positions = [streams.get_records(ShardIterator=p)["NextShardIterator"] for p in positions]
    assert reader_uses(main) == before
    ddb.put_item(TableName=table, Item={**key("end"), "sk": {"N": "1"}})
    got = drain(streams, positions[0], want=1)[0]
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in got] == ["1"]


def test_a_new_record_is_seen_within_milliseconds(busy_connector, ddb, streams):
    table, arn = create_stream_table(ddb, "KEYS_ONLY", range_key=True)
    ddb.put_item(TableName=table, Item={**key("fast"), "sk": {"N": "0"}})
    shard = single_shard(streams, arn)
    position = iterator(streams, arn, shard, "LATEST")
    position = streams.get_records(ShardIterator=position)["NextShardIterator"]
    delays = []
    for i in range(1, 4):
        started = time.perf_counter()
        ddb.put_item(TableName=table, Item={**key("fast"), "sk": {"N": str(i)}})
        got = []
        while not got and time.perf_counter() - started < 5:
            page = streams.get_records(ShardIterator=position)
            got, position = page["Records"], page["NextShardIterator"]
        delays.append(time.perf_counter() - started)
        assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in got] == [str(i)]
    assert max(delays) < 0.5, f"put -> visible through LATEST polling took {[round(d * 1000) for d in delays]} ms"


def test_a_new_streams_first_record_is_seen_within_milliseconds(busy_connector, ddb, streams):
    """A consumer that starts on a stream the moment it is enabled (LATEST on every shard) sees
    the first write within 500 ms, also when the connector recycles readers for the new shards.
    Three new streams in turn."""
    delays = []
    for attempt in range(3):
        table, arn = create_stream_table(ddb, "KEYS_ONLY")
        positions = {shard: iterator(streams, arn, shard, "LATEST") for shard in shard_ids(streams, arn)}
        started = time.perf_counter()
        ddb.put_item(TableName=table, Item=key(f"first-{attempt}"))
        seen: list[dict] = []
        while not seen and time.perf_counter() - started < 5:
            for shard, position in positions.items():
                page = streams.get_records(ShardIterator=position)
                seen += page["Records"]
                positions[shard] = page["NextShardIterator"]
        delays.append(time.perf_counter() - started)
        assert [r["dynamodb"]["Keys"] for r in seen] == [key(f"first-{attempt}")]
    assert max(delays) < 0.5, (
        f"put -> visible through LATEST polling of a new stream took {[round(d * 1000) for d in delays]} ms")


# -- iterators: tampered, forged, shared ----------------------------------------------------------------


def flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


def test_tampered_and_forged_iterators_are_validation_errors(main, ddb, streams):
    table, arn = create_stream_table(ddb)
    ddb.put_item(TableName=table, Item=key("x"))
    shard = shard_ids(streams, arn)[0]
    genuine = iterator(streams, arn, shard)
    other = iterator(streams, arn, shard_ids(streams, arn)[1])
    body = genuine.partition(".")[0]
    partition = int(shard[-8:], 16)
    forged = [
        flip(genuine, len(body) // 2),                                   # a changed position
        flip(genuine, len(genuine) - 3),                                 # a changed signature
        body + "." + other.partition(".")[2],                            # another iterator's signature
        body,                                                            # no signature
        genuine + "x",
        ShardIterator(arn, partition, 0, int(time.time() * 1000)).encode(b"not the shared secret"),
        ShardIterator(arn, partition, 0, int(time.time() * 1000)).encode(b""),
        "garbage",
        "a.b",
    ]
    for token in forged:
        with aws_error("ValidationException"):
            streams.get_records(ShardIterator=token)
    streams.get_records(ShardIterator=genuine)  # the genuine one still works


def test_two_connector_instances_serve_the_same_iterator(servers, ddb, streams):
    second = streams_client(servers["second"].url)
    table, arn = create_stream_table(ddb, "NEW_IMAGE", range_key=True)
    for i in range(6):
        ddb.put_item(TableName=table, Item={**key("shared"), "sk": {"N": str(i)}})
    shard = single_shard(streams, arn)
    everything, _, _ = drain(streams, iterator(streams, arn, shard), want=6)

    assert describe_stream(second, arn) == describe_stream(streams, arn)
    assert second.list_streams(TableName=table)["Streams"] == streams.list_streams(TableName=table)["Streams"]

    # an iterator of the first instance, continued alternately on both
    position, read, clients = iterator(streams, arn, shard), [], [second, streams]
    deadline = time.monotonic() + 10
    turn = 0
    while len(read) < 6 and time.monotonic() < deadline:
        page = clients[turn % 2].get_records(ShardIterator=position, Limit=2)
        read += page["Records"]
        position = page["NextShardIterator"]
        turn += 1
    assert read == everything, server_log(servers["second"])
    # and one of the second instance's own iterators, read on the first
    from_second = iterator(second, arn, shard, "AFTER_SEQUENCE_NUMBER", everything[2]["dynamodb"]["SequenceNumber"])
    rest, _, _ = drain(streams, from_second, want=3)
    assert rest == everything[3:]


# -- retention and iterator lifetime (the short server) -----------------------------------------------------


@pytest.fixture(scope="module")
def short(servers):
    """The short server's clients, and a stream disabled as early as possible (its test checks
    that it leaves ListStreams once the 3 s retention has passed: the wait overlaps the other
    tests)."""
    server = servers["short"]
    ddb, streams = dynamodb_client(server.url), streams_client(server.url)
    table, arn = create_stream_table(ddb, "KEYS_ONLY")
    describe_stream(streams, arn)
    set_stream(ddb, table, None)
    disabled_at = time.time()
    assert wait_status(streams, arn, "DISABLED")["StreamStatus"] == "DISABLED"
    listed = [s["StreamArn"] for s in streams.list_streams(TableName=table)["Streams"]]
    return {"ddb": ddb, "streams": streams, "disabled": (table, arn, disabled_at, listed)}


# A window of 3 s: once, in a full-suite run on a loaded machine, the first record was not seen
# in time (not reproduced since); one rerun keeps CI from failing on timing alone.
@pytest.mark.flaky(reruns=1)
def test_records_older_than_the_retention_are_trimmed(short):
    ddb, streams = short["ddb"], short["streams"]
    table, arn = create_stream_table(ddb, "NEW_IMAGE")
    shard = shard_ids(streams, arn)[0]  # --stream-shards 1
    written_a = time.time()
    ddb.put_item(TableName=table, Item={**key("a"), "v": {"S": "old"}})
    inside, _, _ = drain(streams, iterator(streams, arn, shard), want=1)
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in inside] == ["old"], "a fresh record is inside the window"
    seq_a = inside[0]["dynamodb"]["SequenceNumber"]
    at_a = iterator(streams, arn, shard)  # TRIM_HORIZON: positioned at record a

    time.sleep(max(0.0, written_a + RETENTION_S + 0.3 - time.time()))
    ddb.put_item(TableName=table, Item={**key("b"), "v": {"S": "new"}})
    started = time.monotonic()

    with aws_error("TrimmedDataAccessException"):
        streams.get_records(ShardIterator=at_a)
    with aws_error("TrimmedDataAccessException"):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber=seq_a)
    horizon, _, _ = drain(streams, iterator(streams, arn, shard), want=1, timeout_s=1.0)
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in horizon] == ["new"], "TRIM_HORIZON is the oldest record inside the window"
    seq_b = horizon[0]["dynamodb"]["SequenceNumber"]
    assert seq_b > seq_a
    starting = describe_stream(streams, arn)["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"]
    assert starting == seq_b
    at_b, _, _ = drain(streams, iterator(streams, arn, shard, "AT_SEQUENCE_NUMBER", seq_b), want=1, timeout_s=1.0)
    assert seqs(at_b) == [seq_b]
    assert time.monotonic() - started < RETENTION_S, "too slow to check record b inside its window"


def test_iterators_older_than_their_lifetime_expire(short):
    ddb, streams = short["ddb"], short["streams"]
    _, arn = create_stream_table(ddb, "KEYS_ONLY")
    shard = shard_ids(streams, arn)[0]
    old = iterator(streams, arn, shard, "LATEST")
    issued = time.monotonic()  # after the answer: the server stamped the iterator before this
    assert streams.get_records(ShardIterator=old)["Records"] == []  # valid when fresh
    time.sleep(1.0)
    renewed = streams.get_records(ShardIterator=old)["NextShardIterator"]  # a NextShardIterator is a new iterator
    renewed_at = time.monotonic()
    time.sleep(max(0.0, issued + ITERATOR_TTL_S + 0.3 - time.monotonic()))
    with aws_error("ExpiredIteratorException"):
        streams.get_records(ShardIterator=old)
    assert time.monotonic() - renewed_at < ITERATOR_TTL_S - 0.2, "too slow to check the renewed iterator"
    assert streams.get_records(ShardIterator=renewed)["Records"] == []


def test_a_disabled_stream_is_listed_until_its_retention_has_passed(short):
    streams = short["streams"]
    table, arn, disabled_at, listed_when_disabled = short["disabled"]
    assert listed_when_disabled == [arn]
    time.sleep(max(0.0, disabled_at + RETENTION_S + 0.3 - time.time()))
    assert streams.list_streams(TableName=table)["Streams"] == []
    assert arn not in [s["StreamArn"] for s in streams.list_streams()["Streams"]]
