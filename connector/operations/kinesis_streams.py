"""The Kinesis Data Streams API over Kafka, stream operations: CreateStream, DeleteStream,
DescribeStream, DescribeStreamSummary, ListStreams, ListShards, DescribeLimits.
(Records: kinesis_records.py; retention, tags and resharding: kinesis_admin.py.)

A stream is one Kafka topic per topic generation (connector/kinesis_shards.py), its metadata one
record in the compacted catalog topic (connector/kinesis_catalog.py). State changes that take
Kafka work run in the background, as on AWS: CreateStream answers with the stream CREATING and
it turns ACTIVE once its topic exists; DeleteStream answers with it DELETING and it is gone once
its topics are.
"""

from __future__ import annotations

import asyncio

from connector.context import ConnectorContext
from connector.ids import InvalidIdentifier, equal_slices, kinesis_stream_arn, sign, unsign
from connector.kinesis_shards import (
    Shard,
    new_generation,
    now_ms,
    open_shards,
    retention_ms,
    topic_config,
    visible_shards,
)
from connector.operations.kinesis_service import (
    SERVICE,
    E,
    check_shard_limit,
    check_tags,
    find_stream,
    not_found,
    stream_name,
    stream_named,
    timestamp_ms,
)

ON_DEMAND_SHARDS = 4  # an on-demand stream starts with 4 shards, as on AWS
ON_DEMAND_STREAM_LIMIT = 50
TOKEN_TTL_MS = 300_000  # ListStreams / ListShards NextTokens, as on AWS
MAX_LIST_STREAMS = 100
MAX_LIST_SHARDS = 1000


# -- CreateStream, DeleteStream --------------------------------------------------------------------


@SERVICE.operation("CreateStream")
async def create_stream(ctx: ConnectorContext, req: dict) -> dict:
    name = req["StreamName"]
    mode = req.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
    count = req.get("ShardCount")
    if count is None:
        if mode == "PROVISIONED":
            raise E.InvalidArgumentException("ShardCount is required for a stream in PROVISIONED mode.")
        count = ON_DEMAND_SHARDS
    tags = req.get("Tags", {})
    check_tags(ctx, name, tags, "add tags to")
    async with ctx.work.lock(name):
        await asyncio.to_thread(ctx.kinesis.sync)
        if ctx.kinesis.get(name) is not None:
            raise E.ResourceInUseException(f"Stream {name} under account {ctx.settings.account_id} already exists.")
        check_shard_limit(ctx, count)
        if mode == "ON_DEMAND":
            on_demand = sum(s["StreamModeDetails"]["StreamMode"] == "ON_DEMAND" for s in ctx.kinesis.live())
            if on_demand >= ON_DEMAND_STREAM_LIMIT:
                raise E.LimitExceededException(
                    f"This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams for the "
                    f"account {ctx.settings.account_id} in {ctx.settings.region}."
                )
        now = now_ms()
        stream = {
            "StreamName": name,
            "StreamARN": kinesis_stream_arn(ctx.settings.region, ctx.settings.account_id, name),
            "StreamStatus": "CREATING",
            "StreamModeDetails": {"StreamMode": mode},
            "StreamCreationTimestamp": now / 1000,
            "RetentionPeriodHours": 24,
            "MaxRecordSizeInKiB": req.get("MaxRecordSizeInKiB", 1024),
            "Tags": tags,
            "Generations": [new_generation(name, ctx.kinesis.next_generation(name), 0, equal_slices(count), now)],
            "ShardCountUpdates": [],
        }
        await ctx.kinesis.publish(stream)
    ctx.work.spawn(finish_create(ctx, stream))
    return {}


async def finish_create(ctx: ConnectorContext, created: dict) -> None:
    generation = created["Generations"][0]
    await asyncio.to_thread(ctx.shards.kafka.ensure_topic, generation["Topic"], generation["Shards"], topic_config(created))
    async with ctx.work.lock(created["StreamName"]):
        stream = ctx.kinesis.get(created["StreamName"])
        if stream is not None and stream["StreamStatus"] == "CREATING" and stream["Generations"][0]["Topic"] == generation["Topic"]:
            await ctx.kinesis.publish({**stream, "StreamStatus": "ACTIVE"})


