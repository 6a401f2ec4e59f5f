"""The Kinesis service: its `Service` (with a fast path for PutRecords), its errors, and what
every Kinesis operation module shares: finding the stream a request names, the account's shard
limit, timestamps and tag rules. kinesis_streams.py (lifecycle and listing), kinesis_admin.py
(retention, tags, resharding) and kinesis_records.py (records) register on SERVICE."""

from __future__ import annotations

import asyncio
import binascii
import re

import orjson

from aws_json.protocol import Service, validate
from connector import ids
from connector.context import ConnectorContext
from connector.errors import Kinesis
from connector.ids import InvalidIdentifier, parse_kinesis_stream_arn
from connector.kinesis_shards import open_shards


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


# -- request values ------------------------------------------------------------------------------


def timestamp_ms(value: float | str) -> int:
    """A JSON timestamp in epoch milliseconds (see ids.timestamp_ms), or Kinesis's error."""
    try:
        return ids.timestamp_ms(value)
    except InvalidIdentifier:
        raise E.InvalidArgumentException(f"Invalid timestamp: {value}") from None


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
