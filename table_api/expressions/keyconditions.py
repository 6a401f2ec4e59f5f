"""KeyConditionExpression: the forms a Query accepts, checked on the resolved condition tree.

    key condition := condition ( AND condition )?            at most one condition per attribute
    condition     := key op :v  |  :v op key                  op := = | < | <= | > | >=
                   | key BETWEEN :v AND :v  |  begins_with(key, :v)

A key condition is parsed by the condition grammar (`parse_condition(text,
"KeyConditionExpression")`) and resolved like any condition, as DynamoDB does: it uses one parser
for both, so `OR`, `<>` or `contains` parse and are refused here, with DynamoDB's words, in the
order its check walks the tree (dynalite's validations/index.js, whose tests ran against AWS).

The result is one `KeyCondition` per attribute, in the legacy ComparisonOperator vocabulary, which
is also what the legacy `KeyConditions` parameter translates to. Whether the attributes are the
table's keys, of the key's type, is for the operation to check: it knows the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from table_api.errors import ValidationException

from .ast import (
    And,
    AttributeValue,
    Between,
    Call,
    Compare,
    Condition,
    In,
    Literal,
    Not,
    Operand,
    Or,
    Path,
)

OPERATORS = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}  # `:v < key` is `key > :v`
NOT_KEY_OPERATORS = frozenset({"attribute_exists", "attribute_not_exists", "attribute_type", "contains"})

INVALID_OPERATOR = "Invalid operator used in KeyConditionExpression: {}"
FIRST_OPERAND = "Invalid condition in KeyConditionExpression: {} operator must have the key attribute as its first operand"
MULTIPLE_NAMES = "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
NO_KEY = "Invalid condition in KeyConditionExpression: No key attribute specified"
NESTED_OPERATIONS = "KeyConditionExpressions cannot contain nested operations"
NESTED_ATTRIBUTES = "KeyConditionExpressions cannot have conditions on nested attributes"
ONE_PER_KEY = "KeyConditionExpressions must only contain one condition per key"
ONE_OR_TWO = "Conditions can be of length 1 or 2 only"


@dataclass(frozen=True)
class KeyCondition:
    """`name op values`: op is EQ, LT, LE, GT, GE, BETWEEN or BEGINS_WITH (or, from legacy
    KeyConditions, an operator the key check refuses)."""

    name: str
    op: str
    values: tuple[AttributeValue, ...]


def key_conditions(tree: Condition) -> dict[str, KeyCondition]:
    """The conditions of a resolved KeyConditionExpression, by attribute name."""
    found: dict[str, KeyCondition] = {}
    _collect(tree, found)
    if len(found) not in (1, 2):
        raise ValidationException(ONE_OR_TWO)
    return found


def _collect(node: Condition, found: dict[str, KeyCondition]) -> None:
    _check_operator(node)
    if isinstance(node, And):
        _collect(node.left, found)
        _collect(node.right, found)
        return
    operands = _operands(node)
    name, position = _key_attribute(operands)
    if name in found:
        raise ValidationException(ONE_PER_KEY)
    values = tuple(o.value for o in operands if isinstance(o, Literal))
    found[name] = KeyCondition(name, _operator(node, position), values)


def _check_operator(node: Condition) -> None:
    match node:
        case Or():
            raise ValidationException(INVALID_OPERATOR.format("OR"))
        case Not():
            raise ValidationException(INVALID_OPERATOR.format("NOT"))
        case In():
            raise ValidationException(INVALID_OPERATOR.format("IN"))
        case Compare("<>", _, _):
            raise ValidationException(INVALID_OPERATOR.format("<>"))
        case Call(name, _) if name in NOT_KEY_OPERATORS:
            raise ValidationException(INVALID_OPERATOR.format(name))
        case Call("size", _):
            raise ValidationException(NESTED_OPERATIONS)
        case Between(value, _, _) if not isinstance(value, Path):
            raise ValidationException(FIRST_OPERAND.format("BETWEEN"))
        case Call("begins_with", (first, _)) if not isinstance(first, Path):
            raise ValidationException(FIRST_OPERAND.format("begins_with"))


def _operands(node: Condition) -> tuple[Operand, ...]:
    match node:
        case Compare(_, left, right):
            return (left, right)
        case Between(value, low, high):
            return (value, low, high)
        case Call(_, args):
            return args
    raise TypeError(f"not a primitive condition: {node!r}")


def _key_attribute(operands: tuple[Operand, ...]) -> tuple[str, int]:
    """The one top-level attribute among the operands, and its position."""
    name, position = None, 0
    for i, operand in enumerate(operands):
        if isinstance(operand, Path):
            if name is not None:
                raise ValidationException(MULTIPLE_NAMES)
            if len(operand.segments) > 1:
                raise ValidationException(NESTED_ATTRIBUTES)
            name, position = operand.segments[0], i
        elif isinstance(operand, Call):
            raise ValidationException(NESTED_OPERATIONS)
    if name is None:
        raise ValidationException(NO_KEY)
    return name, position


def _operator(node: Condition, position: int) -> str:
    match node:
        case Compare(op, _, _):
            return OPERATORS[op if position == 0 else FLIPPED[op]]
        case Between():
            return "BETWEEN"
    return "BEGINS_WITH"


def path_heads(node: Condition) -> list[str]:
    """The top-level attribute names a resolved condition refers to, in the order written."""
    match node:
        case And(left, right) | Or(left, right):
            return path_heads(left) + path_heads(right)
        case Not(inner):
            return path_heads(inner)
        case Compare(_, left, right):
            return _operand_heads(left, right)
        case Between(value, low, high):
            return _operand_heads(value, low, high)
        case In(value, options):
            return _operand_heads(value, *options)
        case Call(_, args):
            return _operand_heads(*args)
    return []


def _operand_heads(*operands: Operand) -> list[str]:
    heads: list[str] = []
    for operand in operands:
        if isinstance(operand, Path):
            heads.append(operand.segments[0])
        elif isinstance(operand, Call):
            heads += _operand_heads(*operand.args)
    return heads
