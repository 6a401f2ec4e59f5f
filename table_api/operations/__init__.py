"""The DynamoDB operations, one module per family, all registered on one `SERVICE`."""

from table_api.operations import items, tables, updates  # noqa: F401  (importing registers the operations)
from table_api.operations import batch, queries  # noqa: F401  (Query, Scan, BatchGetItem, BatchWriteItem)
from table_api.operations import time_to_live  # noqa: F401  (UpdateTimeToLive, DescribeTimeToLive)
from table_api.operations import transactions  # noqa: F401  (TransactWriteItems, TransactGetItems)
from table_api.operations import kinesis_destinations  # noqa: F401  (the Kinesis streaming destinations)
from table_api.authorization import checks
from table_api.operations.service import SERVICE

SERVICE.authorization = checks

__all__ = ["SERVICE"]
