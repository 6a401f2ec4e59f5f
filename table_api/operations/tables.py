"""Table operations: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable, and the
tagging operations. A table's description is stored in DynamoDB's own wire shape, so
DescribeTable is the stored description plus the live item count and size."""

from __future__ import annotations

import copy
import logging
import time
import unicodedata
import uuid

from contracts.stream_catalog import CATALOG_TOPIC, catalog_payload
from table_api.backfill import start_backfill
from table_api.context import Context, Table, check_table_name
from table_api.kinesis_destinations import STORED as KINESIS_DESTINATIONS
from table_api.errors import ResourceInUseException, ResourceNotFoundException, ValidationException
from table_api.operations.billing import (
    PAY_PER_REQUEST_SWITCHES,
    created_billing,
    described_capacity,
    mode_of,
    update_billing,
    updated_on_demand,
)
from table_api.operations.definitions import check_key_schema, throughput
from table_api.operations.secondary_indexes import (
    IndexChanges,
    apply_index_updates,
    check_create_indexes,
    check_no_index_in_flight,
    created_indexes,
    describe_indexes,
    switch_billing,
)
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

MAX_TAGS = 50
log = logging.getLogger("cdc_bridge.table_api")


@SERVICE.operation("CreateTable", required=("AttributeDefinitions", "KeySchema"))
def create_table(ctx: Context, req: dict) -> dict:
    name = req["TableName"]
    check_table_name(name)
    with_indexes = req.get("LocalSecondaryIndexes") is not None or req.get("GlobalSecondaryIndexes") is not None
    check_key_schema(req["KeySchema"], req.get("AttributeDefinitions", []), with_indexes)
    billing_mode = req.get("BillingMode", "PROVISIONED")
    if with_indexes:
        check_create_indexes(req, billing_mode)
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
        "BillingModeSummary": created_billing(billing_mode, now),
        "DeletionProtectionEnabled": req.get("DeletionProtectionEnabled", False),
        "TableClassSummary": {"TableClass": req.get("TableClass", "STANDARD")},
        **created_indexes(req, ctx.settings.table_arn(name), billing_mode),
        **({"OnDemandThroughput": req["OnDemandThroughput"]} if "OnDemandThroughput" in req else {}),
    }
    tags = check_tags(req.get("Tags", []))
    changed_streams = apply_stream_specification(ctx, description, req.get("StreamSpecification"), creating=True)
    if ctx.storage.get_table(name) is not None:
        raise ResourceInUseException(f"Table already exists: {name}")
    with ctx.storage.transaction() as tx:
        tx.create_table(name, {**description, "Tags": tags})
        append_stream_rows(tx, changed_streams)
    # DynamoDB answers CREATING and reports ACTIVE once the table is usable; ours is usable now.
    return {"TableDescription": {**describe(ctx, description, 0, 0, None, index_status="CREATING"),
                                 "TableStatus": "CREATING"}}


