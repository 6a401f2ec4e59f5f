"""Identifiers of delivery streams: ARNs, topic and checkpoint group names, record ids."""

from __future__ import annotations

DESTINATION_ID = "destinationId-000000000001"  # Firehose has one destination per stream


def delivery_stream_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:firehose:{region}:{account_id}:deliverystream/{name}"


def direct_put_topic(name: str, created_ms: int) -> str:
    """The topic a DirectPut stream's records go to: one per incarnation of the name, so a stream
    created again never reads the records of one deleted before."""
    return f"firehose.{name}.{created_ms}"


def checkpoint_group(name: str, created_ms: int) -> str:
    """The Kafka consumer group whose committed offsets are the delivery's checkpoints."""
    return f"cdc-bridge-firehose.{name}.{created_ms}"


def record_id(partition: int, offset: int) -> str:
    """A PutRecord RecordId: 56 digits, as Firehose's, naming the record's Kafka position."""
    return f"49{partition:014d}{offset:040d}"
