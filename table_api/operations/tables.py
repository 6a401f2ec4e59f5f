"""Table operations: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable, and the
tagging operations. A table's description is stored in DynamoDB's own wire shape, so
DescribeTable is the stored description plus the live item count and size."""

from __future__ import annotations

import logging
import time
import uuid

from aws_json.protocol import render
from contracts.stream_catalog import CATALOG_TOPIC, catalog_payload
from table_api.context import Context, check_table_name
from table_api.errors import ResourceInUseException, ResourceNotFoundException, ValidationException
from table_api.operations.service import SERVICE
from table_api.streams import (
    TOPIC_LOST,
    active_stream,
    check_specification,
    disabled,
    new_stream,
    next_epoch,
    published,
    within_retention,
)

INVALID = "One or more parameter values were invalid: "
MAX_TAGS = 50
log = logging.getLogger("cdc_bridge.table_api")


@SERVICE.operation("CreateTable", required=("AttributeDefinitions", "KeySchema"))
def create_table(ctx: Context, req: dict) -> dict:
    name = req["TableName"]
    check_table_name(name)
    check_key_schema(req["KeySchema"], req.get("AttributeDefinitions", []))
    if req.get("LocalSecondaryIndexes") or req.get("GlobalSecondaryIndexes"):
        raise ValidationException(INVALID + "Secondary indexes are not supported by this server yet")
    billing_mode = req.get("BillingMode", "PROVISIONED")
    now = time.time()
    description = {
        "AttributeDefinitions": req["AttributeDefinitions"],
        "TableName": name,
        "KeySchema": req["KeySchema"],
        "TableStatus": "ACTIVE",
        "CreationDateTime": now,
        "ProvisionedThroughput": throughput(billing_mode, req.get("ProvisionedThroughput")),
        "TableArn": ctx.settings.table_arn(name),
        "TableId": str(uuid.uuid4()),
        "BillingModeSummary": {"BillingMode": billing_mode, "LastUpdateToPayPerRequestDateTime": now},
        "DeletionProtectionEnabled": req.get("DeletionProtectionEnabled", False),
        "TableClassSummary": {"TableClass": req.get("TableClass", "STANDARD")},
    }
    tags = check_tags(req.get("Tags", []))
    changed_streams = apply_stream_specification(ctx, description, req.get("StreamSpecification"), creating=True)
    if ctx.storage.get_table(name) is not None:
        raise ResourceInUseException(f"Table already exists: {name}")
    with ctx.storage.transaction() as tx:
        tx.create_table(name, {**description, "Tags": tags})
        append_stream_rows(tx, changed_streams)
    announce(ctx, changed_streams)
    # DynamoDB answers CREATING and reports ACTIVE once the table is usable; ours is usable now.
    return {"TableDescription": {**describe(ctx, description, item_count=0, size=0), "TableStatus": "CREATING"}}


