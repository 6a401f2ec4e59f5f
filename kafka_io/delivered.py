"""What a producer of this process saw Kafka acknowledge, handed to readers in the same process:
the newest records of each partition, a wake-up for readers waiting at a partition's end, and
the records of followed topics (the stream catalog) as soon as they are acknowledged."""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from itertools import islice

from confluent_kafka import Message


class DeliveredTail:
    """The records a producer of this process saw Kafka acknowledge, newest `per_partition` of
    each partition: exactly the bytes, offsets and timestamps Kafka stored. Kept only while
    their offsets follow each other; any gap starts a partition's tail afresh, so a read of a
    tail never skips a record.

    `cdc-bridge up` hands the publisher's tail to the connector, which reads a record from it
    as soon as its acknowledgement arrives instead of waiting for a fetch (the embedded broker
    answers a fetch only after its whole fetch wait, ~1-3 ms at the end of a partition). The
    connector run alone has no tail and reads Kafka only."""

    def __init__(self, per_partition: int = 512, partitions: int = 64):
        self.per_partition = per_partition
        self.partitions = partitions
        self.lock = threading.Lock()
        self.tails: OrderedDict[tuple[str, int], deque[Message]] = OrderedDict()
        self.waiting: defaultdict[tuple[str, int], list[Callable[[], None]]] = defaultdict(list)
        self.followers: dict[str, Callable[[Message], None]] = {}
        # Where each partition ends as far as this process knows: after the newest record it saw
        # acknowledged, or where a read found the end (`learn_end`). Kept for every partition
        # (an int each), also for those whose records the tail no longer keeps.
        self.ends: dict[tuple[str, int], int] = {}

    def follow(self, topic: str, on_message: Callable[[Message], None]) -> None:
        """Hand every acknowledged record of `topic` to `on_message` (in the producer's polling
        thread) instead of keeping it: a view of a compacted topic learns its own instance's
        changes without waiting for its next fetch."""
        self.followers[topic] = on_message

    def add(self, message: Message) -> None:
        """A delivery report without error (in the producer's polling thread)."""
        follower = self.followers.get(message.topic())
        if follower is not None:
            follower(message)
            return
        where = (message.topic(), message.partition())
        with self.lock:
            tail = self.tails.get(where)
            if tail is None or (tail and tail[-1].offset() + 1 != message.offset()):
                tail = self.tails[where] = deque(maxlen=self.per_partition)
            self.tails.move_to_end(where)
            if len(self.tails) > self.partitions:
                self.tails.popitem(last=False)  # the partition written longest ago
            tail.append(message)
            # A partition's reports come in offset order (and start over in a topic made again).
            self.ends[where] = message.offset() + 1
            woken = self.waiting.pop(where, ())
        for wake in woken:
            wake()

    def when_held(self, topic: str, partition: int, offset: int, wake: Callable[[], None]) -> None:
        """Call `wake` (once, in the producer's polling thread, or now) as soon as the tail holds
        `offset` of the partition, or a record after it arrives: a reader at the end of a shard
        waits for this instead of polling Kafka."""
        where = (topic, partition)
        with self.lock:
            tail = self.tails.get(where)
            held = bool(tail) and tail[-1].offset() >= offset
            if not held:
                self.waiting[where].append(wake)
        if held:
            wake()

    def unwait(self, topic: str, partition: int, wake: Callable[[], None]) -> None:
        """Withdraw a `when_held` that is no longer wanted (its reader gave up)."""
        with self.lock:
            waiting = self.waiting.get((topic, partition))
            if waiting and wake in waiting:
                waiting.remove(wake)

    def ends_at(self, topic: str, partition: int, offset: int) -> bool:
        """Whether the partition ends at `offset` as far as this process knows. For a topic only
        this process writes to (a stream's, written by the publisher of `cdc-bridge up`), every
        record after a known end passes through `add`: so the end is known without a fetch."""
        with self.lock:
            return self.ends.get((topic, partition)) == offset

    def learn_end(self, topic: str, partition: int, end: int) -> None:
        """A read found the partition ending at `end` (the ends known only grow)."""
        where = (topic, partition)
        with self.lock:
            self.ends[where] = max(self.ends.get(where, 0), end)

    def read(self, topic: str, partition: int, offset: int, limit: int) -> list[Message]:
        """Up to `limit` records from `offset` on; empty unless the tail holds `offset`."""
        with self.lock:
            tail = self.tails.get((topic, partition))
            if not tail:
                return []
            start = offset - tail[0].offset()
            if not 0 <= start < len(tail):
                return []
            return list(islice(tail, start, start + limit))

    def forget(self, topics) -> None:
        """Topics that are gone (a new topic of the same name starts at offset 0 again)."""
        with self.lock:
            for known in (self.tails, self.ends):
                for where in [w for w in known if w[0] in topics]:
                    del known[where]
