"""The legacy read parameters of Query and Scan, translated into what the expression stages use:
`KeyConditions` into key conditions, `QueryFilter` / `ScanFilter` (+ `ConditionalOperator`) into
one resolved condition tree, `AttributesToGet` into projection paths.

Each legacy condition is `{"ComparisonOperator": OP, "AttributeValueList": [...]}` on one
top-level attribute. The checks and their texts are DynamoDB's (dynalite's validateConditions,
whose tests ran against AWS); the semantics are the expression language's, except where the
legacy operator differs: NOT_CONTAINS is false for a missing attribute (NOT contains() is true).

(UpdateItem's `Expected` uses the same comparison operators: both translate them with
`legacy.comparison`; only the argument checks differ, as they do in DynamoDB.)
"""

from __future__ import annotations

from table_api.errors import ValidationException
from table_api.expressions import (
    And,
    Condition,
    Literal,
    Or,
    Path,
)
from table_api.expressions.keyconditions import ONE_OR_TWO, KeyCondition
from table_api.operations.legacy import (
    INVALID,
    MIXED_TYPES,
    check_argument_count,
    check_argument_type,
    check_between_order,
    comparison,
)
from table_api.values import type_of, validate_value


def checked_conditions(conditions: dict | None) -> dict[str, tuple[str, tuple]]:
    """Validate a legacy condition map; return {attribute: (operator, values)}, values normalised."""
    checked = {}
    for name, condition in (conditions or {}).items():
        op = condition["ComparisonOperator"]
        values = tuple(validate_value(v) for v in condition.get("AttributeValueList") or ())
        _check_condition(op, values)
        checked[name] = (op, values)
    return checked


def _check_condition(op: str, values: tuple) -> None:
    """The filters' order: whether all values share one type, then whether it is allowed."""
    check_argument_count(op, values)
    kinds = [type_of(v) for v in values]
    if any(kind != kinds[0] for kind in kinds):
        raise ValidationException(MIXED_TYPES)
    for kind in kinds:
        check_argument_type(op, kind)
    check_between_order(op, values)


def key_conditions(conditions: dict) -> dict[str, KeyCondition]:
    """Legacy `KeyConditions`, validated, as key conditions (their operators checked later,
    against the table's key schema)."""
    checked = checked_conditions(conditions)
    if len(checked) not in (1, 2):
        raise ValidationException(ONE_OR_TWO)
    return {name: KeyCondition(name, op, values) for name, (op, values) in checked.items()}


def filter_condition(conditions: dict | None, conditional_operator: str | None) -> Condition | None:
    """Legacy `QueryFilter` / `ScanFilter` as one condition: the attributes' conditions joined
    by `ConditionalOperator` (AND by default). None for no (or an empty) filter."""
    checked = checked_conditions(conditions)
    joined = None
    for name, (op, values) in checked.items():
        node = legacy_condition(name, op, values)
        if joined is None:
            joined = node
        else:
            joined = Or(joined, node) if conditional_operator == "OR" else And(joined, node)
    return joined


def legacy_condition(name: str, op: str, values: tuple) -> Condition:
    """One legacy condition on the top-level attribute `name` as a resolved condition tree (the
    same translation as Expected's, in legacy.py)."""
    return comparison(op, Path((name,)), [Literal(v) for v in values])


def attribute_paths(names: list[str]) -> tuple[Path, ...]:
    """`AttributesToGet` as projection paths: top-level attributes, names taken literally."""
    seen = set()
    for name in names:
        if name in seen:
            raise ValidationException(INVALID + f"Duplicate value in attribute name: {name}")
        seen.add(name)
    return tuple(Path((name,)) for name in names)
