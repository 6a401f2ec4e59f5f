"""EnableKinesisStreamingDestination, DisableKinesisStreamingDestination,
DescribeKinesisStreamingDestination and UpdateKinesisStreamingDestination: a table's Kinesis
streaming destinations (what is stored and the records: table_api/kinesis_destinations.py)."""

from __future__ import annotations

import time

from contracts.kinesis_streams import stream_name_of_arn
from table_api import kinesis_destinations as kds
from table_api.context import Context, Table
from table_api.errors import (
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from table_api.operations.service import SERVICE

# AWS's words for a destination in the wrong state (quoted from real answers in client reports).
NOT_DISABLED = ("Table is not in a valid state to enable Kinesis Streaming Destination:EnableKinesisStreamingDestination "
                "must be DISABLED or ENABLE_FAILED before performing this operation.")
NOT_ACTIVE = ("Table is not in a valid state to {operation} Kinesis Streaming Destination:"
              "{action}KinesisStreamingDestination must be ACTIVE to perform {operation_upper} operation.")


@SERVICE.operation("EnableKinesisStreamingDestination")
def enable_kinesis_streaming_destination(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    arn = req["StreamArn"]
    stream = kinesis_stream(ctx, arn)
    if stream["StreamStatus"] != "ACTIVE":
        raise ValidationException(f"Kinesis stream {arn} is not ACTIVE: its status is {stream['StreamStatus']}")
    current = kds.find(table.description, arn)
    if current is not None and current["Status"] == "ACTIVE":
        raise ValidationException(NOT_DISABLED)
    if len(kds.streaming(table.description)) >= kds.MAX_ACTIVE:
        raise LimitExceededException(
            f"Table {table.name} already streams to a Kinesis data stream: a table streams to at most "
            f"{kds.MAX_ACTIVE} at a time. Disable it first.")
    precision = (req.get("EnableKinesisStreamingConfiguration") or {}).get(
        "ApproximateCreationDateTimePrecision", kds.DEFAULT_PRECISION)
    save(ctx, table, kds.new_state(arn, "ACTIVE", precision))
    return {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "ENABLING",
            "EnableKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": precision}}


@SERVICE.operation("DisableKinesisStreamingDestination")
def disable_kinesis_streaming_destination(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    arn = req["StreamArn"]
    check_arn(ctx, arn)
    current = active_destination(table, arn, "disable", "Disable")
    save(ctx, table, kds.new_state(arn, "DISABLED", current["Precision"]))
    return {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "DISABLING",
            "EnableKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": current["Precision"]}}


@SERVICE.operation("UpdateKinesisStreamingDestination")
def update_kinesis_streaming_destination(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    arn = req["StreamArn"]
    check_arn(ctx, arn)
    current = active_destination(table, arn, "update", "Update")
    if kds.status(current, time.time()) != "ACTIVE":
        raise ResourceInUseException(f"Kinesis streaming destination {arn} of table {table.name} is "
                                     f"{kds.status(current, time.time())}: try again once it is ACTIVE")
    precision = (req.get("UpdateKinesisStreamingConfiguration") or {}).get("ApproximateCreationDateTimePrecision")
    if precision is None:
        raise ValidationException("Invalid Request: UpdateKinesisStreamingConfiguration with "
                                  "ApproximateCreationDateTimePrecision is required")
    if precision == current["Precision"]:
        raise ValidationException(f"Invalid Request: ApproximateCreationDateTimePrecision is already {precision}")
    save(ctx, table, kds.new_state(arn, "ACTIVE", precision, updated=True))
    return {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "UPDATING",
            "UpdateKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": precision}}


@SERVICE.operation("DescribeKinesisStreamingDestination")
def describe_kinesis_streaming_destination(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    now = time.time()
    return {"TableName": table.name,
            "KinesisDataStreamDestinations": [kds.described(d, now) for d in kds.destinations(table.description)]}


def check_arn(ctx: Context, arn: str) -> str:
    """The stream name of a Kinesis stream ARN of this region and account, or ValidationException."""
    name = stream_name_of_arn(arn)
    prefix = f"arn:aws:kinesis:{ctx.settings.region}:{ctx.settings.account_id}:stream/"
    if name is None or not arn.startswith(prefix) or "/" in name:
        raise ValidationException(f"Invalid StreamArn: {arn} is not the ARN of a Kinesis data stream of account "
                                  f"{ctx.settings.account_id} in region {ctx.settings.region}")
    return name


def kinesis_stream(ctx: Context, arn: str) -> dict:
    """The Kinesis stream `arn` names, from the Kinesis catalog (read to its end unless it says ACTIVE:
    the stream may have been created or have turned ACTIVE a moment ago), or ResourceNotFoundException."""
    name = check_arn(ctx, arn)
    stream = ctx.kinesis_stream(name)
    if (stream is None or stream["StreamStatus"] != "ACTIVE") and ctx.kinesis is not None:
        ctx.kinesis.sync()
        stream = ctx.kinesis_stream(name)
    if stream is None or stream.get("StreamARN") != arn:
        raise ResourceNotFoundException(f"Requested resource not found: Kinesis stream {arn} not found")
    return stream


def active_destination(table: Table, arn: str, operation: str, action: str) -> dict:
    current = kds.find(table.description, arn)
    if current is None or current["Status"] != "ACTIVE":
        raise ValidationException(NOT_ACTIVE.format(operation=operation, action=action,
                                                    operation_upper=operation.upper()))
    return current


def save(ctx: Context, table: Table, destination: dict) -> None:
    table.record.description = kds.replaced(table.description, destination)
    with ctx.storage.transaction() as tx:
        tx.update_table(table.record)
    ctx.forget(table.name)
