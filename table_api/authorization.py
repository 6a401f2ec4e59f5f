"""What each DynamoDB call asks IAM for: actions, resources and condition keys, as AWS's service
authorization reference lists them for `dynamodb:`.

Most operations are `dynamodb:<Operation>` on the table's ARN (UpdateTimeToLive and
DescribeTimeToLive too; TTL deletions are DynamoDB's own, checked against no user); a Query or Scan of an index is on
`table/<T>/index/<I>`; BatchGetItem and BatchWriteItem check each table they touch;
TransactWriteItems and TransactGetItems check the per-item actions (PutItem, UpdateItem,
DeleteItem, ConditionCheckItem, GetItem). Calls on no resource (ListTables, DescribeLimits,
DescribeEndpoints) are on `*`. Tagging calls are on the ARN they name.

Condition keys set here: `dynamodb:LeadingKeys` (the partition key values of the items a call
reads or writes by key) and `dynamodb:Attributes` (the attribute names it writes or projects),
`dynamodb:Select` and `dynamodb:ReturnValues`; the server adds the global keys (aws:SourceIp, ...).
"""

from __future__ import annotations

import re

from aws_json.iam import Check
from table_api.context import Context

NO_RESOURCE = frozenset({"ListTables", "DescribeLimits", "DescribeEndpoints", "ListBackups", "ListGlobalTables",
                         "ListExports", "ListImports", "ListContributorInsights"})
BY_ARN = frozenset({"TagResource", "UntagResource", "ListTagsOfResource"})
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
PROJECTED_NAME = re.compile(r"[A-Za-z0-9_#.\-]+")


def checks(ctx: Context, operation: str, req: dict) -> list[Check]:
    arn = ctx.settings.table_arn
    if operation in NO_RESOURCE:
        return [Check(f"dynamodb:{operation}", "*")]
    if operation in BY_ARN:
        return [Check(f"dynamodb:{operation}", str(req.get("ResourceArn", "*")))]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Check(f"dynamodb:{operation}", arn(table), batch_conditions(ctx, table, requests))
                for table, requests in (req.get("RequestItems") or {}).items()]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [Check(f"dynamodb:{TRANSACT_ACTIONS[kind]}", arn(action.get("TableName", "")),
                      item_conditions(ctx, action))
                for entry in req.get("TransactItems") or () for kind, action in entry.items()
                if kind in TRANSACT_ACTIONS and isinstance(action, dict)]
    resource = arn(table_name_of(req.get("TableName", "")))
    if operation in ("Query", "Scan") and req.get("IndexName"):
        resource += f"/index/{req['IndexName']}"
    return [Check(f"dynamodb:{operation}", resource, item_conditions(ctx, req))]


def table_name_of(name_or_arn: str) -> str:
    return name_or_arn.split(":table/", 1)[1].split("/", 1)[0] if ":table/" in name_or_arn else name_or_arn


def item_conditions(ctx: Context, req: dict) -> dict[str, list[str]]:
    conditions: dict[str, list[str]] = {}
    leading = leading_keys(ctx, req.get("TableName", ""), [req.get("Key") or req.get("Item")])
    if leading:
        conditions["dynamodb:leadingkeys"] = leading
    names = attribute_names(req)
    if names:
        conditions["dynamodb:attributes"] = names
    for member in ("Select", "ReturnValues"):
        if isinstance(req.get(member), str):
            conditions[f"dynamodb:{member.lower()}"] = [req[member]]
    return conditions


def batch_conditions(ctx: Context, table: str, requests) -> dict[str, list[str]]:
    if isinstance(requests, dict):  # BatchGetItem: {"Keys": [...], ...}
        items = requests.get("Keys") or []
    else:  # BatchWriteItem: [{"PutRequest": {"Item"}} | {"DeleteRequest": {"Key"}}]
        items = [(r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key")
                 for r in requests or () if isinstance(r, dict)]
    leading = leading_keys(ctx, table, items)
    return {"dynamodb:leadingkeys": leading} if leading else {}


def leading_keys(ctx: Context, table: str, items: list) -> list[str]:
    """The partition key values (as strings) of the keys or items given; none when the table is
    unknown (the operation then answers ResourceNotFound, after IAM let it through on the ARN)."""
    try:
        hash_name = ctx.table(table_name_of(table)).key_schema.hash_name
    except Exception:  # an unknown table or a malformed name: the operation reports it
        return []
    values = []
    for item in items:
        value = item.get(hash_name) if isinstance(item, dict) else None
        if isinstance(value, dict) and len(value) == 1:
            values.append(str(next(iter(value.values()))))
    return values


def attribute_names(req: dict) -> list[str]:
    """Attribute names a call writes (Item) or projects (ProjectionExpression, AttributesToGet),
    with expression placeholders resolved."""
    if isinstance(req.get("Item"), dict):
        return sorted(req["Item"])
    if isinstance(req.get("AttributesToGet"), list):
        return [str(n) for n in req["AttributesToGet"]]
    projection = req.get("ProjectionExpression")
    if not isinstance(projection, str):
        return []
    placeholders = req.get("ExpressionAttributeNames") or {}
    names = []
    for path in projection.split(","):
        first = PROJECTED_NAME.match(path.strip())
        if first:
            top = first.group(0).split(".")[0].split("[")[0]
            names.append(str(placeholders.get(top, top)) if top.startswith("#") else top)
    return sorted(set(names))