@SERVICE.operation("DescribeTable")
def describe_table(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    count, size = ctx.storage.table_stats(table.id)
    return {"Table": describe(ctx, table.description, count, size, table)}


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
    check_no_index_in_flight(table)
    count, size = ctx.storage.table_stats(table.id)
    shown = deleting(describe(ctx, table.description, count, size, table, index_status="DELETING"))
    stream = active_stream(table.description)
    changed_streams = [disabled(stream)] if stream else []
    with ctx.storage.transaction() as tx:
        tx.delete_table(table.record)
        append_stream_rows(tx, changed_streams)
    ctx.forget(table.name)
    return {"TableDescription": shown}


@SERVICE.operation("UpdateTable")
def update_table(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    description = copy.deepcopy(table.description)  # edited below, kept only if every check passes
    changed = False
    if "BillingMode" in req or "ProvisionedThroughput" in req:
        mode = mode_of(description)
        changed |= update_billing(description, req, time.time())
        if req.get("BillingMode", mode) != mode:
            switch_billing(description, req["BillingMode"], req)
        # A BillingMode that repeats the table's own is accepted as a change of nothing (clients
        # such as infrastructure tools send it with every update), not refused as a missing one.
        changed |= "BillingMode" in req
    if "OnDemandThroughput" in req:
        updated_on_demand(description, req["OnDemandThroughput"])
        changed = True
    index_changes = apply_index_updates(table, description, req)
    changed |= "GlobalSecondaryIndexUpdates" in req
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
    before = table.description
    save_update(ctx, table, description, changed_streams, index_changes)
    count, size = ctx.storage.table_stats(table.id)
    shown = describe(ctx, description, count, size, ctx.table(table.name))
    return {"TableDescription": with_index_changes(shown, before, index_changes)}


def save_update(ctx: Context, table: Table, description: dict, changed_streams: list[dict],
                index_changes: IndexChanges) -> None:
    """One transaction: the new description, its streams' catalog rows, a back-fill row for a
    created index (whose thread starts once it is committed), a deleted index's entries gone."""
    table.record.description = description
    with ctx.storage.transaction() as tx:
        tx.update_table(table.record)
        append_stream_rows(tx, changed_streams)
        for name in index_changes.created:
            tx.start_backfill(table.id, name)
        for name in index_changes.deleted:
            tx.delete_index(table.id, name)
    ctx.forget(table.name)
    for name in index_changes.created:
        start_backfill(ctx, table.id, table.name, name)


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


HIDDEN = ("Tags", "Streams", PAY_PER_REQUEST_SWITCHES, "TimeToLive", KINESIS_DESTINATIONS)  # stored with the table, not part of its DynamoDB description
# What a deleting table's description leaves out (DynamoDB's DeleteTable answer).
NOT_WHILE_DELETING = ("AttributeDefinitions", "KeySchema", "CreationDateTime")


def describe(ctx: Context, description: dict, item_count: int, size: int, table: Table | None,
             index_status: str | None = None) -> dict:
    """A table's description as DescribeTable shows it: the stored one with live counts, and its
    indexes with theirs (`table` None: a table being created, nothing stored yet)."""
    public = {k: v for k, v in description.items() if k not in HIDDEN}
    indexes = describe_indexes(ctx, table, description, index_status)
    return described_capacity({**public, **indexes, "ItemCount": item_count, "TableSizeBytes": size})


def deleting(shown: dict) -> dict:
    return {**{k: v for k, v in shown.items() if k not in NOT_WHILE_DELETING}, "TableStatus": "DELETING"}


def with_index_changes(shown: dict, before: dict, changes: IndexChanges) -> dict:
    """UpdateTable's answer shows a created index CREATING and a deleted one DELETING."""
    indexes = [{**i, "IndexStatus": changes.statuses.get(i["IndexName"], i["IndexStatus"])}
               for i in shown.get("GlobalSecondaryIndexes", ())]
    indexes += [{**i, "IndexStatus": "DELETING", "IndexSizeBytes": 0, "ItemCount": 0}
                for i in before.get("GlobalSecondaryIndexes", ()) if i["IndexName"] in changes.deleted]
    return {**shown, "GlobalSecondaryIndexes": indexes} if indexes else shown


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


TAG_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"  # DynamoDB's, in Java's syntax (Python's re has no \p{...})
TAG_PUNCTUATION = frozenset("_.:/=+-@")


def check_tags(tags: list[dict]) -> list[dict]:
    if len(tags) > MAX_TAGS:
        raise ValidationException("The number of tags exceeds the limit of 50")
    problems = [f"Value '{tag[member]}' at 'tags.{i}.member.{member.lower()}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {TAG_PATTERN}"
                for i, tag in enumerate(tags, 1) for member in ("Key", "Value") if not tag_text_ok(tag[member])]
    if problems:
        n = len(problems)
        raise ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(problems))
    for tag in tags:
        if tag["Key"].startswith("aws:"):
            raise ValidationException("Invalid tag key: keys beginning with 'aws:' are reserved for AWS use")
    return tags


def tag_text_ok(text: str) -> bool:
    """Unicode letters, separators (white space), numbers and `_ . : / = + - @`, as DynamoDB allows."""
    return all(c in TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


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
