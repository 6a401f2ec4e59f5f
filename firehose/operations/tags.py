"""TagDeliveryStream, UntagDeliveryStream, ListTagsForDeliveryStream: at most 50 tags per stream."""

from __future__ import annotations

from firehose.context import FirehoseContext
from firehose.errors import Firehose
from firehose.service import SERVICE, find_stream

MAX_TAGS = 50
DEFAULT_LIST_LIMIT = 50


def check_tags(tags: list[dict]) -> None:
    keys = [t["Key"] for t in tags]
    if len(set(keys)) != len(keys):
        raise Firehose.InvalidArgumentException("Duplicate tag keys are not allowed in one request.")
    if len(tags) > MAX_TAGS:
        raise Firehose.LimitExceededException(f"A Firehose stream can have at most {MAX_TAGS} tags.")


def require_active(ctx: FirehoseContext, stream: dict) -> None:
    if stream["DeliveryStreamStatus"] != "ACTIVE":
        raise Firehose.ResourceInUseException(
            f"Firehose stream {stream['DeliveryStreamName']} under account {ctx.settings.account_id} is not ACTIVE: "
            f"{stream['DeliveryStreamStatus']}.")


@SERVICE.operation("TagDeliveryStream")
async def tag_delivery_stream(ctx: FirehoseContext, req: dict) -> dict:
    name = req["DeliveryStreamName"]
    check_tags(req["Tags"])
    async with ctx.work.lock(name):
        stream = await find_stream(ctx, name)
        require_active(ctx, stream)
        merged = {t["Key"]: t.get("Value", "") for t in stream["Tags"]}
        merged.update({t["Key"]: t.get("Value", "") for t in req["Tags"]})
        if len(merged) > MAX_TAGS:
            raise Firehose.LimitExceededException(
                f"Adding these tags would give Firehose stream {name} {len(merged)} tags; the limit is {MAX_TAGS}.")
        await ctx.catalog.publish(name, {**stream, "Tags": [{"Key": k, "Value": v} for k, v in merged.items()]})
    return {}


@SERVICE.operation("UntagDeliveryStream")
async def untag_delivery_stream(ctx: FirehoseContext, req: dict) -> dict:
    name, keys = req["DeliveryStreamName"], set(req["TagKeys"])
    async with ctx.work.lock(name):
        stream = await find_stream(ctx, name)
        require_active(ctx, stream)
        await ctx.catalog.publish(name, {**stream, "Tags": [t for t in stream["Tags"] if t["Key"] not in keys]})
    return {}


@SERVICE.operation("ListTagsForDeliveryStream")
async def list_tags_for_delivery_stream(ctx: FirehoseContext, req: dict) -> dict:
    stream = await find_stream(ctx, req["DeliveryStreamName"])
    after, limit = req.get("ExclusiveStartTagKey"), req.get("Limit", DEFAULT_LIST_LIMIT)
    tags = sorted((t for t in stream["Tags"] if after is None or t["Key"] > after), key=lambda t: t["Key"])
    return {"Tags": [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags[:limit]],
            "HasMoreTags": len(tags) > limit}
