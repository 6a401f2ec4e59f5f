"""Stage three for updates: apply a resolved update expression to an item. Pure.

    new = apply_update(update, old or key)        # `old` is left as it was

DynamoDB's semantics, where they are not obvious:
- Every operand is read from the item as it was before the update: `SET a = b, b = a` swaps.
- The actions apply together, not one after the other: list indexes name the elements of the
  original list (`REMOVE l[0], l[1]` removes the first two elements), and SET or ADD on an index
  past the end appends, in index order.
- Every step of a path but the last must exist and be of the right kind (a map for `.name`, a
  list for `[i]`), for REMOVE and DELETE too, else "The document path provided in the update
  expression is invalid for update". A missing last step is created (SET, ADD) or left alone
  (REMOVE, DELETE).
- ADD to a missing attribute sets it; ADD adds numbers and unites sets of one type. DELETE takes
  members out of a set of the same type and removes the attribute when none is left. Any other
  pair of types is "An operand in the update expression has an incorrect data type".
- ADD also appends lists: the expression language refuses a list operand before evaluation
  (checks.py), so only the legacy AttributeUpdates (its ADD of an L) gets here with one.

The paths of an update never overlap nor conflict (Resolver.update checks that): the actions
form a tree, applied in one walk that copies only the maps and lists on the way to a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from table_api import values
from table_api.errors import ValidationException

from . import messages
from .ast import (
    AddAction, Arith, AttributeValue, Call, DeleteAction, Literal, Operand, Path, RemoveAction,
    SetAction, Update,
)
from .paths import Item, get_path

Tree = dict[Any, Any]  # segment -> Tree, or -> _Leaf at the end of a path


@dataclass(frozen=True, slots=True)
class _Leaf:
    kind: str  # SET | REMOVE | ADD | DELETE
    value: AttributeValue | None  # SET: the computed value; ADD, DELETE: the operand


def apply_update(update: Update, item: Item, mismatch: str = messages.OPERAND_TYPE_MISMATCH) -> Item:
    """The item after `update`; ValidationException, with DynamoDB's message, when the update
    does not fit the item. `mismatch` is the message for ADD/DELETE on an attribute of another
    type (the legacy AttributeUpdates words it differently)."""
    if not update.actions:
        return item
    return _apply_entries(item, _tree(update, item), mismatch)


def _tree(update: Update, item: Item) -> Tree:
    """The actions as a tree of path segments; SET values are computed here, all from `item`."""
    tree: Tree = {}
    for action in update.actions:
        *parents, last = action.path.segments
        node = tree
        for segment in parents:
            node = node.setdefault(segment, {})
            if isinstance(node, _Leaf):
                raise ValueError(f"overlapping update paths at {action.path}")
        if last in node:
            raise ValueError(f"overlapping update paths at {action.path}")
        node[last] = _leaf(action, item)
    return tree


def _leaf(action, item: Item) -> _Leaf:
    match action:
        case SetAction(_, value):
            return _Leaf("SET", set_value(value, item))
        case RemoveAction():
            return _Leaf("REMOVE", None)
        case AddAction(_, Literal(value)):
            return _Leaf("ADD", value)
        case DeleteAction(_, Literal(value)):
            return _Leaf("DELETE", value)
    raise TypeError(f"not a resolved update action: {action!r}")


# --- SET values -----------------------------------------------------------------------------


def set_value(operand: Operand, item: Item) -> AttributeValue:
    """The value of a SET operand, read from `item`."""
    match operand:
        case Literal(value):
            return value
        case Path():
            return _existing(operand, item)
        case Call("if_not_exists", (path, default)):
            found = get_path(item, path)
            return found if found is not None else set_value(default, item)
        case Call("list_append", (first, second)):
            return {"L": _typed(first, item, "L") + _typed(second, item, "L")}
        case Arith(op, left, right):
            x, y = _typed(left, item, "N"), _typed(right, item, "N")
            return {"N": values.add_numbers(x, y, subtract=op == "-")}
    raise TypeError(f"not a resolved update operand: {operand!r}")


def _existing(path: Path, item: Item) -> AttributeValue:
    found = get_path(item, path)
    if found is None:
        raise ValidationException(messages.MISSING_ATTRIBUTE)
    return found


def _typed(operand: Operand, item: Item, kind: str) -> Any:
    value = set_value(operand, item)
    if kind not in value:
        raise ValidationException(messages.OPERAND_TYPE_MISMATCH)
    return value[kind]


# --- the walk -------------------------------------------------------------------------------


def _apply_entries(entries: dict[str, AttributeValue], tree: Tree, mismatch: str) -> dict[str, AttributeValue]:
    """A map's entries (or an item's attributes) with the tree's changes made."""
    out = dict(entries)
    for name, child in tree.items():
        new = _apply_child(entries.get(name), child, mismatch)
        if new is None:
            out.pop(name, None)
        else:
            out[name] = new
    return out


def _apply_list(elements: list[AttributeValue], tree: Tree, mismatch: str) -> list[AttributeValue]:
    out = []
    for index, old in enumerate(elements):
        child = tree.get(index)
        new = old if child is None else _apply_child(old, child, mismatch)
        if new is not None:
            out.append(new)
    for index in sorted(i for i in tree if i >= len(elements)):  # past the end: append
        new = _apply_child(None, tree[index], mismatch)
        if new is not None:
            out.append(new)
    return out


def _apply_child(old: AttributeValue | None, child: _Leaf | Tree, mismatch: str) -> AttributeValue | None:
    """The new value where `old` was (None: absent), or None to leave nothing there."""
    if isinstance(child, _Leaf):
        return _apply_leaf(old, child, mismatch)
    if old is None:
        raise ValidationException(messages.INVALID_UPDATE_PATH)
    if isinstance(next(iter(child)), int):
        if "L" not in old:
            raise ValidationException(messages.INVALID_UPDATE_PATH)
        return {"L": _apply_list(old["L"], child, mismatch)}
    if "M" not in old:
        raise ValidationException(messages.INVALID_UPDATE_PATH)
    return {"M": _apply_entries(old["M"], child, mismatch)}


def _apply_leaf(old: AttributeValue | None, leaf: _Leaf, mismatch: str) -> AttributeValue | None:
    match leaf.kind:
        case "SET":
            return leaf.value
        case "REMOVE":
            return None
        case "ADD":
            return leaf.value if old is None else _add(old, leaf.value, mismatch)
        case _:
            return None if old is None else _delete(old, leaf.value, mismatch)


def _add(old: AttributeValue, value: AttributeValue, mismatch: str) -> AttributeValue:
    kind = values.type_of(value)
    if values.type_of(old) != kind:
        raise ValidationException(mismatch)
    match kind:
        case "N":
            return {"N": values.add_numbers(old["N"], value["N"])}
        case "L":
            return {"L": old["L"] + value["L"]}
    return {kind: values.set_union(old[kind], value[kind])}


def _delete(old: AttributeValue, value: AttributeValue, mismatch: str) -> AttributeValue | None:
    kind = values.type_of(value)
    if values.type_of(old) != kind:
        raise ValidationException(mismatch)
    left = values.set_difference(old[kind], value[kind])
    return {kind: left} if left else None
