"""Secondary indexes in the table operations: CreateTable's GlobalSecondaryIndexes and
LocalSecondaryIndexes (DynamoDB's rules and messages, in its order), UpdateTable's
GlobalSecondaryIndexUpdates (Create, Update, Delete), and each index in a table's description.

A table's description stores its indexes in DynamoDB's wire shape (IndexName, KeySchema,
Projection, IndexArn, and for a GSI its throughput); what changes by itself is computed when a
description is shown: IndexStatus and Backfilling from the back-fill table (a GSI added by
UpdateTable is CREATING while `table_api/backfill.py` fills it), ItemCount and IndexSizeBytes from
the index's entries. LSIs exist only from CreateTable, as on AWS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from table_api.context import Context, Table
from table_api.errors import (
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from table_api.indexes import index_arn
from table_api.operations.billing import changed_throughput
from table_api.operations.definitions import INVALID, throughput

MAX_GLOBAL = 20
MAX_LOCAL = 5
MAX_PROJECTED = 100
ONE_ONLINE_INDEX = "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"
STILL_IN_USE = "Attempt to change a resource which is still in use: "
MEMBERS = (("LocalSecondaryIndexes", False), ("GlobalSecondaryIndexes", True))


# -- CreateTable ---------------------------------------------------------------------------------


def check_create_indexes(req: dict, billing_mode: str) -> None:
    """CreateTable's index rules: the definitions match the keys exactly, then each LSI and
    each GSI, their counts, unique names and projected attributes."""
    key_schema, definitions = req["KeySchema"], req["AttributeDefinitions"]
    defined = [d["AttributeName"] for d in definitions]
    used = list(dict.fromkeys(k["AttributeName"] for k in [*key_schema, *all_index_keys(req)]))
    if any(name not in used for name in defined):
        raise ValidationException(INVALID + f"Some AttributeDefinitions are not used. AttributeDefinitions: "
                                            f"[{', '.join(defined)}], keys used: [{', '.join(used)}]")
    names: set[str] = set()
    table_hash = key_schema[0]["AttributeName"]
    for member, is_global in MEMBERS:
        indexes = req.get(member)
        if indexes is None:
            continue
        if not indexes:
            raise ValidationException(INVALID + f"List of {member} is empty")
        if not is_global and len(key_schema) != 2:
            raise ValidationException(INVALID + "Table KeySchema does not have a range key, which is required when "
                                                "specifying a LocalSecondaryIndex")
        for index in indexes:
            check_index(index, defined, None if is_global else table_hash)
            if is_global:
                check_index_throughput(index, billing_mode)
            if index["IndexName"] in names:
                raise ValidationException(INVALID + f"Duplicate index name: {index['IndexName']}")
            names.add(index["IndexName"])
        check_count(indexes, is_global, ValidationException)
    projected = sum(len(i["Projection"].get("NonKeyAttributes", ())) for i in all_indexes(req))
    if projected > MAX_PROJECTED:
        raise ValidationException(INVALID + f"Number of projected attributes in all indexes exceeds limit of "
                                            f"{MAX_PROJECTED}, number of projected attributes:{projected}")


def all_indexes(req: dict) -> list[dict]:
    return [index for member, _ in MEMBERS for index in req.get(member) or ()]


def all_index_keys(req: dict) -> list[dict]:
    return [key for index in all_indexes(req) for key in index["KeySchema"]]


def check_index(index: dict, defined: list[str], table_hash: str | None) -> None:
    """One index's KeySchema and Projection; `table_hash` (LSIs) is the hash key it must share."""
    name, schema = index["IndexName"], index["KeySchema"]
    keys = [k["AttributeName"] for k in schema]
    if any(k not in defined for k in keys):
        raise ValidationException(INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
                                            f"Keys: [{', '.join(keys)}], AttributeDefinitions: [{', '.join(defined)}]")
    if len(keys) == 2 and keys[0] == keys[1]:
        raise ValidationException("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    if len(keys) > 2:
        raise ValidationException(INVALID + "The KeySchema exceeds the maximum allowed number of HASH key attributes")
    if schema[0]["KeyType"] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(schema) == 2 and schema[1]["KeyType"] != "RANGE":
        raise ValidationException("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    if table_hash is not None:
        if len(keys) != 2:
            raise ValidationException(INVALID + f"Index KeySchema does not have a range key for index: {name}")
        if keys[0] != table_hash:
            raise ValidationException(INVALID + "Index KeySchema does not have the same leading hash key as table "
                                                f"KeySchema for index: {name}. index hash key: {keys[0]}, "
                                                f"table hash key: {table_hash}")
    check_projection(index["Projection"])


def check_projection(projection: dict) -> None:
    kind, non_key = projection.get("ProjectionType"), projection.get("NonKeyAttributes")
    if kind is None:
        raise ValidationException(INVALID + "Unknown ProjectionType: null")
    if non_key is not None and kind != "INCLUDE":
        raise ValidationException(INVALID + f"ProjectionType is {kind}, but NonKeyAttributes is specified")
    if non_key is None and kind == "INCLUDE":
        raise ValidationException(INVALID + "ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
    duplicated = next((n for i, n in enumerate(non_key or ()) if n in non_key[:i]), None)
    if duplicated is not None:
        raise ValidationException(INVALID + f"Duplicate element in NonKeyAttributes: {duplicated}")


def check_index_throughput(index: dict, billing_mode: str) -> None:
    name, given = index["IndexName"], index.get("ProvisionedThroughput")
    if billing_mode == "PROVISIONED" and given is None:
        raise ValidationException(INVALID + f"ProvisionedThroughput is not specified for index: {name}")
    if billing_mode == "PAY_PER_REQUEST" and given is not None:
        raise ValidationException(INVALID + f"ProvisionedThroughput should not be specified for index: {name} when "
                                            "BillingMode is PAY_PER_REQUEST")


def check_count(indexes: list, is_global: bool, error: type[Exception]) -> None:
    if is_global and len(indexes) > MAX_GLOBAL:
        raise error(INVALID + f"GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GLOBAL}")
    if not is_global and len(indexes) > MAX_LOCAL:
        raise error(INVALID + f"Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LOCAL}")


def created_indexes(req: dict, table_arn: str, billing_mode: str) -> dict:
    """The index members of a new table's stored description."""
    stored: dict = {}
    for member, is_global in MEMBERS:
        if req.get(member):
            stored[member] = [stored_index(i, table_arn, billing_mode, is_global) for i in req[member]]
    return stored


def stored_index(index: dict, table_arn: str, billing_mode: str, is_global: bool) -> dict:
    stored = {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"],
              "IndexArn": index_arn(table_arn, index["IndexName"])}
    if is_global:
        stored["ProvisionedThroughput"] = throughput(billing_mode, index.get("ProvisionedThroughput"))
        if "OnDemandThroughput" in index:
            stored["OnDemandThroughput"] = index["OnDemandThroughput"]
        if "WarmThroughput" in index:
            stored["WarmThroughput"] = {**index["WarmThroughput"], "Status": "ACTIVE"}
    return stored


# -- descriptions --------------------------------------------------------------------------------


def describe_indexes(ctx: Context, table: Table | None, description: dict, status: str | None = None) -> dict:
    """The index members of a DescribeTable (CreateTable, DeleteTable) answer: each index with
    its live ItemCount and IndexSizeBytes, a GSI with its IndexStatus (`status`, else ACTIVE or,
    while back-filled, CREATING with Backfilling)."""
    backfilling = {i.name for i in table.indexes if i.backfilling} if table is not None else set()
    shown: dict = {}
    for member, is_global in MEMBERS:
        for index in description.get(member) or ():
            count, size = ctx.storage.index_stats(table.id, index["IndexName"]) if table is not None else (0, 0)
            entry = {**index, "IndexSizeBytes": size, "ItemCount": count}
            if is_global:
                entry.update(index_status(status, index["IndexName"] in backfilling))
            shown.setdefault(member, []).append(entry)
    return shown


def index_status(status: str | None, backfilling: bool) -> dict:
    if status is not None:
        return {"IndexStatus": status}
    return {"IndexStatus": "CREATING", "Backfilling": True} if backfilling else {"IndexStatus": "ACTIVE"}


def check_no_index_in_flight(table: Table) -> None:
    """DeleteTable waits for index creations, as on AWS."""
    if any(index.backfilling for index in table.indexes):
        raise ResourceInUseException(STILL_IN_USE + "Cannot delete table while indexes are being created, updated, "
                                                    "or deleted.")


# -- UpdateTable: GlobalSecondaryIndexUpdates ------------------------------------------------------


@dataclass
class IndexChanges:
    """What GlobalSecondaryIndexUpdates did to a description: indexes to back-fill, indexes whose
    entries go, and how each changed index is shown in the answer."""

    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)


def apply_index_updates(table: Table, description: dict, req: dict) -> IndexChanges:
    """Apply GlobalSecondaryIndexUpdates to `description` (a copy being edited)."""
    updates = req.get("GlobalSecondaryIndexUpdates")
    changes = IndexChanges()
    if updates is None:
        return changes
    actions = check_updates(updates)
    online = [a for a in actions if a[0] in ("Create", "Delete")]
    if online and req.get("StreamSpecification") is not None:
        raise ValidationException(INVALID + "You cannot create or delete index while changing stream status")
    if online and req.get("ProvisionedThroughput") is not None:
        raise ValidationException(INVALID + "You cannot create or delete index while updating table IOPS")
    if len(online) > 1:
        raise LimitExceededException(ONE_ONLINE_INDEX)
    for kind, action in actions:
        name = action["IndexName"]
        if kind == "Create":
            create_index(table, description, action, req.get("AttributeDefinitions") or [])
            changes.created.append(name)
            changes.statuses[name] = "CREATING"
        elif kind == "Delete":
            delete_index(table, description, name)
            changes.deleted.append(name)
            changes.statuses[name] = "DELETING"
        else:
            update_index_throughput(table, description, action)
    return changes


def check_updates(updates: list[dict]) -> list[tuple[str, dict]]:
    """Each GlobalSecondaryIndexUpdate holds exactly one action, each index at most one."""
    if not updates:
        raise ValidationException(INVALID + "List of GlobalSecondaryIndexUpdates is empty")
    actions, seen = [], set()
    for update in updates:
        given = [(kind, update[kind]) for kind in ("Update", "Create", "Delete") if update.get(kind) is not None]
        if not given:
            raise ValidationException(INVALID + "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate."
                                                "Create, GlobalSecondaryIndexUpdate.Delete must not be null")
        if len(given) > 1:
            raise ValidationException(INVALID + "Only one global secondary index action is allowed per "
                                                "GlobalSecondaryIndexUpdate object")
        name = given[0][1]["IndexName"]
        if name in seen:
            raise ValidationException(INVALID + "Only one global secondary index update per index is allowed "
                                                f"simultaneously. Index: {name}")
        seen.add(name)
        actions.append(given[0])
    return actions


def create_index(table: Table, description: dict, action: dict, definitions: list[dict]) -> None:
    name = action["IndexName"]
    if any(index.name == name for index in table.indexes):
        raise ValidationException("Attempting to create an index which already exists")
    if any(index.backfilling for index in table.indexes):
        raise LimitExceededException(ONE_ONLINE_INDEX)
    globals_ = description.get("GlobalSecondaryIndexes") or []
    check_count([*globals_, action], True, LimitExceededException)
    known = {d["AttributeName"]: d for d in description["AttributeDefinitions"]}
    for definition in definitions:
        known.setdefault(definition["AttributeName"], definition)
    if any(key["AttributeName"] not in known for key in action["KeySchema"]):
        raise ValidationException(INVALID + f"AttributeDefinitions is not specified for index: {name}")
    check_index(action, list(known), None)
    mode = description["BillingModeSummary"]["BillingMode"]
    if mode == "PROVISIONED" and action.get("ProvisionedThroughput") is None:
        raise ValidationException(INVALID + f"ProvisionedThroughput must be specified for index: {name}")
    if mode == "PAY_PER_REQUEST" and action.get("ProvisionedThroughput") is not None:
        raise ValidationException(INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for "
                                            f"index: {name} when BillingMode is PAY_PER_REQUEST")
    description["GlobalSecondaryIndexes"] = [*globals_, stored_index(action, description["TableArn"], mode, True)]
    description["AttributeDefinitions"] = used_definitions(description, known)


def delete_index(table: Table, description: dict, name: str) -> None:
    index = find_global(table, name, "delete")
    if any(other.backfilling and other.name != name for other in table.indexes):
        raise LimitExceededException(ONE_ONLINE_INDEX)
    remaining = [i for i in description["GlobalSecondaryIndexes"] if i["IndexName"] != index.name]
    if remaining:
        description["GlobalSecondaryIndexes"] = remaining
    else:
        del description["GlobalSecondaryIndexes"]
    known = {d["AttributeName"]: d for d in description["AttributeDefinitions"]}
    description["AttributeDefinitions"] = used_definitions(description, known)


def update_index_throughput(table: Table, description: dict, action: dict) -> None:
    index = find_global(table, action["IndexName"], "update")
    name, provisioned = index.name, action.get("ProvisionedThroughput")
    stored = next(i for i in description["GlobalSecondaryIndexes"] if i["IndexName"] == name)
    for member in ("OnDemandThroughput", "WarmThroughput"):
        if member in action:
            stored[member] = {**action[member], **({"Status": "ACTIVE"} if member == "WarmThroughput" else {})}
    if provisioned is None:
        return
    if description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST":
        raise ValidationException(INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for "
                                            f"index: {name} when BillingMode is PAY_PER_REQUEST")
    old = stored["ProvisionedThroughput"]
    units = ("ReadCapacityUnits", "WriteCapacityUnits")
    if all(old[u] == provisioned[u] for u in units):
        raise ValidationException(
            f"The provisioned throughput for the index {name} will not change. The requested value equals the current "
            f"value. Current ReadCapacityUnits provisioned for the index: {old['ReadCapacityUnits']}. Requested "
            f"ReadCapacityUnits: {provisioned['ReadCapacityUnits']}. Current WriteCapacityUnits provisioned for the "
            f"index: {old['WriteCapacityUnits']}. Requested WriteCapacityUnits: {provisioned['WriteCapacityUnits']}. "
            "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
        )
    stored["ProvisionedThroughput"] = changed_throughput(old, provisioned, time.time())


def find_global(table: Table, name: str, verb: str):
    for index in table.indexes:
        if index.name == name:
            if not index.is_global:
                raise ValidationException(f"Cannot {verb} an index that is not a GlobalSecondaryIndex: {name}")
            return index
    raise ResourceNotFoundException(f"Requested resource not found: Index {name} for table {table.name}")


def used_definitions(description: dict, known: dict[str, dict]) -> list[dict]:
    """The attribute definitions the table's keys and its indexes' keys use (AWS prunes the
    others), in the order of first use."""
    keys = [*description["KeySchema"]]
    for member, _ in MEMBERS:
        keys += [k for index in description.get(member) or () for k in index["KeySchema"]]
    return [known[name] for name in dict.fromkeys(k["AttributeName"] for k in keys)]


def switch_billing(description: dict, mode: str, req: dict) -> None:
    """A billing mode switch takes the GSIs along: to PAY_PER_REQUEST their throughput is 0/0;
    to PROVISIONED, every GSI needs its throughput in the same call (an Update action)."""
    updated = {u["Update"]["IndexName"] for u in req.get("GlobalSecondaryIndexUpdates") or ()
               if u.get("Update") and u["Update"].get("ProvisionedThroughput")}
    for index in description.get("GlobalSecondaryIndexes") or ():
        if mode == "PAY_PER_REQUEST":
            index["ProvisionedThroughput"] = throughput(mode, None)
        elif index["IndexName"] not in updated:
            raise ValidationException(INVALID + "ProvisionedThroughput must be specified for index: "
                                                f"{index['IndexName']}")
        else:  # the Update action of this call sets the units
            index["ProvisionedThroughput"] = throughput("PAY_PER_REQUEST", None)
