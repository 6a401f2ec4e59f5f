"""Helpers of the event source mapping tests: a handler that records every event it gets in a file the
test reads (and fails on request), and waiting for what it recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path

# Appends each event as one JSON line to $OUT. Fails (raises) when a record mentions $FAIL_ON; with
# $PARTIAL_ON, answers batchItemFailures for the records that mention it; sleeps $SLEEP seconds
# first when a record mentions $SLOW_ON.
RECORDING_HANDLER = """
import json, os, time

def handler(event, context):
    text = json.dumps(event)
    if os.environ.get("SLOW_ON") and os.environ["SLOW_ON"] in text:
        time.sleep(float(os.environ.get("SLEEP", "0")))
    with open(os.environ["OUT"], "a") as out:
        out.write(text + "\\n")
    if os.environ.get("FAIL_ON") and os.environ["FAIL_ON"] in text:
        raise ValueError("refusing " + os.environ["FAIL_ON"])
    marker = os.environ.get("PARTIAL_ON")
    if marker:
        failed = [r for r in event["Records"] if marker in json.dumps(r)]
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}
    return {"handled": len(event["Records"])}
"""

# Sleeps $SLEEP seconds, then appends {"Records", "started", "ended"} as one JSON line to $OUT: when
# each batch ran, for tests of batches in flight side by side.
TIMED_RECORDER = """
import json, os, time

def handler(event, context):
    started = time.time()
    time.sleep(float(os.environ["SLEEP"]))
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps({"Records": event["Records"], "started": started, "ended": time.time()}) + "\\n")
"""


def invocations(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def records(path: Path) -> list[dict]:
    return [record for event in invocations(path) for record in event["Records"]]


def wait_for(check, timeout_s: float = 30.0, what: str = "the handler to run"):
    """Poll `check()` until it returns something truthy (generous: a loaded machine is slow)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_enabled(lam, uuid: str, state: str = "Enabled", timeout_s: float = 30.0) -> dict:
    return wait_for(lambda: (m := lam.get_event_source_mapping(UUID=uuid))["State"] == state and m,
                    timeout_s, f"mapping {uuid} to be {state}")


def put(dynamodb, table: str, pk: str, sk: int, **attributes):
    item = {"pk": {"S": pk}, "sk": {"N": str(sk)}, **{k: {"S": v} for k, v in attributes.items()}}
    dynamodb.put_item(TableName=table, Item=item)


