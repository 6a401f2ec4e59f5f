"""Event source mappings: CreateEventSourceMapping, GetEventSourceMapping, ListEventSourceMappings,
UpdateEventSourceMapping, DeleteEventSourceMapping, over a DynamoDB stream or a Kinesis stream of this
server. The API keeps mappings (lambda_api/mappings.py, in Kafka); the pollers of `event_sources/`
run them and report their settled state. Checks and messages as Lambda's."""

from __future__ import annotations

import asyncio
import re
import time
import uuid as uuids

from lambda_api.context import LambdaContext
from lambda_api.errors import InvalidParameterValueException, ResourceConflictException, ResourceNotFoundException
from lambda_api.filters import InvalidPattern, parse_filters
from lambda_api.operations.service import SERVICE, find, function_name

DYNAMODB_STREAM = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[^/]+/stream/.+")
KINESIS_STREAM = re.compile(r"arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/.+")
# On-failure destinations we deliver to: an S3 bucket (a folder under the data directory), and as our
# own extensions a Kinesis stream of ours or a Kafka topic (`arn:aws:kafka:<region>:<account>:topic/<name>`)
S3_BUCKET = re.compile(r"arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
KAFKA_TOPIC = re.compile(r"arn:aws[a-z-]*:kafka:[a-z0-9-]*:\d{0,12}:topic/[a-zA-Z0-9._-]{1,249}")
NOT_FOUND = "The resource you requested does not exist."
STREAM_DEFAULTS = {"BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
                   "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False, "MaximumRetryAttempts": -1,
                   "TumblingWindowInSeconds": 0, "FunctionResponseTypes": []}
# What Create and Update store as given (after the checks below)
TUNABLE = ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "MaximumRecordAgeInSeconds",
           "BisectBatchOnFunctionError", "MaximumRetryAttempts", "TumblingWindowInSeconds", "FunctionResponseTypes",
           "FilterCriteria", "DestinationConfig")
# Members of other kinds of event sources (queues, Kafka, DocumentDB...): not for a stream
OTHER_SOURCES = ("Topics", "Queues", "SourceAccessConfigurations", "SelfManagedEventSource",
                 "AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
                 "DocumentDBEventSourceConfig", "ScalingConfig", "ProvisionedPollerConfig")


@SERVICE.operation("CreateEventSourceMapping")
async def create_event_source_mapping(ctx: LambdaContext, req: dict) -> dict:
    source = req.get("EventSourceArn")
    if not source:
        raise InvalidParameterValueException("Unrecognized event source, must be kafka or specify an event source "
                                             "arn.")
    kind = source_kind(source)
    function = find(ctx, req["FunctionName"], None)
    check_starting_position(req, kind)
    check_tunables(req, kind)
    if ctx.event_sources is not None:
        await asyncio.to_thread(ctx.event_sources.check_source, source)
    function_arn = function.configuration["FunctionArn"]
    for existing in list(ctx.mappings.mappings.values()):
        if existing["EventSourceArn"] == source and existing["FunctionArn"] == function_arn:
            raise ResourceConflictException(
                f'The event source arn (" {source} ") and function (" {function.name} ") provided mapping already exists. '
                f"Please update or delete the existing mapping with UUID {existing['UUID']}")
    uuid = str(uuids.uuid4())
    now = time.time()
    mapping = {"UUID": uuid, "StartingPosition": req["StartingPosition"], **STREAM_DEFAULTS,
               **{k: req[k] for k in TUNABLE if k in req}, "EventSourceArn": source, "FunctionArn": function_arn,
               "LastModified": now, "LastProcessingResult": "No records processed",
               "State": "Creating",  # then Enabled or Disabled, once the pollers have it
               "StateTransitionReason": "User action", "EventSourceMappingArn": mapping_arn(ctx, uuid),
               "_Revision": 1, "_CreatedMs": int(now * 1000), "_Enabled": req.get("Enabled", True)}
    mapping.setdefault("DestinationConfig", {"OnFailure": {}})
    if "StartingPositionTimestamp" in req:
        mapping["StartingPositionTimestamp"] = req["StartingPositionTimestamp"]
    await ctx.mappings.put(mapping)
    return ctx.mappings.described(mapping)


@SERVICE.operation("GetEventSourceMapping")
async def get_event_source_mapping(ctx: LambdaContext, req: dict) -> dict:
    return ctx.mappings.described(await existing(ctx, req["UUID"]))


@SERVICE.operation("ListEventSourceMappings")
async def list_event_source_mappings(ctx: LambdaContext, req: dict) -> dict:
    source, named = req.get("EventSourceArn"), req.get("FunctionName")
    function_arn = ctx.settings.function_arn(function_name(ctx, named)[0]) if named else None
    chosen = sorted((m for m in list(ctx.mappings.mappings.values())
                     if (source is None or m["EventSourceArn"] == source)
                     and (function_arn is None or m["FunctionArn"] == function_arn)),
                    key=lambda m: (m["_CreatedMs"], m["UUID"]))
    start = page_start(chosen, req.get("Marker"))
    limit = req.get("MaxItems", 100)
    page = chosen[start:start + limit]
    result: dict = {"EventSourceMappings": [ctx.mappings.described(m) for m in page]}
    if start + limit < len(chosen):
        result["NextMarker"] = page[-1]["UUID"]
    return result


