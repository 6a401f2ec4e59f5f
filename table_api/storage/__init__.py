"""Storage: the interface operations use, and its backends (SQLite by default).

Operations see tables as descriptions (dicts in DynamoDB's wire shape) and items as
wire-form dicts addressed by encoded key bytes (`keys.encode_key`), whose byte order is
DynamoDB's order. A backend is one module implementing `Storage`, `Transaction` and `Outbox`.
"""

from table_api.storage.base import (
    Bound,
    Outbox,
    OutboxRow,
    Storage,
    StoredItem,
    TableRecord,
    Transaction,
)

__all__ = ["Bound", "Outbox", "OutboxRow", "Storage", "StoredItem", "TableRecord", "Transaction"]
