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
import binascii
import re
from datetime import datetime

import orjson

from connector.context import ConnectorContext
from connector.errors import Kinesis
from connector.ids import InvalidIdentifier, equal_slices, kinesis_stream_arn, parse_kinesis_stream_arn, sign, unsign
from connector.kinesis_shards import Shard, new_generation, now_ms, open_shards, retention_ms, visible_shards
from table_api.kafka import MAX_MESSAGE_BYTES
from table_api.protocol import Service, validate


class KinesisService(Service):
    """Kinesis's `Service`, with a fast check for PutRecords: walking up to 500 entries through the
    generic validator costs ~4 us each, more than routing them. The fast check accepts only a
    request the generic validator would accept, and hands each entry's Data over already decoded
    (bytes); anything else goes the generic way, so every error keeps the model's wording."""

    def request(self, name: str, body: bytes) -> tuple:
        if name == "PutRecords" and name in self.handlers:
            req = self.well_formed_put_records(body)
            if req is not None:
                return self.handlers[name], req
        return super().request(name, body)

    def well_formed_put_records(self, body: bytes) -> dict | None:
        try:
            req = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        records = req.get("Records") if isinstance(req, dict) else None
        if not isinstance(records, list) or not 1 <= len(records) <= 500:
            return None
        shapes, members = self.model["shapes"], self.model["shapes"]["PutRecordsInput"]["members"]
        for member, value in req.items():
            if (member != "Records" and member in members and value is not None
                    and validate(shapes, members[member]["shape"], value, member)):
                return None
        hash_key = re.compile(shapes["HashKey"]["pattern"], re.DOTALL)
        max_data, decoded = shapes["Data"]["max"], []
        for entry in records:
            if type(entry) is not dict:
                return None
            data, key, explicit = entry.get("Data"), entry.get("PartitionKey"), entry.get("ExplicitHashKey")
            if type(data) is not str or type(key) is not str or not 1 <= len(key) <= 256:
                return None
            if explicit is not None and (type(explicit) is not str or not hash_key.fullmatch(explicit)):
                return None
            try:
                decoded.append(binascii.a2b_base64(data, strict_mode=True))  # = b64decode(validate=True)
            except (binascii.Error, ValueError):
                return None
            if len(decoded[-1]) > max_data:
                return None
        for entry, data in zip(records, decoded):
            entry["Data"] = data
        return req


SERVICE = KinesisService("kinesis", "2013-12-02", Kinesis)
E = Kinesis
ON_DEMAND_SHARDS = 4  # an on-demand stream starts with 4 shards, as on AWS
ON_DEMAND_STREAM_LIMIT = 50
TOKEN_TTL_MS = 300_000  # ListStreams / ListShards NextTokens, as on AWS
MAX_LIST_STREAMS = 100
MAX_LIST_SHARDS = 1000


# -- finding streams ---------------------------------------------------------------------------------


def stream_name(ctx: ConnectorContext, req: dict) -> str:
    """The stream a request names, by StreamName or StreamARN (or both, which must agree)."""
    name, arn = req.get("StreamName"), req.get("StreamARN")
    if arn is None:
        if name is None:
            raise E.InvalidArgumentException("Either StreamName or StreamARN should be provided.")
        return name
    try:
        region, account, from_arn = parse_kinesis_stream_arn(arn)
    except InvalidIdentifier:
        raise E.InvalidArgumentException(f"StreamARN {arn} is not a valid Kinesis stream ARN.") from None
    if name is not None and name != from_arn:
        raise E.InvalidArgumentException(f"StreamName {name} and StreamARN {arn} name different streams.")
    if (region, account) != (ctx.settings.region, ctx.settings.account_id):
        raise not_found(ctx, from_arn)
    return from_arn


def not_found(ctx: ConnectorContext, name: str) -> Exception:
    return E.ResourceNotFoundException(f"Stream {name} under account {ctx.settings.account_id} not found.")


async def find_stream(ctx: ConnectorContext, req: dict) -> dict:
    return await stream_named(ctx, stream_name(ctx, req))


async def stream_named(ctx: ConnectorContext, name: str) -> dict:
    stream = ctx.kinesis.get(name) or await asyncio.to_thread(ctx.kinesis.lookup, name)
    if stream is None:
        raise not_found(ctx, name)
    return stream


