"""The TTL sweeper across a stop: stopped (SIGINT) in the middle of a sweep, the table service
exits 0 at once with whole batches committed only, and the next start on the same data directory
deletes the rest. Two starts of `cdc-bridge table-api`: kept out of tests/api/test_time_to_live.py
so that file stays quick."""

from __future__ import annotations

import time

import boto3

from tests.api.helpers import create_table, unique_name
from tests.api.ttl_helpers import enable, key, ttl_description, wait_for
from tests.conftest import ServerProcess, client_kwargs


def test_a_stop_during_a_sweep_is_clean_and_the_next_start_finishes_it(tmp_path):
    """Stopped (SIGINT) while it deletes, the service exits 0 at once, having committed whole
    batches only; started again on the same data directory, it deletes the rest."""
    server = ServerProcess("table-api", tmp_path / "data", "--ttl-sweep-interval", "0.5",
                           env={"CDC_BRIDGE_TTL_BATCH_ITEMS": "5"}).start()
    client = boto3.client("dynamodb", **client_kwargs(server.url))
    name = unique_name("ttlstop")
    create_table(client, name)
    past, total = str(int(time.time()) - 60), 500
    for start in range(0, total, 25):
        puts = [{"PutRequest": {"Item": {**key(f"item-{i:05d}"), "expires": {"N": past}}}}
                for i in range(start, start + 25)]
        client.batch_write_item(RequestItems={name: puts})
    enable(client, name)

    def count() -> int:
        return client.scan(TableName=name, Select="COUNT", ConsistentRead=True)["Count"]

    wait_for(lambda: count() < total, "the sweep started")
    started = time.monotonic()
    server.stop()
    assert server.process.returncode == 0, server.log_path.read_text()[-2000:]
    assert time.monotonic() - started < 5.0  # not the kill after stop_child's timeout
    assert "Traceback" not in server.log_path.read_text()

    again = ServerProcess("table-api", tmp_path / "data", "--ttl-sweep-interval", "0.5").start()
    try:
        client = boto3.client("dynamodb", **client_kwargs(again.url))
        left = count()
        assert left % 5 == 0  # whole batches of 5 only (all items expired, none written meanwhile)
        wait_for(lambda: count() == 0, "the sweep finished after the restart")
        assert ttl_description(client, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    finally:
        again.stop()
