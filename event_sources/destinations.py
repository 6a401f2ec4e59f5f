"""On-failure destinations of stream mappings: where a batch goes when its retries run out or its
records grow too old, as Lambda's invocation record (`requestContext`, `responseContext`, `version`,
`timestamp`, `DDBStreamBatchInfo` or `KinesisBatchInfo`; S3 objects also carry the `payload`).

- an S3 bucket ARN (`arn:aws:s3:::bucket`): a file under `<data-dir>/s3/<bucket>/`, named by the key
  Lambda uses (`aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>`);
- a Kinesis stream of ours: one record, partition key the mapping's UUID (our extension);
- a Kafka topic `arn:aws:kafka:<region>:<account>:topic/<name>`: one record, key the mapping's UUID,
  the topic made if missing (our extension)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid as uuids
from datetime import UTC, datetime
from pathlib import Path

import orjson

from connector.context import ConnectorContext
from connector.ids import hash_key, parse_kinesis_stream_arn
from connector.kinesis_shards import route
from kafka_io.client import Kafka


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def failure_record(mapping: dict, shard_id: str, records: list[dict], arrivals: list[int], condition: str,
                   outcome, attempts: int) -> dict:
    """Lambda's record of a failed batch (its shape for stream sources)."""
    kinesis = ":kinesis:" in mapping["EventSourceArn"]
    info_name = "KinesisBatchInfo" if kinesis else "DDBStreamBatchInfo"
    sequences = [r["kinesis"]["sequenceNumber"] if kinesis else r["dynamodb"]["SequenceNumber"] for r in records]
    response: dict = {"statusCode": 200, "executedVersion": "$LATEST"}
    if outcome is not None and outcome.function_error:
        response["functionError"] = outcome.function_error
    return {
        "requestContext": {"requestId": outcome.request_id if outcome is not None else str(uuids.uuid4()),
                           "functionArn": mapping["FunctionArn"], "condition": condition,
                           "approximateInvokeCount": attempts},
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_ms(int(time.time() * 1000)),
        info_name: {"shardId": shard_id, "startSequenceNumber": sequences[0], "endSequenceNumber": sequences[-1],
                    "approximateArrivalOfFirstRecord": iso_ms(arrivals[0]),
                    "approximateArrivalOfLastRecord": iso_ms(arrivals[-1]), "batchSize": len(records),
                    "streamArn": mapping["EventSourceArn"]},
    }


class Destinations:
    def __init__(self, data_dir: Path, kafka: Kafka, connector: ConnectorContext):
        self.data_dir = data_dir
        self.kafka = kafka
        self.connector = connector

    def send(self, destination: str, mapping: dict, shard_id: str, failure: dict, payload: dict) -> None:
        """Deliver `failure` (blocking: from a poller's thread)."""
        if destination.startswith("arn:aws:s3:") or ":s3:::" in destination:
            self.to_bucket(destination.rpartition(":")[2], mapping["UUID"], shard_id, {**failure, "payload": payload})
        elif ":kinesis:" in destination:
            self.to_kinesis(parse_kinesis_stream_arn(destination)[2], mapping["UUID"], orjson.dumps(failure))
        else:
            self.to_topic(destination.rpartition(":topic/")[2], mapping["UUID"], orjson.dumps(failure))

    def to_bucket(self, bucket: str, uuid: str, shard_id: str, document: dict) -> Path:
        now = datetime.now(UTC)
        key = f"aws/lambda/{uuid}/{shard_id}/{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuids.uuid4()}"
        path = self.data_dir / "s3" / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(orjson.dumps(document))
        os.replace(partial, path)  # a reader never sees half an object
        return path

    def to_kinesis(self, stream_name: str, uuid: str, data: bytes) -> None:
        stream = self.connector.kinesis.lookup(stream_name)
        if stream is None:
            raise LookupError(f"Stream not found: {stream_name}")
        topic, partition, _ = route(stream, hash_key(uuid))
        asyncio.run(self._produce(topic, partition, uuid, data))

    def to_topic(self, topic: str, uuid: str, data: bytes) -> None:
        self.kafka.ensure_topic(topic, 1, {})
        asyncio.run(self._produce(topic, 0, uuid, data))

    async def _produce(self, topic: str, partition: int, key: str, data: bytes) -> None:
        [offset] = await self.connector.producer.send(topic, [(partition, key.encode(), data, None)])
        if not isinstance(offset, int):
            raise OSError(f"the failure record could not be written: {offset}")