def require_active(ctx: ConnectorContext, stream: dict) -> None:
    if stream["StreamStatus"] != "ACTIVE":
        raise E.ResourceInUseException(
            f"Stream {stream['StreamName']} under account {ctx.settings.account_id} not ACTIVE, "
            f"instead in state {stream['StreamStatus']}"
        )


def topic_config(stream: dict) -> dict[str, str]:
    record_bytes = stream["MaxRecordSizeInKiB"] * 1024
    return {"retention.ms": str(retention_ms(stream)), "max.message.bytes": str(max(MAX_MESSAGE_BYTES, record_bytes + 65536))}


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
    async with ctx.lock(name):
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
    ctx.spawn(finish_create(ctx, stream))
    return {}


async def finish_create(ctx: ConnectorContext, created: dict) -> None:
    generation = created["Generations"][0]
    await asyncio.to_thread(ctx.shards.kafka.ensure_topic, generation["Topic"], generation["Shards"], topic_config(created))
    async with ctx.lock(created["StreamName"]):
        stream = ctx.kinesis.get(created["StreamName"])
        if stream is not None and stream["StreamStatus"] == "CREATING" and stream["Generations"][0]["Topic"] == generation["Topic"]:
            await ctx.kinesis.publish({**stream, "StreamStatus": "ACTIVE"})


def check_shard_limit(ctx: ConnectorContext, more: int) -> None:
    current = sum(len(open_shards(s)) for s in ctx.kinesis.live())
    limit = ctx.settings.kinesis_shard_limit
    if current + more > limit:
        raise E.LimitExceededException(
            f"This request would exceed the shard limit for the account {ctx.settings.account_id} in "
            f"{ctx.settings.region}. Current shard count for the account: {current}. Limit: {limit}. Number of "
            f"additional shards that would have resulted from this request: {more}. Refer to the AWS Service "
            "Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current "
            "limits and how to request higher limits."
        )


@SERVICE.operation("DeleteStream")
async def delete_stream(ctx: ConnectorContext, req: dict) -> dict:
    # EnforceConsumerDeletion: there are no enhanced fan-out consumers here to enforce it on.
    name = stream_name(ctx, req)
    async with ctx.lock(name):
        stream = await stream_named(ctx, name)
        if stream["StreamStatus"] == "DELETING":
            return {}
        stream = {**stream, "StreamStatus": "DELETING"}
        await ctx.kinesis.publish(stream)
    ctx.spawn(finish_delete(ctx, stream))
    return {}


async def finish_delete(ctx: ConnectorContext, deleting: dict) -> None:
    # Every instance closes its readers of these topics when it sees DELETING: give them time.
    await asyncio.sleep(ctx.settings.kinesis_grace_s)
    topics = [g["Topic"] for g in deleting["Generations"]]
    await asyncio.to_thread(ctx.shards.kafka.delete_topics, topics)
    name = deleting["StreamName"]
    async with ctx.lock(name):
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


# -- shared request pieces --------------------------------------------------------------------------


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


def timestamp_ms(value: float | str) -> int:
    """A JSON timestamp (epoch seconds, or an ISO 8601 string) in epoch milliseconds."""
    if isinstance(value, str):
        try:
            return round(float(value) * 1000)
        except ValueError:
            pass
        try:
            return round(datetime.fromisoformat(value).timestamp() * 1000)
        except ValueError:
            raise E.InvalidArgumentException(f"Invalid timestamp: {value}") from None
    return round(value * 1000)


TAG_CHARACTERS = re.compile(r"[^\u00C0-\u1FFF\u2C00-\uD7FFA-Za-z0-9_./\-=+ @%]")


def check_tags(ctx: ConnectorContext, name: str, tags: dict[str, str] | list[str], verb: str) -> None:
    """Kinesis's tag character rules; `verb` is "add tags to" or "remove tags from"."""
    texts = [*tags, *tags.values()] if isinstance(tags, dict) else list(tags)
    if any(TAG_CHARACTERS.search(t) for t in texts):
        raise E.InvalidArgumentException(
            "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, "
            "_ . / = + - % @."
        )
    if any("%" in t for t in texts):
        raise E.InvalidArgumentException(
            f"Failed to {verb} stream {name} under account {ctx.settings.account_id} because some tags contained "
            "illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
        )
