"""Which instance delivers a mapping, when several `up`s on one Kafka cluster could (they all have its
function): exactly one, chosen by the order of the lease topic LEASES_TOPIC
(contracts/event_source_mappings.py), with no coordinator and no consumer group.

Every instance writes a heartbeat every BEAT_S: key `member/<instance>`, value
`{"Until": epoch ms, "Mappings": {UUID: since}}`, the mappings it is ready to deliver. `since` is
the offset in the lease topic of the heartbeat that first offered that mapping (null in that very
heartbeat: its own offset, which only Kafka knows when it is written). The owner of a mapping is
the live candidate (Until not passed) with the lowest `since`: the one that offered it first, in
the topic's order, which every instance reads alike. A new instance therefore never takes a mapping
away from a live owner; it takes over when the owner stops offering it (a clean stop writes a
tombstone) or its heartbeats stop for LEASE_TTL_S (a crash, or cut off from Kafka).

Why it is safe (one deliverer at a time):
- an instance delivers a mapping only once its own heartbeat offering it was read back from the
  topic, so it has seen every earlier offer of that mapping;
- it stops delivering (fences itself) when no heartbeat of its own was acknowledged for
  LEASE_TTL_S - FENCE_MARGIN_S, before any other instance can judge its lease expired;
- one whose lease lapsed offers its mappings anew (null `since`): it queues behind the owner
  that took over instead of taking the mappings back.
- a heartbeat acknowledged only after its writer's fence has passed does not renew anything: the
  writer offers its mappings anew.
Clocks: `Until` is the writer's wall clock, judged by the readers' own; FENCE_MARGIN_S covers the
skew between machines kept by NTP."""

from __future__ import annotations

import logging
import threading
import time
import uuid as uuids
from collections.abc import Callable

import orjson

from contracts.event_source_mappings import LEASES_TOPIC, member_key
from kafka_io.client import Kafka, Record
from kafka_io.topic_view import TopicView

log = logging.getLogger("cdc_bridge.event_sources")

BEAT_S = 1.0  # how often an instance renews its lease
LEASE_TTL_S = 10.0  # a heartbeat's lease: another instance takes over this long after the last one
FENCE_MARGIN_S = 3.0  # an instance stops delivering this long before the others could take over
READ_BACK_S = 5.0  # the longest a heartbeat waits to be read back from the topic
MEMBER_PREFIX = b"member/"

Members = dict[str, dict]  # instance -> {"Until": epoch ms, "Since": {UUID: offset}}


def owner(members: Members, uuid: str, now_ms: int) -> str | None:
    """The instance that delivers `uuid`: the live member that offered it first (lowest offset)."""
    offers = [(member["Since"][uuid], instance) for instance, member in members.items()
              if uuid in member["Since"] and member["Until"] > now_ms]
    return min(offers)[1] if offers else None


def member_of(value: bytes, offset: int) -> dict:
    """A heartbeat as read from the topic; a null `since` is the heartbeat's own offset."""
    beat = orjson.loads(value)
    return {"Until": beat["Until"], "Since": {u: offset if s is None else s for u, s in beat["Mappings"].items()}}


class Leases(TopicView):
    what = "event source mapping leases"

    def __init__(self, kafka: Kafka, on_change: Callable[[], None], topic: str = LEASES_TOPIC):
        super().__init__(kafka, topic)
        self.instance = uuids.uuid4().hex  # per process: a restarted instance offers its mappings anew
        self.on_change = on_change  # ownership may have changed: the part looks again
        self.members: Members = {}
        self.wanted: set[str] = set()  # the mappings this instance can deliver (enabled, its function here)
        self.offered: dict[str, int | None] = {}  # UUID -> `since` of our offer (None: not yet written)
        self.fenced_at = 0.0  # monotonic time after which we may not deliver (no recent heartbeat)
        self.idle = False  # our last heartbeat offered nothing: no need to write another one
        self.producer = kafka.producer(**{"linger.ms": 0})
        self.wake = threading.Event()
        self.beats: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        super().start(timeout_s)
        self.beats = threading.Thread(target=self._beat_forever, name="event-source-leases", daemon=True)
        self.beats.start()

    def stop(self) -> None:
        """After the pollers stopped: the tombstone hands our mappings over at once."""
        self.stop_event.set()
        self.wake.set()
        if self.beats is not None:
            self.beats.join(READ_BACK_S + 1)
        try:
            self.producer.produce(self.topic, None, member_key(self.instance), 0)
            self.producer.flush(READ_BACK_S)
        except Exception:
            log.warning("releasing the event source mapping leases failed", exc_info=True)
        super().stop()

    def _apply(self, record: Record) -> None:
        if not record.key or not record.key.startswith(MEMBER_PREFIX):
            return
        instance = record.key[len(MEMBER_PREFIX):].decode()
        with self.lock:
            if not self._newer(record.key, record.offset):
                return
            if record.value is None:
                self.members.pop(instance, None)
            else:
                self.members[instance] = member_of(record.value, record.offset)

    # -- for the part --------------------------------------------------------------------------------

    def want(self, uuids_: set[str]) -> None:
        """The mappings this instance could deliver now; a change is written at once."""
        if uuids_ != self.wanted:
            self.wanted = set(uuids_)
            self.wake.set()

    def owns(self, uuid: str) -> bool:
        if time.monotonic() >= self.fenced_at or self.offered.get(uuid) is None:
            return False
        with self.lock:
            return owner(self.members, uuid, int(time.time() * 1000)) == self.instance

    def owned(self) -> int:
        return sum(self.owns(uuid) for uuid in list(self.offered))

    # -- heartbeats ----------------------------------------------------------------------------------

    def _beat_forever(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.beat()
            except Exception:
                log.warning("event source mapping heartbeat failed", exc_info=True)
            self.on_change()
            self.wake.wait(BEAT_S)
            self.wake.clear()

    def beat(self) -> None:
        if self.idle and not self.wanted:
            return  # nothing to renew: an instance without mappings to deliver writes nothing
        started = time.monotonic()
        if started >= self.fenced_at:  # lapsed (or the first beat): offer everything anew
            self.offered = {}
        offered = {uuid: self.offered.get(uuid) for uuid in self.wanted}
        self.offered = offered
        value = {"Until": int(time.time() * 1000 + LEASE_TTL_S * 1000), "Mappings": offered}
        offset = self._write(orjson.dumps(value))
        self.idle = not offered
        self._read_back(offset)
        if time.monotonic() >= self.fenced_at and any(since is not None for since in offered.values()):
            # written too late: the others may have judged our lease expired meanwhile and taken over
            self.offered = {}
            self.wake.set()
            return
        self.offered = {uuid: offset if since is None else since for uuid, since in offered.items()}
        self.fenced_at = started + LEASE_TTL_S - FENCE_MARGIN_S

    def _write(self, value: bytes) -> int:
        written: list = []
        self.producer.produce(self.topic, value, member_key(self.instance), 0,
                              on_delivery=lambda error, message: written.append((error, message)))
        if self.producer.flush(READ_BACK_S) > 0 or not written or written[0][0] is not None:
            raise TimeoutError("a lease heartbeat could not be written to Kafka")
        return written[0][1].offset()

    def _read_back(self, offset: int) -> None:
        deadline = time.monotonic() + READ_BACK_S
        while self.tail_offset < offset:
            if time.monotonic() > deadline or self.stop_event.is_set():
                raise TimeoutError("a lease heartbeat was not read back from Kafka")
            time.sleep(0.005)
