"""A compacted topic's view (kafka_io.topic_view) gets a record from its tail and, in `cdc-bridge
up`, sooner from its own process's producer: in whichever order they come, the newest value of
each key wins."""

from __future__ import annotations

import orjson

from connector.catalog import StreamCatalog
from kafka_io.client import Record


def stream_record(offset: int, arn: str, status: str) -> Record:
    value = orjson.dumps({"StreamArn": arn, "StreamStatus": status})
    return Record("_catalog", 0, offset, arn.encode(), value, {}, 0)


def test_an_older_value_read_later_does_not_replace_a_newer_one():
    catalog = StreamCatalog(kafka=None)
    catalog._on_record(stream_record(7, "arn:a", "DISABLED"))  # handed over by the publisher
    catalog._on_record(stream_record(3, "arn:a", "ENABLED"))  # the tail catches up
    catalog._on_record(stream_record(5, "arn:b", "ENABLED"))  # another key, read after offset 7
    assert catalog.streams["arn:a"]["StreamStatus"] == "DISABLED"
    assert catalog.streams["arn:b"]["StreamStatus"] == "ENABLED"
    catalog._on_record(stream_record(7, "arn:a", "DISABLED"))  # the same record twice
    catalog._on_record(stream_record(9, "arn:a", "ENABLED"))
    assert catalog.streams["arn:a"]["StreamStatus"] == "ENABLED"


def test_a_topic_made_again_is_applied_from_its_new_offsets():
    """A memory broker restarted: the catalog topic starts again at offset 0 and the tail reads
    its records again; they must not be taken for older values."""
    catalog = StreamCatalog(kafka=None)
    catalog._on_tailed(stream_record(4, "arn:a", "ENABLED"))
    catalog._on_tailed(stream_record(0, "arn:a", "DISABLED"))  # the topic's first record, again
    assert catalog.streams["arn:a"]["StreamStatus"] == "DISABLED"
