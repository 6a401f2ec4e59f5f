"""The Firehose service (`Firehose_20150804.*`, JSON 1.1): its `Service`, with a fast path for
PutRecordBatch, and what the operation modules share: finding the stream a request names and
Firehose's messages for a missing or busy one. streams.py, records.py and tags.py register on SERVICE."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re

import orjson

from aws_json.protocol import Service
from firehose.context import FirehoseContext
from firehose.errors import Firehose

NAME = re.compile(r"[a-zA-Z0-9_.-]{1,64}")
MAX_BATCH = 500
MAX_RECORD_BYTES = 1_024_000


class FirehoseService(Service):
    """Firehose's `Service`, with a fast check for PutRecordBatch (the generic validator walks 500
    entries at ~4 us each): it accepts only a request the generic validator would accept, with each
    Data already decoded; anything else goes the generic way, so errors keep the model's wording."""

    def request(self, name: str, body: bytes) -> tuple:
        if name == "PutRecordBatch":
            req = well_formed_batch(body)
            if req is not None:
                return self.handlers[name], req
        return super().request(name, body)


def well_formed_batch(body: bytes) -> dict | None:
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(req, dict) or not isinstance(req.get("DeliveryStreamName"), str):
        return None
    records = req.get("Records")
    if not NAME.fullmatch(req["DeliveryStreamName"]) or not isinstance(records, list):
        return None
    if not 1 <= len(records) <= MAX_BATCH:
        return None
    decoded = []
    for record in records:
        data = record.get("Data") if isinstance(record, dict) else None
        if not isinstance(data, str):
            return None
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) > MAX_RECORD_BYTES:
            return None
        decoded.append(raw)
    return {"DeliveryStreamName": req["DeliveryStreamName"], "Records": decoded}


SERVICE = FirehoseService("firehose", "2015-08-04", Firehose)


def not_found(ctx: FirehoseContext, name: str) -> Exception:
    return Firehose.ResourceNotFoundException(
        f"Firehose stream {name} under account {ctx.settings.account_id} not found.")


async def find_stream(ctx: FirehoseContext, name: str) -> dict:
    stream = ctx.catalog.get(name)
    if stream is None:
        await asyncio.to_thread(ctx.catalog.sync)  # created a moment ago by another instance?
        stream = ctx.catalog.get(name)
    if stream is None:
        raise not_found(ctx, name)
    return stream


def record_data(value) -> bytes:
    """A record's Data: bytes from the fast path, base64 text from the generic one."""
    return value if isinstance(value, bytes) else base64.b64decode(value)
