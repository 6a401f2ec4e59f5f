"""Document paths over items in wire form: read one, project several, check them for overlaps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import messages
from .ast import AttributeValue, Path

Item = dict[str, AttributeValue]


def get_path(item: Item, path: Path) -> AttributeValue | None:
    """The value at a resolved `path` in `item`, or None if any step is missing or mistyped."""
    head, *rest = path.segments
    value = item.get(head)
    for segment in rest:
        if value is None:
            return None
        if isinstance(segment, int):
            elements = value.get("L")
            value = elements[segment] if elements is not None and segment < len(elements) else None
        else:
            entries = value.get("M")
            value = entries.get(segment) if entries is not None else None
    return value


# --- projection ---------------------------------------------------------------------------

_WHOLE = None  # a trie leaf: take the whole value


def project(item: Item, paths: Iterable[Path]) -> Item:
    """ProjectionExpression's result: only the given paths, each keeping its nesting.

    `a.b` gives {"a": {"M": {"b": ...}}}; list elements come back as a list holding the
    projected elements in index order, `l[2], l[0]` giving {"l": {"L": [l0, l2]}}. Paths that
    are missing from the item, or do not match its structure, are left out.
    """
    trie: dict[Any, Any] = {}
    for path in paths:
        node = trie
        *steps, last = path.segments
        for step in steps:
            child = node.setdefault(step, {})
            if child is _WHOLE:
                break  # an overlapping path already takes the whole value
            node = child
        else:
            node[last] = _WHOLE
    return _pick_keys(item, trie)


def _pick_keys(entries: dict[str, AttributeValue], trie: dict) -> dict[str, AttributeValue]:
    picked = {}
    for key, sub in trie.items():
        if isinstance(key, str) and key in entries:
            value = _pick(entries[key], sub)
            if value is not None:
                picked[key] = value
    return picked


def _pick(value: AttributeValue, trie: dict | None) -> AttributeValue | None:
    if trie is _WHOLE:
        return value
    if "M" in value:
        kept = _pick_keys(value["M"], trie)
        return {"M": kept} if kept else None
    if "L" in value:
        elements = value["L"]
        indexes = sorted(key for key in trie if isinstance(key, int) and key < len(elements))
        kept = [v for v in (_pick(elements[i], trie[i]) for i in indexes) if v is not None]
        return {"L": kept} if kept else None
    return None


# --- checks -------------------------------------------------------------------------------


def path_str(path: Path) -> str:
    """A path as DynamoDB prints it in messages: [a, b, [2]]."""
    return "[" + ", ".join(f"[{s}]" if isinstance(s, int) else str(s) for s in path.segments) + "]"


def overlap_problem(paths: Iterable[Path]) -> str | None:
    """DynamoDB's check on projection and update paths: none may be a prefix of another
    (overlap, reported first) or use a key where another uses an index (conflict)."""
    seen: list[Path] = []
    conflict = None
    for path in paths:
        for earlier in seen:
            relation = _relation(earlier.segments, path.segments)
            if relation == "overlap":
                return messages.paths_overlap(path_str(earlier), path_str(path))
            if relation == "conflict" and conflict is None:
                conflict = messages.paths_conflict(path_str(earlier), path_str(path))
        seen.append(path)
    return conflict


def _relation(one: tuple, two: tuple) -> str | None:
    for a, b in zip(one, two):
        if isinstance(a, int) != isinstance(b, int):
            return "conflict"
        if a != b:
            return None
    return "overlap"
