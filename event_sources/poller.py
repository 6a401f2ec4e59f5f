"""One shard of one mapping: read a batch from the checkpoint on, filter it, hand it to the function,
and move the checkpoint on only when the batch is done with. Lambda's semantics for stream sources:
in order per shard, at least once; a failing batch is retried with backoff (bisected when asked) and
blocks its shard until it succeeds, its records grow older than MaximumRecordAgeInSeconds, or
MaximumRetryAttempts run out; then it goes to the on-failure destination and the shard moves on. With
ReportBatchItemFailures only the records from the first failed one on are retried."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import orjson

from event_sources.destinations import failure_record
from event_sources.lanes import Lanes
from event_sources.sources import Shard, dynamodb_record, is_kinesis, kinesis_record, sequence_of
from event_sources.windows import TumblingWindows
from kafka_io.readers import PartitionReader
from lambda_api.errors import ResourceNotFoundException
from lambda_api.filters import parse_filters, passes

log = logging.getLogger("cdc_bridge.event_sources")

FETCH_WAIT_MS = 5  # a lone change reaches its function within a few ms of Kafka having it
IDLE_WAIT_S = 0.1  # the longest a poller sleeps in one wait for records (then checks for a stop)
PARK_AFTER_S = 1.0  # a shard without records this long stops fetching until woken (see sleep_parked)
PARKED_RECHECK_S = 1.0  # the longest a parked shard sleeps before it looks at Kafka again
STOP_CHECK_S = 0.05  # how often a parked poller checks whether it should stop
FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.1, 2.0  # between retries of a failing batch
MISSING_FUNCTION_WAIT_S = 1.0
PARENT_CHECK_S = 0.2  # how often a child shard looks whether its parents are done


class Stopped(Exception):
    """The mapping was disabled, updated to another source, deleted, or the server stops."""


@dataclass
class Item:
    message: object  # the Kafka message
    record: dict  # as the event carries it

    @property
    def arrival_ms(self) -> int:
        return self.message.timestamp()[1]


@dataclass
class MappingHolder:
    """The newest revision of a mapping, shared by its shard pollers: an update reaches a running
    poller at its next batch without a restart."""
    mapping: dict
    stop: threading.Event = field(default_factory=threading.Event)
    patterns: list = field(default_factory=list)

    def update(self, mapping: dict) -> None:
        self.patterns = parse_filters(mapping.get("FilterCriteria"))
        self.mapping = mapping


class ShardPoller(threading.Thread):
    def __init__(self, runtime, holder: MappingHolder, shard: Shard):
        super().__init__(name=f"poller-{shard.id}", daemon=True)
        self.runtime = runtime
        self.holder = holder
        self.shard = shard
        self.uuid = holder.mapping["UUID"]
        self.reader: PartitionReader | None = None
        self.completed = False  # a closed shard read to its end: nothing more will come
        self.ended = threading.Event()  # this poller is ending: its lanes stop too
        # LATEST and AT_TIMESTAMP without a checkpoint: records older than this are passed over (a
        # shard that was empty when the position was looked up may receive older records after)
        self.skip_before_ms = 0
        self.windows: TumblingWindows | None = None  # TumblingWindowInSeconds > 0
        self.lanes: Lanes | None = None  # ParallelizationFactor > 1
        self.last_records_at = time.monotonic()  # when a read last returned records

    # -- the loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.wait_for_parents()
            offset = self.start_offset()
            self.reader = PartitionReader(self.runtime.bootstrap_servers, FETCH_WAIT_MS)
            self.reader.seek(self.shard.topic, self.shard.partition, offset)
            checkpoint = (offset, self.windows.saved() if self.windows is not None else None)
            while not self.finished(offset):
                batch, offset = self.next_batch(offset)
                windows = self.windows
                if windows is not None and windows.due(int(time.time() * 1000)) and \
                        not (batch and windows.window_of(batch[0].arrival_ms) == windows.current):
                    self.close_window()
                chosen = [item for item in batch if passes(self.holder.patterns, self.filtered_view(item.record))]
                if chosen:
                    self.hand_over(chosen)
                checkpoint = self.save_checkpoint(checkpoint, offset)
            if self.lanes is not None:
                self.lanes.drain(IDLE_WAIT_S)
                self.save_checkpoint(checkpoint, offset)
            self.completed = True
        except Stopped:
            pass
        except Exception:
            log.exception("event source poller failed", extra={"uuid": self.uuid, "shard": self.shard.id})
            self.runtime.processing_result(self.uuid, "PROBLEM: Internal error in cdc-bridge's poller; see its log")
        finally:
            self.ended.set()
            if self.lanes is not None:
                self.lanes.close()
            if self.reader is not None:
                self.reader.close()

    def save_checkpoint(self, saved: tuple, read_to: int) -> tuple:
        """Store where the shard stands (`read_to`, or the lowest record a lane has not finished with)
        and a tumbling window's state, when either changed since `saved`; what is saved now."""
        offset = self.lanes.low_water(read_to) if self.lanes is not None else read_to
        checkpoint = (offset, self.windows.saved() if self.windows is not None else None)
        if checkpoint != saved:
            self.runtime.checkpoints.put(self.uuid, self.shard.topic, self.shard.partition, *checkpoint)
        return checkpoint

    def wait_for_parents(self) -> None:
        """Lambda finishes a parent shard before it starts its children (Kinesis resharding): wait
        until this mapping's checkpoint of every parent shard still kept is at its end."""
        while self.shard.parents:
            self.check_running()
            current = {s.id: s for s in self.runtime.shards_of(self.holder.mapping)}
            if all(self.parent_done(current.get(parent)) for parent in self.shard.parents):
                return
            self.holder.stop.wait(PARENT_CHECK_S)

    def parent_done(self, parent: Shard | None) -> bool:
        if parent is None:  # expired from the stream (or never kept): nothing of it left to read
            return True
        if parent.end_offset is None:
            return False  # still open, or its end not known yet
        saved = self.runtime.checkpoints.get(self.uuid, parent.topic, parent.partition)
        return saved is not None and saved["Offset"] >= parent.end_offset

    def hand_over(self, items: list[Item]) -> None:
        """Deliver a batch: per tumbling window with its state; with ParallelizationFactor > 1 into
        the lanes (event_sources/lanes.py), which deliver up to N batches side by side while this
        thread reads on; or as it is."""
        if self.windows is not None:
            for window, group in self.windows.groups(items):
                if self.windows.current is not None and window != self.windows.current:
                    self.close_window()
                self.windows.open(window)
                self.windows.take(self.deliver(group, self.windows.envelope))
            return
        factor = self.holder.mapping["ParallelizationFactor"]
        if self.lanes is not None and self.lanes.factor != factor:  # updated: the old lanes finish first
            self.lanes.drain(IDLE_WAIT_S)
            self.lanes.close()
            self.lanes = None
        if factor == 1:
            self.deliver(items)
            return
        if self.lanes is None:
            self.lanes = Lanes(factor, self.deliver, lambda: self.holder.mapping["BatchSize"], self.ended,
                               f"poller-{self.shard.id}")
        self.lanes.submit(items)

    def close_window(self) -> None:
        """The window has passed: the final invocation, with the window's state and no records."""
        outcome = self.invoke(self.holder.mapping, [], self.windows.envelope(final=True))
        if outcome.function_error:
            log.info("final invocation of a window failed", extra={"uuid": self.uuid, "shard": self.shard.id})
        self.windows.close()

    def finished(self, offset: int) -> bool:
        self.check_running()
        return self.shard.end_offset is not None and offset >= self.shard.end_offset

    def check_running(self) -> None:
        if self.holder.stop.is_set() or self.ended.is_set():
            raise Stopped()

    def check_lease(self) -> None:
        """Before anything a user would see twice (an invocation, a failure record): this instance
        still holds the mapping's lease (event_sources/leases.py). Else the poller ends, and the
        batch in flight is left to the new holder, from the checkpoint."""
        if not self.runtime.leases.owns(self.uuid):
            raise Stopped()

    def start_offset(self) -> int:
        """The checkpoint; without one (a new mapping, or a shard new since), StartingPosition,
        written as the first checkpoint so that a restart starts at the same record."""
        saved = self.runtime.checkpoints.get(self.uuid, self.shard.topic, self.shard.partition)
        mapping, shard = self.holder.mapping, self.shard
        if mapping["TumblingWindowInSeconds"]:
            self.windows = TumblingWindows(mapping["TumblingWindowInSeconds"], shard.id, mapping["EventSourceArn"],
                                           (saved or {}).get("Window"))
        if saved is not None:
            return saved["Offset"]
        offsets = self.runtime.connector.shards.offsets
        now = int(time.time() * 1000)
        position = mapping["StartingPosition"]
        if position == "LATEST":  # what arrives from the moment the mapping was created
            since = mapping["_CreatedMs"]
        elif position == "AT_TIMESTAMP":
            since = int(mapping["StartingPositionTimestamp"] * 1000)
        else:
            since = now - shard.retention_ms
        offset = 0 if since <= shard.born_ms and position != "LATEST" else \
            offsets.first_at_or_after(shard.topic, shard.partition, since)
        if position != "TRIM_HORIZON":
            self.skip_before_ms = since
        self.runtime.checkpoints.put(self.uuid, shard.topic, shard.partition, offset)
        return offset

    # -- reading -------------------------------------------------------------------------------------

    def next_batch(self, offset: int) -> tuple[list[Item], int]:
        """Up to BatchSize records from `offset` and the offset past the last one read: at once when
        records are there and no batching window is set, else when the batch is full, the window has
        passed since the first record, or (a closed shard) its end is reached. Nothing while the lanes
        of ParallelizationFactor are full."""
        if self.lanes is not None:
            self.lanes.wait_for_room(IDLE_WAIT_S)
            if self.lanes.full():
                return [], offset
        mapping = self.holder.mapping
        limit, window = mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]
        messages: list = []
        first_at = None
        waited = False
        while len(messages) < limit:
            self.check_running()
            messages += self.reader.read(limit - len(messages), 0.0)
            if messages and first_at is None:
                first_at = self.last_records_at = time.monotonic()
            if self.shard.end_offset is not None:
                messages = [m for m in messages if m.offset() < self.shard.end_offset]
                if self.reader.position >= self.shard.end_offset:
                    break
            if len(messages) >= limit or (messages and time.monotonic() - first_at >= window):
                break
            if first_at is None and waited:
                break  # nothing for a while: back to the loop (a tumbling window may be due)
            if first_at is None and time.monotonic() - self.last_records_at > PARK_AFTER_S:
                self.sleep_parked()
            else:
                remaining = IDLE_WAIT_S if first_at is None else max(0.0, window - (time.monotonic() - first_at))
                if remaining > 0:
                    self.reader.wait_for_more(min(IDLE_WAIT_S, remaining))
            waited = True
        read_to = messages[-1].offset() + 1 if messages else offset
        if self.skip_before_ms:
            messages = [m for m in messages if m.timestamp()[1] >= self.skip_before_ms]
        return [Item(m, self.rendered(m)) for m in messages], read_to

    def sleep_parked(self) -> None:
        """An idle shard: stop fetching (a reader at the end of a partition makes the embedded broker
        answer a fetch every few ms: ~15 % of a core for one idle mapping of 4 shards) and sleep until
        this process's publisher sees a record of the shard acknowledged (DynamoDB streams in `up`),
        or at most PARKED_RECHECK_S (records written by other producers: Kinesis, as Lambda polls
        an idle Kinesis shard about once a second)."""
        reader, shard = self.reader, self.shard
        position = reader.position
        reader.park()
        woken = threading.Event()
        tail = None if is_kinesis(self.holder.mapping["EventSourceArn"]) else self.runtime.connector.shards.delivered
        if tail is not None:
            tail.when_held(shard.topic, shard.partition, position, woken.set)
        try:
            deadline = time.monotonic() + PARKED_RECHECK_S
            while not woken.is_set() and time.monotonic() < deadline:
                self.check_running()
                woken.wait(STOP_CHECK_S)
        finally:
            if tail is not None:
                tail.unwait(shard.topic, shard.partition, woken.set)
            reader.seek(shard.topic, shard.partition, position)

    def rendered(self, message) -> dict:
        mapping, runtime = self.holder.mapping, self.runtime
        if is_kinesis(mapping["EventSourceArn"]):
            return kinesis_record(message, self.shard, mapping["EventSourceArn"], runtime.region,
                                  runtime.role_of(mapping["FunctionArn"]))
        return dynamodb_record(message, self.shard, mapping["EventSourceArn"])

    @staticmethod
    def filtered_view(record: dict) -> dict:
        """What filter patterns see: the record; for Kinesis also the `kinesis` members at the top
        and `data` decoded when it is JSON (Lambda filters on the data of JSON records)."""
        if "kinesis" not in record:
            return record
        data = base64.b64decode(record["kinesis"]["data"])
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            decoded = data.decode("utf-8", "replace")
        return {**record, **record["kinesis"], "data": decoded}

    # -- delivering ----------------------------------------------------------------------------------

    def deliver(self, items: list[Item], envelope=None):
        """Hand `items` to the function until they are done with (see the module docstring); the
        function's last successful answer (its JSON), for tumbling windows' state. `envelope()` gives
        the event's members besides Records (a window's)."""
        answer = outcome = None
        pending: deque[tuple[list[Item], int]] = deque([(items, 0)])  # (batch, retries so far)
        while pending:
            batch, retries = pending.popleft()
            while batch:
                self.check_running()
                mapping = self.holder.mapping
                batch = self.drop_expired(mapping, batch, retries, outcome if retries else None)
                if not batch:
                    break
                outcome = self.invoke(mapping, batch, envelope() if envelope else None)
                failed_from = self.failed_from(mapping, batch, outcome)
                if failed_from is None:
                    self.runtime.processing_result(self.uuid, "OK")
                    answer = json_of(outcome.payload)
                    break
                self.runtime.processing_result(self.uuid, "PROBLEM: Function call failed")
                failing = batch[failed_from:]
                limit = mapping["MaximumRetryAttempts"]
                if limit != -1 and retries >= limit:
                    self.give_up(mapping, failing, "RetryAttemptsExhausted", outcome, retries + 1)
                    break
                if mapping["BisectBatchOnFunctionError"] and failed_from == 0 and len(failing) > 1:
                    half = len(failing) // 2  # splitting does not count as a retry, as on Lambda
                    pending.extendleft([(failing[half:], retries), (failing[:half], retries)])
                    break
                batch, retries = failing, retries + 1
                self.backoff(retries)
        return answer

    def invoke(self, mapping: dict, batch: list[Item], envelope: dict | None = None):
        name = mapping["FunctionArn"].rpartition(":")[2]
        event = {"Records": [item.record for item in batch], **(envelope or {})}
        while True:
            self.check_running()
            self.check_lease()
            try:
                return self.runtime.lambda_ctx.invoke(name, event)
            except ResourceNotFoundException:
                self.runtime.processing_result(self.uuid, "PROBLEM: Function not found")
                self.holder.stop.wait(MISSING_FUNCTION_WAIT_S)

    def failed_from(self, mapping: dict, batch: list[Item], outcome) -> int | None:
        """None: the batch succeeded; else the index of the first record to retry (0: all of it)."""
        if outcome.function_error:
            return 0
        if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
            return None
        answer = json_of(outcome.payload)  # not JSON: not a batch response, the batch succeeded
        failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
        if not failures:
            return None
        sequences = [sequence_of(item.record) for item in batch]
        try:
            return min(sequences.index(f["itemIdentifier"]) for f in failures)
        except (TypeError, KeyError, ValueError):
            return 0  # an identifier that is missing or not of the batch fails the whole batch

    def drop_expired(self, mapping: dict, batch: list[Item], retries: int, outcome=None) -> list[Item]:
        """Records older than MaximumRecordAgeInSeconds go to the on-failure destination unprocessed
        (with the error of their last attempt, `outcome`, when they were retried)."""
        age_s = mapping["MaximumRecordAgeInSeconds"]
        if age_s == -1:
            return batch
        cutoff = time.time() * 1000 - age_s * 1000
        expired = 0
        while expired < len(batch) and batch[expired].arrival_ms < cutoff:
            expired += 1
        if expired:
            self.give_up(mapping, batch[:expired], "RecordAgeExceeded", outcome, retries)
        return batch[expired:]

    def give_up(self, mapping: dict, batch: list[Item], condition: str, outcome, attempts: int) -> None:
        destination = (mapping.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        log.info("batch discarded", extra={"uuid": self.uuid, "shard": self.shard.id, "condition": condition,
                                           "records": len(batch)})
        if not destination:
            return
        records = [item.record for item in batch]
        failure = failure_record(mapping, self.shard.id, records, [item.arrival_ms for item in batch], condition,
                                 outcome, attempts)
        while True:
            self.check_lease()
            try:
                self.runtime.destinations.send(destination, mapping, self.shard.id, failure, {"Records": records})
                return
            except Exception as exc:  # noqa: BLE001 -- retried: the shard waits for its destination
                log.warning("on-failure destination unavailable", extra={"uuid": self.uuid, "error": str(exc)})
                self.runtime.processing_result(self.uuid, "PROBLEM: On-failure destination unavailable")
                self.check_running()
                self.holder.stop.wait(MISSING_FUNCTION_WAIT_S)

    def backoff(self, retries: int) -> None:
        self.holder.stop.wait(min(FIRST_BACKOFF_S * 2 ** (retries - 1), MAX_BACKOFF_S))


def json_of(payload: bytes):
    try:
        return orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return None
