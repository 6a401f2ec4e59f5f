"""CreateDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams, DeleteDeliveryStream.

States as Firehose's: CREATING until the stream's topic exists (DirectPut) or its checkpoint sits at
the Kinesis source's LATEST position, then ACTIVE (or CREATING_FAILED); DELETING until its deliverer
has delivered its buffer and stopped and its topic is gone, then no more."""

from __future__ import annotations

import asyncio
import logging
import time

from contracts.kinesis_streams import is_live, stream_name_of_arn
from firehose import config
from firehose.context import FirehoseContext
from firehose.delivery import start_at_latest
from firehose.errors import Firehose
from firehose.operations.tags import check_tags
from firehose.service import SERVICE, find_stream

log = logging.getLogger("cdc_bridge.firehose")
DEFAULT_LIST_LIMIT = 10


@SERVICE.operation("CreateDeliveryStream")
async def create_delivery_stream(ctx: FirehoseContext, req: dict) -> dict:
    name = req["DeliveryStreamName"]
    async with ctx.work.lock(name):
        if ctx.catalog.get(name) is not None or await asyncio.to_thread(_known_after_sync, ctx, name):
            raise Firehose.ResourceInUseException(
                f"Firehose stream {name} under account {ctx.settings.account_id} already exists.")
        if len(ctx.catalog.values) >= ctx.settings.stream_limit:
            raise Firehose.LimitExceededException(
                f"You have already consumed your firehose quota of {ctx.settings.stream_limit} hoses. "
                f"Firehose names: {len(ctx.catalog.values)}.")
        check_tags(req.get("Tags") or [])
        source = req.get("KinesisStreamSourceConfiguration")
        if source and config.source_type(req) == "KinesisStreamAsSource":
            await check_source(ctx, source["KinesisStreamARN"])
        stream = config.new_stream(req, ctx.settings.region, ctx.settings.account_id, int(time.time() * 1000), source,
                                   ctx.settings.instance_id)
        await ctx.catalog.publish(name, stream)
    ctx.work.spawn(activate(ctx, stream))
    return {"DeliveryStreamARN": stream["DeliveryStreamARN"]}


def _known_after_sync(ctx: FirehoseContext, name: str) -> bool:
    ctx.catalog.sync()
    return ctx.catalog.get(name) is not None


async def check_source(ctx: FirehoseContext, arn: str) -> None:
    source_name = stream_name_of_arn(arn)
    prefix = f"arn:aws:kinesis:{ctx.settings.region}:{ctx.settings.account_id}:stream/"
    stream = ctx.sources.get(source_name or "")
    if stream is None and source_name:
        await asyncio.to_thread(ctx.sources.sync)
        stream = ctx.sources.get(source_name)
    if not arn.startswith(prefix) or not is_live(stream) or stream.get("StreamARN") != arn:
        raise Firehose.InvalidArgumentException(
            f"Stream {source_name or arn} under account {ctx.settings.account_id} not found.")


async def activate(ctx: FirehoseContext, stream: dict) -> None:
    """Make what the stream reads, then turn it ACTIVE (its deliverer starts on that change)."""
    try:
        if "Topic" in stream:
            await asyncio.to_thread(ctx.kafka.ensure_topic, stream["Topic"], 1, {})
        else:
            await asyncio.to_thread(start_at_latest, ctx.kafka, stream, ctx.sources.get)
        status = {"DeliveryStreamStatus": "ACTIVE"}
    except Exception as exc:  # noqa: BLE001 -- shown as Firehose shows a failed creation
        log.warning("delivery stream creation failed", extra={"stream": stream["DeliveryStreamName"],
                                                              "error": repr(exc)})
        status = {"DeliveryStreamStatus": "CREATING_FAILED",
                  "FailureDescription": {"Type": "UNKNOWN_ERROR", "Details": str(exc)}}
    name = stream["DeliveryStreamName"]
    async with ctx.work.lock(name):
        current = ctx.catalog.get(name)
        same = current is not None and current["Group"] == stream["Group"]
        if same and current["DeliveryStreamStatus"] == "CREATING":
            await ctx.catalog.publish(name, {**current, **status})


@SERVICE.operation("DescribeDeliveryStream")
async def describe_delivery_stream(ctx: FirehoseContext, req: dict) -> dict:
    stream = await find_stream(ctx, req["DeliveryStreamName"])
    description = config.describe(stream)
    if "FailureDescription" in stream:
        description["FailureDescription"] = stream["FailureDescription"]
    return {"DeliveryStreamDescription": description}


@SERVICE.operation("ListDeliveryStreams")
async def list_delivery_streams(ctx: FirehoseContext, req: dict) -> dict:
    kind, after = req.get("DeliveryStreamType"), req.get("ExclusiveStartDeliveryStreamName")
    limit = req.get("Limit", DEFAULT_LIST_LIMIT)
    names = [s["DeliveryStreamName"] for s in ctx.catalog.streams()
             if (kind is None or s["DeliveryStreamType"] == kind)
             and (after is None or s["DeliveryStreamName"] > after)]
    return {"DeliveryStreamNames": names[:limit], "HasMoreDeliveryStreams": len(names) > limit}


@SERVICE.operation("DeleteDeliveryStream")
async def delete_delivery_stream(ctx: FirehoseContext, req: dict) -> dict:
    name = req["DeliveryStreamName"]
    async with ctx.work.lock(name):
        stream = await find_stream(ctx, name)
        if stream["DeliveryStreamStatus"] == "CREATING":
            raise Firehose.ResourceInUseException(
                f"Firehose stream {name} under account {ctx.settings.account_id} is in CREATING state, "
                "it cannot be deleted.")
        if stream["DeliveryStreamStatus"] == "DELETING":
            return {}
        stream = {**stream, "DeliveryStreamStatus": "DELETING"}
        await ctx.catalog.publish(name, stream)
    ctx.work.spawn(finish_deleting(ctx, stream))
    return {}


async def finish_deleting(ctx: FirehoseContext, stream: dict) -> None:
    """The deliverer delivers its buffer and stops first; then the topic goes, then the metadata."""
    name = stream["DeliveryStreamName"]
    await asyncio.to_thread(ctx.deliveries.stop, name)
    if "Topic" in stream:
        await asyncio.to_thread(ctx.kafka.delete_topics, [stream["Topic"]])
    async with ctx.work.lock(name):
        current = ctx.catalog.get(name)
        if current is not None and current["Group"] == stream["Group"]:
            await ctx.catalog.publish(name, None)