@SERVICE.operation("DeleteStream")
async def delete_stream(ctx: ConnectorContext, req: dict) -> dict:
    # EnforceConsumerDeletion: there are no enhanced fan-out consumers here to enforce it on.
    name = stream_name(ctx, req)
    async with ctx.work.lock(name):
        stream = await stream_named(ctx, name)
        if stream["StreamStatus"] == "DELETING":
            return {}
        stream = {**stream, "StreamStatus": "DELETING"}
        await ctx.kinesis.publish(stream)
    ctx.work.spawn(finish_delete(ctx, stream))
    return {}


async def finish_delete(ctx: ConnectorContext, deleting: dict) -> None:
    # Every instance closes its readers of these topics when it sees DELETING: give them time.
    await asyncio.sleep(ctx.settings.kinesis_grace_s)
    topics = [g["Topic"] for g in deleting["Generations"]]
    await asyncio.to_thread(ctx.shards.kafka.delete_topics, topics)
    name = deleting["StreamName"]
    async with ctx.work.lock(name):
        stream = ctx.kinesis.get(name)
        if stream is not None and stream["StreamStatus"] == "DELETING":
            next_generation = stream["Generations"][-1]["Number"] + 1
            await ctx.kinesis.publish({"StreamName": name, "Deleted": True, "NextGeneration": next_generation})


# -- DescribeStream, DescribeStreamSummary, ListStreams, ListShards, DescribeLimits ----------------


def stream_shards(stream: dict) -> list[Shard]:
    """The shards a description lists: none while the stream is being created."""
    return [] if stream["StreamStatus"] == "CREATING" else visible_shards(stream, now_ms())


@SERVICE.operation("DescribeStream")
async def describe_stream(ctx: ConnectorContext, req: dict) -> dict:
    stream = await find_stream(ctx, req)
    shards = stream_shards(stream)
    start = req.get("ExclusiveStartShardId")
    if start is not None:
        shards = [s for s in shards if s.id > start]
    limit = req.get("Limit", 100)
    description = {
        "StreamName": stream["StreamName"],
        "StreamARN": stream["StreamARN"],
        "StreamStatus": stream["StreamStatus"],
        "StreamModeDetails": stream["StreamModeDetails"],
        "Shards": [s.describe() for s in shards[:limit]],
        "HasMoreShards": len(shards) > limit,
        "RetentionPeriodHours": stream["RetentionPeriodHours"],
        "StreamCreationTimestamp": stream["StreamCreationTimestamp"],
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
        "EncryptionType": "NONE",
    }
    return {"StreamDescription": description}


@SERVICE.operation("DescribeStreamSummary")
async def describe_stream_summary(ctx: ConnectorContext, req: dict) -> dict:
    stream = await find_stream(ctx, req)
    summary = {
        "StreamName": stream["StreamName"],
        "StreamARN": stream["StreamARN"],
        "StreamStatus": stream["StreamStatus"],
        "StreamModeDetails": stream["StreamModeDetails"],
        "RetentionPeriodHours": stream["RetentionPeriodHours"],
        "StreamCreationTimestamp": stream["StreamCreationTimestamp"],
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
        "EncryptionType": "NONE",
        "OpenShardCount": 0 if stream["StreamStatus"] == "CREATING" else len(open_shards(stream)),
        "ConsumerCount": 0,
        "MaxRecordSizeInKiB": stream["MaxRecordSizeInKiB"],
    }
    return {"StreamDescriptionSummary": summary}


@SERVICE.operation("ListStreams")
async def list_streams(ctx: ConnectorContext, req: dict) -> dict:
    after = req.get("ExclusiveStartStreamName")
    if "NextToken" in req:
        if after is not None:
            raise E.InvalidArgumentException("NextToken and ExclusiveStartStreamName cannot be provided together.")
        [after] = open_token(ctx, req["NextToken"], 1)
    await asyncio.to_thread(ctx.kinesis.sync)
    streams = [s for s in ctx.kinesis.live() if after is None or s["StreamName"] > after]
    page = streams[:min(req.get("Limit", MAX_LIST_STREAMS), MAX_LIST_STREAMS)]
    result = {
        "StreamNames": [s["StreamName"] for s in page],
        "HasMoreStreams": len(streams) > len(page),
        "StreamSummaries": [{k: s[k] for k in ("StreamName", "StreamARN", "StreamStatus", "StreamModeDetails",
                                                "StreamCreationTimestamp")} for s in page],
    }
    if result["HasMoreStreams"]:
        result["NextToken"] = make_token(ctx, [page[-1]["StreamName"]])
    return result


