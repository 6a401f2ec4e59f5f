"""The Kinesis Data Streams API over Kafka, stream settings: IncreaseStreamRetentionPeriod,
DecreaseStreamRetentionPeriod, AddTagsToStream, RemoveTagsFromStream, ListTagsForStream,
UpdateShardCount (SplitShard and MergeShards are refused with a pointer to it).

Retention is the topics' `retention.ms` (so a real Kafka frees the space) and the exact trim on
read (records older than the retention are skipped). UpdateShardCount opens a new topic
generation (connector/kinesis_shards.py); after a grace period, so that every instance routes to
the new topic, the old shards close at the end offsets their partitions have.
"""

from __future__ import annotations

import asyncio

from connector.context import ConnectorContext
from connector.ids import ending_hash_keys, rescaled_slices
from connector.kinesis_shards import HOUR_MS, new_generation, now_ms, open_shards, starts_of, topic_config
from connector.operations.kinesis_service import (
    SERVICE,
    E,
    check_shard_limit,
    check_tags,
    find_stream,
    require_active,
    stream_name,
    stream_named,
)

MAX_RETENTION_HOURS = 8760
MAX_TAGS = 50
MAX_UPDATES_PER_DAY = 10
DAY_MS = 24 * HOUR_MS


# -- retention --------------------------------------------------------------------------------------


@SERVICE.operation("IncreaseStreamRetentionPeriod")
async def increase_retention(ctx: ConnectorContext, req: dict) -> dict:
    await change_retention(ctx, req, increase=True)
    return {}


@SERVICE.operation("DecreaseStreamRetentionPeriod")
async def decrease_retention(ctx: ConnectorContext, req: dict) -> dict:
    await change_retention(ctx, req, increase=False)
    return {}


async def change_retention(ctx: ConnectorContext, req: dict, increase: bool) -> None:
    hours, name = req["RetentionPeriodHours"], stream_name(ctx, req)
    minimum = ctx.settings.kinesis_min_retention_hours
    if hours < minimum:
        raise E.InvalidArgumentException(
            f"Minimum allowed retention period is {minimum} hours. Requested retention period ({hours} hours) is too short."
        )
    if hours > MAX_RETENTION_HOURS:
        raise E.InvalidArgumentException(
            f"Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period "
            f"({hours} hours) is too long."
        )
    async with ctx.work.lock(name):
        stream = await stream_named(ctx, name)
        current = stream["RetentionPeriodHours"]
        if increase and hours < current:
            raise E.InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {name} can not be shorter than existing "
                f"retention period ({current} hours). Use DecreaseRetentionPeriod API."
            )
        if not increase and hours > current:
            raise E.InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {name} can not be longer than existing "
                f"retention period ({current} hours). Use IncreaseRetentionPeriod API."
            )
        require_active(ctx, stream)
        stream = {**stream, "RetentionPeriodHours": hours}
        config = {"retention.ms": topic_config(stream)["retention.ms"]}
        for generation in stream["Generations"]:
            await asyncio.to_thread(ctx.shards.kafka.set_topic_config, generation["Topic"], config)
        await ctx.kinesis.publish(stream)


# -- tags ---------------------------------------------------------------------------------------------


@SERVICE.operation("AddTagsToStream")
async def add_tags(ctx: ConnectorContext, req: dict) -> dict:
    name, tags = stream_name(ctx, req), req["Tags"]
    check_tags(ctx, name, tags, "add tags to")
    async with ctx.work.lock(name):
        stream = await stream_named(ctx, name)
        merged = {**stream["Tags"], **tags}
        if len(merged) > MAX_TAGS:
            raise E.InvalidArgumentException(
                f"Failed to add tags to stream {name} under account {ctx.settings.account_id} because a given stream "
                f"cannot have more than {MAX_TAGS} tags associated with it."
            )
        await ctx.kinesis.publish({**stream, "Tags": merged})
    return {}


@SERVICE.operation("RemoveTagsFromStream")
async def remove_tags(ctx: ConnectorContext, req: dict) -> dict:
    name, keys = stream_name(ctx, req), req["TagKeys"]
    check_tags(ctx, name, keys, "remove tags from")
    async with ctx.work.lock(name):
        stream = await stream_named(ctx, name)
        await ctx.kinesis.publish({**stream, "Tags": {k: v for k, v in stream["Tags"].items() if k not in keys}})
    return {}


@SERVICE.operation("ListTagsForStream")
async def list_tags(ctx: ConnectorContext, req: dict) -> dict:
    stream = await find_stream(ctx, req)
    after = req.get("ExclusiveStartTagKey")
    keys = sorted(k for k in stream["Tags"] if after is None or k > after)
    limit = req.get("Limit", MAX_TAGS)
    return {"Tags": [{"Key": k, "Value": stream["Tags"][k]} for k in keys[:limit]], "HasMoreTags": len(keys) > limit}


# -- resharding ---------------------------------------------------------------------------------------


