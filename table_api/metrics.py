"""What the table service records into the metric store (monitoring/), under CloudWatch's AWS/DynamoDB
names: each request's outcome (`observe`, called by the server after every call) and the units
every charge counts (`record_consumed`, from capacity.charge_tables), whether or not
--enforce-capacity throttles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_json.errors import AWSError
from monitoring.handles import DynamoDBSeries

if TYPE_CHECKING:
    from table_api.context import Context, Table

# The operations CloudWatch reports SuccessfulRequestLatency, ThrottledRequests and SystemErrors of
ITEM_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                             "BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
                             "BatchExecuteStatement", "ExecuteTransaction"})
THROTTLES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


def record_consumed(metrics: DynamoDBSeries, charges: list) -> None:
    """Each (table, kind, units, index units) of a charge: the table's own units with its LSIs'
    (LSIs spend their table's capacity), each GSI's under its GlobalSecondaryIndexName."""
    for table, kind, units, index_units in charges:
        series = metrics.table(table.name)
        if index_units:
            for index, used in index_units.items():
                if index.is_global:
                    series.index_consumed(kind, index.name).add(used)
                else:
                    units += used
        series.consumed[kind].add(units)


def observe(ctx: Context | None, operation: str, req: dict | None, result: dict | None, error: AWSError | None,
            seconds: float) -> None:
    """One call's outcome (the server calls this after each DynamoDB call)."""
    if ctx is None:
        return
    metrics = ctx.metrics
    if error is None:
        if operation in ITEM_OPERATIONS:
            record_success(metrics, operation, req, result, seconds)
        return
    failure = type(error).__name__
    if failure == "ConditionalCheckFailedException":
        for name in tables_of(operation, req or {}):
            metrics.table(name).conditional_check_failed.add(1)
    elif failure in THROTTLES:
        for name in tables_of(operation, req or {}):
            metrics.table(name).operation("ThrottledRequests", operation).add(1)
    elif error.status >= 500 and operation in ITEM_OPERATIONS:
        for name in tables_of(operation, req or {}):
            metrics.table(name).operation("SystemErrors", operation).add(1)
    elif error.status == 400:
        metrics.user_errors.add(1)


def record_success(metrics: DynamoDBSeries, operation: str, req: dict, result: dict | None, seconds: float) -> None:
    """SuccessfulRequestLatency per table named, ReturnedItemCount of a Query or Scan. A plain
    TableName (most calls) skips the general lookup: this runs on every item call."""
    name = req.get("TableName")
    names = (name,) if name is not None and ":" not in name else tables_of(operation, req)
    for name in names:
        table = metrics.tables.get(name) or metrics.table(name)
        table.operation("SuccessfulRequestLatency", operation).add(seconds * 1000)
    if result is not None and operation in ("Query", "Scan"):
        table.operation("ReturnedItemCount", operation).add(result.get("Count", 0))


def tables_of(operation: str, req: dict) -> list[str]:
    """The tables a (valid) request names: TableName, a batch's RequestItems, a transaction's items."""
    if "TableName" in req:
        names = [req["TableName"]]
    elif operation.startswith("Batch"):
        names = list(req.get("RequestItems") or ())
    elif operation.startswith("Transact"):
        names = [action.get("TableName") for item in req.get("TransactItems") or () for action in item.values()
                 if isinstance(action, dict)]
    else:
        names = []
    return list(dict.fromkeys(n.rpartition(":table/")[2].split("/", 1)[0] for n in names if isinstance(n, str)))


def record_ttl_deletes(ctx: Context, table: Table, deleted: int) -> None:
    if deleted:
        ctx.metrics.table(table.name).ttl_deleted.add(deleted)
