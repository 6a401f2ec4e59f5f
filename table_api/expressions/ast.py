"""The expression tree: frozen dataclasses, walked by one `match` per stage.

The parser builds trees holding `NameRef("#n")` path segments and `ValueRef(":v")` operands;
the resolver returns the same shapes with those replaced by attribute names (str) and
`Literal(attribute_value)`. Evaluation only ever sees resolved trees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

AttributeValue = dict[str, Any]  # wire form, exactly one key: {"S": "x"}, {"L": [...]}


# --- operands -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameRef:
    """A `#name` placeholder in a document path, before resolution."""

    name: str


Segment = Union[str, int, NameRef]  # attribute or map key, list index, placeholder


@dataclass(frozen=True, slots=True)
class Path:
    """A document path such as `a.b[2].#c`: a top-level attribute, then keys and indexes."""

    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A `:value` placeholder, before resolution."""

    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    """A resolved `:value`: the attribute value from ExpressionAttributeValues."""

    value: AttributeValue = field(hash=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A function: a condition (`begins_with(a, :p)`) or a value (`size(a)`, `if_not_exists(a, :v)`)."""

    name: str
    args: tuple["Operand", ...]


@dataclass(frozen=True, slots=True)
class Arith:
    """`left + right` or `left - right`, only in an update expression's SET value."""

    op: str
    left: "Operand"
    right: "Operand"


Operand = Union[Path, ValueRef, Literal, Call, Arith]


def operand_paths(operand: Operand):
    """The document paths an operand reads, in the order written."""
    match operand:
        case Path():
            yield operand
        case Call(_, args):
            for arg in args:
                yield from operand_paths(arg)
        case Arith(_, left, right):
            yield from operand_paths(left)
            yield from operand_paths(right)


# --- conditions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # = <> < <= > >=
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    value: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class In:
    value: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: "Condition"
    right: "Condition"


@dataclass(frozen=True, slots=True)
class Or:
    left: "Condition"
    right: "Condition"


@dataclass(frozen=True, slots=True)
class Not:
    inner: "Condition"


Condition = Union[Compare, Between, In, And, Or, Not, Call]
Node = Condition  # what parse_condition returns

CONDITION_NODES = (Compare, Between, In, And, Or, Not)  # a Call may be either kind


# --- update expressions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetAction:
    path: Path
    value: Operand


@dataclass(frozen=True, slots=True)
class RemoveAction:
    path: Path


@dataclass(frozen=True, slots=True)
class AddAction:
    path: Path
    value: Operand  # ValueRef, then Literal


@dataclass(frozen=True, slots=True)
class DeleteAction:
    path: Path
    value: Operand  # ValueRef, then Literal


Action = Union[SetAction, RemoveAction, AddAction, DeleteAction]


@dataclass(frozen=True, slots=True)
class Update:
    """The actions of an update expression, in the order written."""

    actions: tuple[Action, ...]