@SERVICE.operation("UpdateEventSourceMapping")
async def update_event_source_mapping(ctx: LambdaContext, req: dict) -> dict:
    mapping = dict(await existing(ctx, req["UUID"]))
    check_not_deleting(mapping)
    kind = source_kind(mapping["EventSourceArn"])
    check_tunables(req, kind)
    if "FunctionName" in req:
        mapping["FunctionArn"] = find(ctx, req["FunctionName"], None).configuration["FunctionArn"]
    mapping.update({k: req[k] for k in TUNABLE if k in req})
    enabled = req.get("Enabled", mapping["_Enabled"])
    mapping["State"] = ("Enabling" if enabled else "Disabling") if enabled != mapping["_Enabled"] else "Updating"
    mapping.update({"_Enabled": enabled, "_Revision": mapping["_Revision"] + 1, "LastModified": time.time(),
                    "StateTransitionReason": "User action"})
    await ctx.mappings.put(mapping)
    return ctx.mappings.described(mapping)


@SERVICE.operation("DeleteEventSourceMapping")
async def delete_event_source_mapping(ctx: LambdaContext, req: dict) -> dict:
    mapping = dict(await existing(ctx, req["UUID"]))
    check_not_deleting(mapping)
    mapping.update({"State": "Deleting", "_Revision": mapping["_Revision"] + 1, "_Enabled": False,
                    "StateTransitionReason": "User action"})
    await ctx.mappings.put(mapping)  # the pollers stop, then remove it (event_sources/part.py)
    return ctx.mappings.described(mapping)


async def existing(ctx: LambdaContext, uuid: str) -> dict:
    """The mapping; one this instance has not seen yet is looked for in Kafka, off the event loop."""
    mapping = ctx.mappings.mappings.get(uuid) or await asyncio.to_thread(ctx.mappings.get, uuid)
    if mapping is None:
        raise ResourceNotFoundException(NOT_FOUND)
    return mapping


def check_not_deleting(mapping: dict) -> None:
    if mapping["State"] == "Deleting":
        raise ResourceConflictException(f"The resource you requested is currently in use: {mapping['UUID']} is being "
                                        "deleted.")


def source_kind(arn: str) -> str:
    if DYNAMODB_STREAM.fullmatch(arn):
        return "dynamodb"
    if KINESIS_STREAM.fullmatch(arn):
        return "kinesis"
    raise InvalidParameterValueException("Unrecognized event source.")


def check_starting_position(req: dict, kind: str) -> None:
    position = req.get("StartingPosition")
    if position is None:
        raise InvalidParameterValueException("StartingPosition is required for the event source "
                                             f"{req['EventSourceArn']}.")
    if position == "AT_TIMESTAMP":
        if kind == "dynamodb":
            raise InvalidParameterValueException("Unsupported starting position for the DynamoDB stream: "
                                                 "AT_TIMESTAMP.")
        if req.get("StartingPositionTimestamp") is None:
            raise InvalidParameterValueException("StartingPositionTimestamp must be set when StartingPosition is "
                                                 "AT_TIMESTAMP.")
    elif req.get("StartingPositionTimestamp") is not None:
        raise InvalidParameterValueException("StartingPositionTimestamp can only be set when StartingPosition is "
                                             "AT_TIMESTAMP.")


def check_tunables(req: dict, kind: str) -> None:
    """What the model cannot say: ranges that differ per source, members of other kinds of sources,
    filter patterns and destinations."""
    for member in OTHER_SOURCES:
        if member in req:
            raise InvalidParameterValueException(f"Unsupported parameter for the event source: {member}.")
    age = req.get("MaximumRecordAgeInSeconds")
    if age is not None and age != -1 and not 60 <= age <= 604800:
        raise InvalidParameterValueException("MaximumRecordAgeInSeconds must be -1 (infinite) or between 60 and "
                                             "604800.")
    try:
        parse_filters(req.get("FilterCriteria"))
    except InvalidPattern as exc:
        raise InvalidParameterValueException(str(exc)) from None
    check_destination(req.get("DestinationConfig"))


def check_destination(config: dict | None) -> None:
    if not config:
        return
    if config.get("OnSuccess"):
        raise InvalidParameterValueException("Unsupported DestinationConfig parameter for the event source: "
                                             "OnSuccess.")
    destination = (config.get("OnFailure") or {}).get("Destination")
    if destination and not any(p.fullmatch(destination) for p in (S3_BUCKET, KINESIS_STREAM, KAFKA_TOPIC)):
        raise InvalidParameterValueException(
            f"The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination="
            f"{destination})) is invalid: cdc-bridge delivers failures to an S3 bucket, a Kinesis stream of its own "
            "or a Kafka topic (arn:aws:kafka:<region>:<account>:topic/<name>).")


def page_start(chosen: list[dict], marker: str | None) -> int:
    if marker is None:
        return 0
    uuids_in_order = [m["UUID"] for m in chosen]
    if marker not in uuids_in_order:
        raise InvalidParameterValueException(f"Invalid marker: {marker}")
    return uuids_in_order.index(marker) + 1


def mapping_arn(ctx: LambdaContext, uuid: str) -> str:
    return f"arn:aws:lambda:{ctx.settings.region}:{ctx.settings.account_id}:event-source-mapping:{uuid}"
