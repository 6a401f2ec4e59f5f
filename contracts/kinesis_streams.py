"""The Kinesis stream catalog as other parts read it (the connector writes it): the compacted topic,
one JSON value per stream name, and the members a reader may rely on: `StreamARN`, `StreamStatus`,
`Deleted` (a marker of a deleted name), `Generations[].Topic` (every topic that holds the stream's
records, oldest generation first; a record's value is the Kinesis data byte for byte)."""

from __future__ import annotations

CATALOG_TOPIC = "_cdc_bridge_kinesis_streams"


def stream_topics(stream: dict) -> list[str]:
    return [generation["Topic"] for generation in stream.get("Generations", ())]


def is_live(stream: dict | None) -> bool:
    return stream is not None and not stream.get("Deleted") and stream.get("StreamStatus") != "DELETING"


def stream_name_of_arn(arn: str) -> str | None:
    """`arn:aws:kinesis:<region>:<account>:stream/<name>` -> name (None: not a Kinesis stream ARN)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
        return None
    return parts[5].removeprefix("stream/") or None
