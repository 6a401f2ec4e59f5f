"""Paging tokens: opaque to clients, a position to us. A list page's token is the offset of its next
item; an event page's is the sort key of its last event, so events appended meanwhile neither
repeat nor go missing on the next page."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson


class BadToken(ValueError):
    pass


def encode(position: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode()


def decode(token: str | None, default: Any = None) -> Any:
    if token is None:
        return default
    try:
        return orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise BadToken(f"The specified nextToken is invalid: {token}") from None


def page(items: list, token: str | None, limit: int) -> tuple[list, str | None]:
    """One page of a list by offset, and the token of the next (None: this is the last)."""
    start = decode(token, 0)
    if not isinstance(start, int) or start < 0:
        raise BadToken(f"The specified nextToken is invalid: {token}")
    chunk = items[start:start + limit]
    return chunk, encode(start + limit) if start + limit < len(items) else None
