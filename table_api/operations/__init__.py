"""The DynamoDB operations, one module per family, all registered on one `SERVICE`."""

from table_api.operations import items, tables  # noqa: F401  (importing registers the operations)
from table_api.operations.service import SERVICE

__all__ = ["SERVICE"]