@SERVICE.operation("UpdateShardCount")
async def update_shard_count(ctx: ConnectorContext, req: dict) -> dict:
    name, target = stream_name(ctx, req), req["TargetShardCount"]
    async with ctx.work.lock(name):
        stream = await stream_named(ctx, name)
        require_active(ctx, stream)
        if stream["StreamModeDetails"]["StreamMode"] == "ON_DEMAND":
            raise E.ValidationException("UpdateShardCount is only supported for streams in PROVISIONED mode.")
        current = len(open_shards(stream))
        check_target(ctx, stream, current, target)
        if target != current:
            stream = await open_generation(ctx, stream, target)
    if target != current:
        ctx.work.spawn(close_generation(ctx, name, stream["Generations"][-2]["Number"]))
    return {"StreamName": name, "CurrentShardCount": current, "TargetShardCount": target, "StreamARN": stream["StreamARN"]}


def check_target(ctx: ConnectorContext, stream: dict, current: int, target: int) -> None:
    if target > 2 * current:
        raise E.InvalidArgumentException(
            "UpdateShardCount cannot scale up over double your current open shard count. "
            f"Current open shard count: {current} Target shard count: {target}"
        )
    if 2 * target < current:
        raise E.InvalidArgumentException(
            "UpdateShardCount cannot scale down below half your current open shard count. "
            f"Current open shard count: {current} Target shard count: {target}"
        )
    recent = [t for t in stream["ShardCountUpdates"] if t > now_ms() - DAY_MS]
    if len(recent) >= MAX_UPDATES_PER_DAY:
        raise E.LimitExceededException(
            f"UpdateShardCount cannot be run more than {MAX_UPDATES_PER_DAY} times in a rolling 24-hour period "
            f"on stream {stream['StreamName']} under account {ctx.settings.account_id}."
        )
    if target > current:
        check_shard_limit(ctx, target - current)
    starts = starts_of(stream["Generations"][-1])
    old_ranges = list(zip(starts, ending_hash_keys(starts)))
    new = rescaled_slices(target, starts)
    for start, end in zip(new, ending_hash_keys(new)):
        if sum(s <= end and start <= e for s, e in old_ranges) > 2:
            raise E.InvalidArgumentException(
                f"UpdateShardCount from {current} to {target} shards is not supported here: a new shard would take "
                "hash keys from more than two current shards, and a Kinesis shard has at most two parents. "
                "Supported: any increase up to double, and decreases where each new shard covers at most two "
                "current shards (for example, exactly half)."
            )


async def open_generation(ctx: ConnectorContext, stream: dict, target: int) -> dict:
    """Create the next generation's topic, then publish it as the generation records go to."""
    now, last = now_ms(), stream["Generations"][-1]
    generation = new_generation(stream["StreamName"], last["Number"] + 1, last["FirstShard"] + last["Shards"],
                                rescaled_slices(target, starts_of(last)), now)
    await asyncio.to_thread(ctx.shards.kafka.ensure_topic, generation["Topic"], target, topic_config(stream))
    stream = {
        **stream,
        "StreamStatus": "UPDATING",
        "Generations": [*stream["Generations"][:-1], {**last, "ClosedMs": now}, generation],
        "ShardCountUpdates": [t for t in stream["ShardCountUpdates"] if t > now - DAY_MS] + [now],
    }
    await ctx.kinesis.publish(stream)
    return stream


async def close_generation(ctx: ConnectorContext, name: str, number: int) -> None:
    """After the grace period, fix the ends of the replaced generation's shards; ACTIVE again."""
    await asyncio.sleep(ctx.settings.kinesis_grace_s)
    stream = ctx.kinesis.get(name)
    if stream is None:
        return
    [closing] = [g for g in stream["Generations"] if g["Number"] == number]
    offsets = ctx.shards.offsets
    ends = await asyncio.to_thread(lambda: [offsets.end(closing["Topic"], p) for p in range(closing["Shards"])])
    async with ctx.work.lock(name):
        stream = ctx.kinesis.get(name)
        if stream is None or stream["StreamStatus"] == "DELETING":
            return
        generations = [{**g, "Ends": ends} if g["Number"] == number else g for g in stream["Generations"]]
        await ctx.kinesis.publish({**stream, "StreamStatus": "ACTIVE", "Generations": generations})


@SERVICE.operation("SplitShard")
async def split_shard(ctx: ConnectorContext, req: dict) -> dict:
    await refuse_shard_surgery(ctx, req, "SplitShard")
    return {}


@SERVICE.operation("MergeShards")
async def merge_shards(ctx: ConnectorContext, req: dict) -> dict:
    await refuse_shard_surgery(ctx, req, "MergeShards")
    return {}


async def refuse_shard_surgery(ctx: ConnectorContext, req: dict, operation: str) -> None:
    stream = await find_stream(ctx, req)
    raise E.InvalidArgumentException(
        f"{operation} is not supported by this service: a stream's shards are the partitions of a Kafka topic and "
        f"cannot be split or merged one by one. Use UpdateShardCount (UNIFORM_SCALING) on stream "
        f"{stream['StreamName']} instead."
    )

