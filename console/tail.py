"""The live tail: a table's stream read through the DynamoDB Streams API of this very port (the
connector's reading path, its iterators and trims), every shard at once, pushed to the page as
Server-Sent Events. The calls carry the page's request, so the gate checks them as the signed-in
user's own (dynamodb:DescribeStream, GetShardIterator, GetRecords on the stream's ARN)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson

STREAMS_TARGET = "DynamoDBStreams_20120810."
IDLE_POLL_S = 0.2  # after an empty page; GetRecords itself waits for the shard's next write first
HEARTBEAT_S = 15.0  # a comment line keeps proxies from closing a quiet stream
PAGE_LIMIT = 1000


class ApiError(Exception):
    def __init__(self, body: dict):
        super().__init__(body.get("message", ""))
        self.body = body


async def call(aws, scope: dict, operation: str, request: dict) -> dict:
    status, _, payload = await aws.answer(STREAMS_TARGET + operation, orjson.dumps(request), scope)
    body = orjson.loads(payload)
    if status != 200:
        raise ApiError({"__type": body.get("__type", "").rpartition("#")[2], "message": body.get("message", "")})
    return body


def sse(event: str, data) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def shards_of(aws, scope: dict, arn: str) -> list[dict]:
    shards, request = [], {"StreamArn": arn}
    while True:
        description = (await call(aws, scope, "DescribeStream", request))["StreamDescription"]
        shards += description["Shards"]
        if "LastEvaluatedShardId" not in description:
            return shards
        request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]


async def iterator_of(aws, scope: dict, arn: str, shard_id: str, start: str) -> str:
    request = {"StreamArn": arn, "ShardId": shard_id, "ShardIteratorType": start}
    return (await call(aws, scope, "GetShardIterator", request))["ShardIterator"]


async def follow_shard(aws, scope: dict, shard_id: str, iterator: str, out: asyncio.Queue) -> None:
    """Every record of one shard from `iterator` on, into `out`."""
    while iterator:
        page = await call(aws, scope, "GetRecords", {"ShardIterator": iterator, "Limit": PAGE_LIMIT})
        for record in page["Records"]:
            await out.put(("record", {"shardId": shard_id, **record}))
        iterator = page.get("NextShardIterator")
        if not page["Records"]:
            await asyncio.sleep(IDLE_POLL_S)
    await out.put(("shard-closed", {"shardId": shard_id}))


async def guarded(task_coro, out: asyncio.Queue) -> None:
    try:
        await task_coro
    except ApiError as exc:
        await out.put(("api-error", exc.body))


async def tail(aws, scope: dict, arn: str, start: str) -> AsyncIterator[bytes]:
    """The stream `arn` from `start` (TRIM_HORIZON or LATEST): first its shards, once every shard's
    iterator is taken (a write after that is in the tail), then each record as it comes."""
    try:
        shards = await shards_of(aws, scope, arn)
        iterators = await asyncio.gather(*(iterator_of(aws, scope, arn, s["ShardId"], start) for s in shards))
    except ApiError as exc:
        yield sse("api-error", exc.body)
        return
    yield sse("shards", [{"ShardId": s["ShardId"], "SequenceNumberRange": s.get("SequenceNumberRange", {})}
                         for s in shards])
    out: asyncio.Queue = asyncio.Queue(maxsize=1000)
    tasks = [asyncio.create_task(guarded(follow_shard(aws, scope, s["ShardId"], iterator, out), out))
             for s, iterator in zip(shards, iterators, strict=True)]
    try:
        while True:
            try:
                event, data = await asyncio.wait_for(out.get(), HEARTBEAT_S)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield sse(event, data)
            if event == "api-error":
                return
    finally:
        for task in tasks:
            task.cancel()