@SERVICE.operation("ListShards")
async def list_shards(ctx: ConnectorContext, req: dict) -> dict:
    named = "StreamName" in req or "StreamARN" in req
    if "NextToken" in req:
        if named:
            raise E.InvalidArgumentException("NextToken and StreamName cannot be provided together.")
        if "ExclusiveStartShardId" in req or "ShardFilter" in req:
            raise E.InvalidArgumentException(
                "NextToken cannot be provided together with ExclusiveStartShardId or ShardFilter.")
        name, after, shard_filter, created = open_token(ctx, req["NextToken"], 4)
    elif not named:
        raise E.InvalidArgumentException("Either NextToken or StreamName should be provided.")
    else:
        name, after, shard_filter = stream_name(ctx, req), req.get("ExclusiveStartShardId"), req.get("ShardFilter")
        created = req.get("StreamCreationTimestamp")
    stream = await stream_named(ctx, name)
    if created is not None and abs(timestamp_ms(created) - stream["StreamCreationTimestamp"] * 1000) >= 1000:
        raise not_found(ctx, name)
    shards = [s for s in filter_shards(stream, stream_shards(stream), shard_filter) if after is None or s.id > after]
    page = shards[:min(req.get("MaxResults", MAX_LIST_SHARDS), MAX_LIST_SHARDS)]
    result: dict = {"Shards": [s.describe() for s in page]}
    if len(shards) > len(page):
        result["NextToken"] = make_token(ctx, [name, page[-1].id, shard_filter, created])
    return result


def filter_shards(stream: dict, shards: list[Shard], shard_filter: dict | None) -> list[Shard]:
    """ListShards' ShardFilter: which shards were open when."""
    if shard_filter is None:
        return shards
    kind = shard_filter["Type"]
    created_ms = int(stream["StreamCreationTimestamp"] * 1000)
    if kind == "AFTER_SHARD_ID":
        if "ShardId" not in shard_filter:
            raise E.InvalidArgumentException("ShardId is required for a ShardFilter of type AFTER_SHARD_ID.")
        return [s for s in shards if s.id > shard_filter["ShardId"]]
    if kind == "FROM_TRIM_HORIZON":
        return shards
    if kind == "AT_LATEST":
        return [s for s in shards if s.closed_ms is None]
    if kind == "AT_TRIM_HORIZON":
        return [s for s in shards if open_at(s, max(now_ms() - retention_ms(stream), created_ms))]
    if "Timestamp" not in shard_filter:
        raise E.InvalidArgumentException(f"Timestamp is required for a ShardFilter of type {kind}.")
    moment = max(timestamp_ms(shard_filter["Timestamp"]), created_ms)
    if kind == "AT_TIMESTAMP":
        return [s for s in shards if open_at(s, moment)]
    return [s for s in shards if s.closed_ms is None or s.closed_ms >= moment]  # FROM_TIMESTAMP


def open_at(shard: Shard, moment_ms: int) -> bool:
    return shard.opened_ms <= moment_ms and (shard.closed_ms is None or shard.closed_ms > moment_ms)


@SERVICE.operation("DescribeLimits")
async def describe_limits(ctx: ConnectorContext, req: dict) -> dict:
    await asyncio.to_thread(ctx.kinesis.sync)
    streams = ctx.kinesis.live()
    return {
        "ShardLimit": ctx.settings.kinesis_shard_limit,
        "OpenShardCount": sum(len(open_shards(s)) for s in streams),
        "OnDemandStreamCount": sum(s["StreamModeDetails"]["StreamMode"] == "ON_DEMAND" for s in streams),
        "OnDemandStreamCountLimit": ON_DEMAND_STREAM_LIMIT,
    }


# -- pagination tokens --------------------------------------------------------------------------


def make_token(ctx: ConnectorContext, payload: list) -> str:
    return sign(ctx.settings.iterator_secret, [*payload, now_ms()])


def open_token(ctx: ConnectorContext, token: str, fields: int) -> list:
    try:
        payload = unsign(ctx.settings.iterator_secret, token)
    except InvalidIdentifier:
        raise E.InvalidArgumentException("Invalid NextToken.") from None
    if len(payload) != fields + 1:
        raise E.InvalidArgumentException("Invalid NextToken.")
    if now_ms() - payload[-1] > TOKEN_TTL_MS:
        raise E.ExpiredNextTokenException("The NextToken has expired: it is valid for 300 seconds.")
    return payload[:-1]
