"""ParallelizationFactor's lanes (event_sources/lanes.py): batches of different keys run side by side,
the changes of one key in order in one lane, and the checkpoint stays at the lowest record not done."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from event_sources.lanes import Lanes, lane_of


def item(offset: int, key: bytes):
    return SimpleNamespace(message=SimpleNamespace(offset=lambda: offset, key=lambda: key))


def keys_in_distinct_lanes(factor: int) -> list[bytes]:
    found: dict[int, bytes] = {}
    for n in range(1000):
        found.setdefault(lane_of(f"k{n}".encode(), factor), f"k{n}".encode())
    return [found[lane] for lane in range(factor)]


def test_batches_of_different_lanes_run_at_the_same_time_and_keep_order_per_key():
    running, seen, peak, lock = [0], [], [0], threading.Lock()

    def deliver(batch):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
            seen.extend((i.message.key(), i.message.offset()) for i in batch)

    stop = threading.Event()
    lanes = Lanes(4, deliver, lambda: 1, stop, "t")
    keys = keys_in_distinct_lanes(4)
    lanes.submit([item(offset, keys[offset % 4]) for offset in range(12)])
    lanes.drain(0.1)
    stop.set()
    lanes.close()
    assert peak[0] == 4
    for key in keys:
        offsets = [o for k, o in seen if k == key]
        assert offsets == sorted(offsets) and len(offsets) == 3


def test_the_checkpoint_is_the_lowest_record_a_lane_has_not_finished():
    release = threading.Event()
    slow, fast = keys_in_distinct_lanes(2)

    def deliver(batch):
        if batch[0].message.key() == slow:
            release.wait(5)

    stop = threading.Event()
    lanes = Lanes(2, deliver, lambda: 10, stop, "t")
    lanes.submit([item(10, fast), item(11, slow), item(12, fast)])
    deadline = time.monotonic() + 5
    while lanes.pending() > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lanes.low_water(13) == 11  # 10 and 12 are done, 11 is not
    release.set()
    lanes.drain(0.1)
    assert lanes.low_water(13) == 13
    stop.set()
    lanes.close()