@SERVICE.operation("DescribeTable")
def describe_table(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    count, size = ctx.storage.table_stats(table.id)
    return {"Table": describe(ctx, table.description, count, size)}


@SERVICE.operation("ListTables")
def list_tables(ctx: Context, req: dict) -> dict:
    limit = req.get("Limit", 100)
    names = ctx.storage.table_names(req.get("ExclusiveStartTableName"), limit + 1)
    result: dict = {"TableNames": names[:limit]}
    if len(names) > limit:
        result["LastEvaluatedTableName"] = names[limit - 1]
    return result


@SERVICE.operation("DeleteTable")
def delete_table(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    if table.description.get("DeletionProtectionEnabled"):
        raise ValidationException("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
    count, size = ctx.storage.table_stats(table.id)
    stream = active_stream(table.description)
    changed_streams = [disabled(stream)] if stream else []
    with ctx.storage.transaction() as tx:
        tx.delete_table(table.record)
        append_stream_rows(tx, changed_streams)
    ctx.forget(table.name)
    announce(ctx, changed_streams)
    return {"TableDescription": {**describe(ctx, table.description, count, size), "TableStatus": "DELETING"}}


@SERVICE.operation("UpdateTable")
def update_table(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    description = dict(table.description)
    changed = False
    if "BillingMode" in req or "ProvisionedThroughput" in req:
        changed |= update_billing(description, req)
        # A BillingMode that repeats the table's own is accepted as a change of nothing (clients
        # such as infrastructure tools send it with every update), not refused as a missing one.
        changed |= "BillingMode" in req
    changed_streams = apply_stream_specification(ctx, description, req.get("StreamSpecification"), creating=False)
    changed |= bool(changed_streams)
    if "DeletionProtectionEnabled" in req:
        description["DeletionProtectionEnabled"] = req["DeletionProtectionEnabled"]
        changed = True
    if "TableClass" in req:
        description["TableClassSummary"] = {"TableClass": req["TableClass"]}
        changed = True
    if not changed:
        raise ValidationException(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
            "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
        )
    table.record.description = description
    with ctx.storage.transaction() as tx:
        tx.update_table(table.record)
        append_stream_rows(tx, changed_streams)
    ctx.forget(table.name)
    announce(ctx, changed_streams)
    count, size = ctx.storage.table_stats(table.id)
    return {"TableDescription": describe(ctx, description, count, size)}


@SERVICE.operation("TagResource")
def tag_resource(ctx: Context, req: dict) -> dict:
    table = table_by_arn(ctx, req["ResourceArn"])
    tags = {t["Key"]: t["Value"] for t in table.description.get("Tags", [])}
    tags.update({t["Key"]: t["Value"] for t in check_tags(req["Tags"])})
    if len(tags) > MAX_TAGS:
        raise ValidationException("The number of tags exceeds the limit of 50")
    save_tags(ctx, table, tags)
    return {}


@SERVICE.operation("UntagResource")
def untag_resource(ctx: Context, req: dict) -> dict:
    table = table_by_arn(ctx, req["ResourceArn"])
    removed = set(req["TagKeys"])
    save_tags(ctx, table, {t["Key"]: t["Value"] for t in table.description.get("Tags", []) if t["Key"] not in removed})
    return {}


@SERVICE.operation("ListTagsOfResource")
def list_tags_of_resource(ctx: Context, req: dict) -> dict:
    table = table_by_arn(ctx, req["ResourceArn"])
    return {"Tags": table.description.get("Tags", [])}


HIDDEN = ("Tags", "Streams")  # stored with the table, not part of its DynamoDB description


def describe(ctx: Context, description: dict, item_count: int, size: int) -> dict:
    public = {k: v for k, v in description.items() if k not in HIDDEN}
    return {**public, "ItemCount": item_count, "TableSizeBytes": size}


def apply_stream_specification(ctx: Context, description: dict, spec: dict | None, creating: bool) -> list[dict]:
    """Enable or disable the table's stream as `spec` asks; return the streams that changed."""
    if spec is None:
        return []
    streams = list(description.get("Streams", []))
    current = active_stream(description)
    action = check_specification(spec, description["TableName"], current, creating)
    if action is None:
        return []
    if action:
        settings = ctx.settings
        stream = new_stream(description["TableArn"], description["TableName"], description["KeySchema"],
                            spec["StreamViewType"], settings.stream_shards, settings.stream_retention_ms, streams)
        streams.append(stream)
        description["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}
        description["LatestStreamArn"], description["LatestStreamLabel"] = stream["StreamArn"], stream["StreamLabel"]
    else:
        stream = streams[-1] = disabled(current)
        description["StreamSpecification"] = {"StreamEnabled": False}
    description["Streams"] = streams
    return [stream]


def append_stream_rows(tx, streams: list[dict]) -> None:
    for stream in streams:
        tx.append_outbox("stream", stream["Topic"], 0, catalog_payload(published(stream)), int(time.time() * 1000))


def announce(ctx: Context, streams: list[dict]) -> None:
    if streams:
        ctx.events_committed()


def check_key_schema(key_schema: list[dict], definitions: list[dict]) -> None:
    """DynamoDB's rules for a table's KeySchema and AttributeDefinitions, in its order."""
    if len(key_schema) > 2:
        raise ValidationException(
            f"1 validation error detected: Value '{render(key_schema)}' at 'keySchema' failed to satisfy constraint: "
            "Member must have length less than or equal to 2"
        )
    defined = [d["AttributeName"] for d in definitions]
    keys = [k["AttributeName"] for k in key_schema]
    if len(set(defined)) != len(defined):
        raise ValidationException("Cannot have two attributes with the same name")
    if any(k not in defined for k in keys):
        if len(keys) == 2:
            raise ValidationException("Invalid KeySchema: Some index key attribute have no definition")
        raise ValidationException(
            INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
            f"Keys: [{', '.join(keys)}], AttributeDefinitions: [{', '.join(defined)}]"
        )
    if len(keys) == 2 and keys[0] == keys[1]:
        raise ValidationException("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    if key_schema[0]["KeyType"] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(key_schema) == 2 and key_schema[1]["KeyType"] != "RANGE":
        raise ValidationException("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    if len(keys) != len(defined):
        raise ValidationException(
            INVALID + "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
        )


def throughput(billing_mode: str, provisioned: dict | None) -> dict:
    if billing_mode == "PAY_PER_REQUEST":
        if provisioned is not None:
            raise ValidationException(
                INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )
        return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if provisioned is None:
        raise ValidationException(
            INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    for unit in ("ReadCapacityUnits", "WriteCapacityUnits"):
        if provisioned[unit] < 1:
            raise ValidationException(
                f"1 validation error detected: Value '{provisioned[unit]}' at 'provisionedThroughput.{unit[0].lower()}{unit[1:]}' "
                "failed to satisfy constraint: Member must have value greater than or equal to 1"
            )
        if provisioned[unit] > 1_000_000_000_000:
            raise ValidationException(f"Given value {provisioned[unit]} for {unit} is out of bounds")
    return {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": provisioned["ReadCapacityUnits"],
        "WriteCapacityUnits": provisioned["WriteCapacityUnits"],
    }


def update_billing(description: dict, req: dict) -> bool:
    current_mode = description["BillingModeSummary"]["BillingMode"]
    mode = req.get("BillingMode", current_mode)
    provisioned = req.get("ProvisionedThroughput")
    if mode == "PROVISIONED" and provisioned is None and current_mode == "PROVISIONED":
        raise ValidationException(INVALID + "ProvisionedThroughput must be specified")
    new = throughput(mode, provisioned)
    old = description["ProvisionedThroughput"]
    if mode == current_mode and mode == "PROVISIONED" and all(new[u] == old[u] for u in ("ReadCapacityUnits", "WriteCapacityUnits")):
        raise ValidationException(
            "The provisioned throughput for the table will not change. The requested value equals the current value. "
            f"Current ReadCapacityUnits provisioned for the table: {old['ReadCapacityUnits']}. "
            f"Requested ReadCapacityUnits: {new['ReadCapacityUnits']}. "
            f"Current WriteCapacityUnits provisioned for the table: {old['WriteCapacityUnits']}. "
            f"Requested WriteCapacityUnits: {new['WriteCapacityUnits']}. "
            "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
        )
    if mode == current_mode and mode == "PAY_PER_REQUEST":
        return False
    now = time.time()
    if new["ReadCapacityUnits"] > old["ReadCapacityUnits"] or new["WriteCapacityUnits"] > old["WriteCapacityUnits"]:
        new["LastIncreaseDateTime"] = now
    description["ProvisionedThroughput"] = new
    description["BillingModeSummary"] = {"BillingMode": mode, "LastUpdateToPayPerRequestDateTime": now}
    return True


def check_tags(tags: list[dict]) -> list[dict]:
    if len(tags) > MAX_TAGS:
        raise ValidationException("The number of tags exceeds the limit of 50")
    for tag in tags:
        if tag["Key"].startswith("aws:"):
            raise ValidationException("Invalid tag key: keys beginning with 'aws:' are reserved for AWS use")
    return tags


def table_by_arn(ctx: Context, arn: str):
    if not arn.startswith("arn:") or ":table/" not in arn:
        raise ValidationException(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    try:
        return ctx.table(arn)
    except ResourceNotFoundException:
        raise ResourceNotFoundException(f"Requested resource not found: ResourcArn: {arn} not found") from None


def save_tags(ctx: Context, table, tags: dict[str, str]) -> None:
    table.record.description = {**table.description, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    with ctx.storage.transaction() as tx:
        tx.update_table(table.record)
    ctx.forget(table.name)


def renew_lost_streams(ctx: Context, topics: set[str]) -> None:
    """Kafka no longer has these topics (an in-memory broker restarted; see `active_topics`).
    Each stream whose topic is among them stays the same stream (ARN, label, shards, view type,
    retention) with its Epoch raised by one, and is published again (an outbox row of kind
    "stream"): the publisher makes an enabled stream's topic again under the same name, so its
    undelivered events go there, and the connector sees positions of the lost data as trimmed.
    When the catalog topic itself is gone, every other stream still within its retention is
    published again as it is, so that ListStreams and DescribeStream know it again."""
    catalog_lost = CATALOG_TOPIC in topics
    now = time.time()
    republished = []
    for record in ctx.storage.tables():
        streams = list(record.description.get("Streams") or ())
        changed = []
        for i, stream in enumerate(streams):
            if not within_retention(stream, now):
                continue
            if stream["Topic"] in topics and not stream.get(TOPIC_LOST):
                streams[i] = next_epoch(stream)
                changed.append(streams[i])
            elif catalog_lost:
                changed.append(stream)
        if not changed:
            continue
        record.description = {**record.description, "Streams": streams}
        with ctx.storage.transaction() as tx:
            tx.update_table(record)
            append_stream_rows(tx, changed)
        ctx.forget(record.name)
        republished += changed
    if republished:
        log.warning("streams published again after Kafka lost their topics or the catalog",
                    extra={"streams": {s["StreamArn"]: s.get("Epoch", 0) for s in republished}})
    announce(ctx, republished)


def active_topics(ctx: Context) -> set[str]:
    """The topics Kafka must have: those of the streams within their retention (a disabled
    stream's topic stays until then, unless it was lost already) and, when there is any such
    stream, the catalog topic."""
    now = time.time()
    topics = {s["Topic"] for r in ctx.storage.tables() for s in r.description.get("Streams") or ()
              if within_retention(s, now) and not s.get(TOPIC_LOST)}
    return topics | {CATALOG_TOPIC} if topics or any_stream_kept(ctx, now) else topics


def any_stream_kept(ctx: Context, now: float) -> bool:
    return any(within_retention(s, now) for r in ctx.storage.tables() for s in r.description.get("Streams") or ())
