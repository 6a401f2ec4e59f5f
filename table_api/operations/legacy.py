"""The legacy (pre-expression) parameters real code still sends, translated into the trees the
expression language builds, so that one evaluator serves both:

- `Expected` (+ `ConditionalOperator`) on PutItem, DeleteItem, UpdateItem -> a resolved condition;
- `AttributeUpdates` on UpdateItem -> a resolved update (PUT -> SET, DELETE without a value ->
  REMOVE, DELETE -> DELETE, ADD -> ADD).

An attribute name here is a whole top-level name, never a document path: `a.b` is the attribute
called "a.b". A request may use legacy parameters or expressions, not both (`check_not_mixed`).

Messages are DynamoDB's (dynalite's tests against AWS; DynamoDB Local's validators for the
order of the checks and for the texts dynalite has no test of).
"""

from __future__ import annotations

from functools import reduce

from table_api.errors import ValidationException
from table_api.expressions import (
    AddAction, And, Between, Call, Compare, Condition, DeleteAction, In, Literal, Not, Or, Path,
    RemoveAction, SetAction, Update,
)
from table_api.values import compare, type_of, validate_value

INVALID = "One or more parameter values were invalid: "
# The parameters DynamoDB names in the "both kinds" error, in the order it names them.
NON_EXPRESSION = ("AttributeUpdates", "AttributesToGet", "Expected", "QueryFilter", "ScanFilter", "ConditionalOperator")
EXPRESSION = ("UpdateExpression", "ProjectionExpression", "ConditionExpression", "FilterExpression", "KeyConditionExpression")

SCALARS = frozenset({"S", "N", "B"})
SETS = frozenset({"SS", "NS", "BS"})
ANY = None  # every type
# ComparisonOperator -> (number of values: an int, or None for one or more; the types allowed)
OPERATORS = {
    "EQ": (1, ANY), "NE": (1, ANY), "LE": (1, SCALARS), "LT": (1, SCALARS), "GE": (1, SCALARS),
    "GT": (1, SCALARS), "NULL": (0, ANY), "NOT_NULL": (0, ANY), "CONTAINS": (1, SCALARS),
    "NOT_CONTAINS": (1, SCALARS), "BEGINS_WITH": (1, frozenset({"S", "B"})), "IN": (None, SCALARS),
    "BETWEEN": (2, SCALARS),
}
UPDATE_TYPE_MISMATCH = "Type mismatch for attribute to update"


def check_not_mixed(req: dict) -> None:
    """DynamoDB refuses legacy parameters next to expressions. (KeyConditions counts only next to a
    KeyConditionExpression, as in DynamoDB.)"""
    legacy = [p for p in NON_EXPRESSION if req.get(p) is not None]
    if req.get("KeyConditionExpression") is not None and req.get("KeyConditions") is not None:
        legacy.append("KeyConditions")
    refuse_mixed(legacy, [p for p in EXPRESSION if req.get(p) is not None])


def refuse_mixed(legacy: list[str], expressions: list[str]) -> None:
    """DynamoDB's error for a request using both kinds of parameters (named in these orders)."""
    if legacy and expressions:
        raise ValidationException(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{', '.join(legacy)}}} Expression parameters: {{{', '.join(expressions)}}}"
        )


# --- Expected + ConditionalOperator -> condition ----------------------------------------------


def expected_condition(req: dict) -> Condition | None:
    """The request's `Expected` as one resolved condition (None without one)."""
    expected = req.get("Expected") or {}
    conditions = [_expected(name, spec or {}) for name, spec in expected.items()]
    operator = req.get("ConditionalOperator")
    if operator is not None and not conditions:
        raise ValidationException("ConditionalOperator cannot be used without Filter or Expected")
    if operator is not None and len(conditions) == 1:
        raise ValidationException("ConditionalOperator can only be used when Filter or Expected has two or more elements")
    if not conditions:
        return None
    combine = Or if operator == "OR" else And
    return reduce(combine, conditions)


def _expected(name: str, spec: dict) -> Condition:
    _check_expected(name, spec)
    path = Path((name,))
    operator = spec.get("ComparisonOperator")
    value = spec.get("Value")
    if operator is None:
        if value is None:  # Exists: false
            return Call("attribute_not_exists", (path,))
        return Compare("=", path, Literal(validate_value(value)))
    args = [value] if value is not None else spec.get("AttributeValueList") or []
    args = [validate_value(arg) for arg in args]
    _check_arguments(operator, args)
    return comparison(operator, path, [Literal(arg) for arg in args])


def _check_expected(name: str, spec: dict) -> None:
    """DynamoDB's rules for one ExpectedAttributeValue, in the order it checks them."""
    exists, operator = spec.get("Exists"), spec.get("ComparisonOperator")
    value, value_list = spec.get("Value"), spec.get("AttributeValueList")
    problem = None
    if exists is not None and operator is not None:
        problem = "Exists and ComparisonOperator cannot be used together"
    elif value is not None and value_list is not None:
        problem = "Value and AttributeValueList cannot be used together"
    elif operator is None and value_list is not None:
        problem = "AttributeValueList can only be used with a ComparisonOperator"
    elif exists is False and value is not None:
        problem = "Value cannot be used when Exists is false"
    elif value is None and value_list is None:
        if operator is not None and operator not in ("NULL", "NOT_NULL"):
            problem = f"Value or AttributeValueList must be used with ComparisonOperator: {operator}"
        elif operator is None and exists is not False:
            problem = f"Value must be provided when Exists is {'null' if exists is None else 'true'}"
    if problem:
        raise ValidationException(f"{INVALID}{problem} for Attribute: {name}")


def _check_arguments(operator: str, args: list[dict]) -> None:
    """Expected's order: each value's type, then whether it matches the first one's."""
    check_argument_count(operator, args)
    for arg in args:
        check_argument_type(operator, type_of(arg))
        if type_of(arg) != type_of(args[0]):
            raise ValidationException(MIXED_TYPES)
    check_between_order(operator, args)


# The argument checks of a ComparisonOperator, shared with QueryFilter / ScanFilter / KeyConditions
# (legacy_filters.py), which run them in another order, as DynamoDB does.
MIXED_TYPES = f"{INVALID}AttributeValues inside AttributeValueList must be of same type"


def check_argument_count(operator: str, args) -> None:
    count, _ = OPERATORS[operator]
    if (count is None and not args) or (count is not None and len(args) != count):
        raise ValidationException(f"{INVALID}Invalid number of argument(s) for the {operator} ComparisonOperator")


def check_argument_type(operator: str, kind: str) -> None:
    _, types = OPERATORS[operator]
    if types is not None and kind not in types:
        raise ValidationException(f"{INVALID}ComparisonOperator {operator} is not valid for {kind} AttributeValue type")


def check_between_order(operator: str, args) -> None:
    if operator == "BETWEEN" and (compare(args[0], args[1]) or 0) > 0:
        raise ValidationException("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")


def comparison(operator: str, path: Path, args: list[Literal]) -> Condition:
    """A legacy ComparisonOperator on `path` as a condition of the expression language (also what
    QueryFilter / ScanFilter conditions are)."""
    match operator:
        case "EQ" | "NE" | "LE" | "LT" | "GE" | "GT":
            symbol = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}[operator]
            return Compare(symbol, path, args[0])
        case "NULL":
            return Call("attribute_not_exists", (path,))
        case "NOT_NULL":
            return Call("attribute_exists", (path,))
        case "CONTAINS":
            return Call("contains", (path, args[0]))
        case "NOT_CONTAINS":  # false for a missing attribute, unlike NOT contains(...)
            return And(Call("attribute_exists", (path,)), Not(Call("contains", (path, args[0]))))
        case "BEGINS_WITH":
            return Call("begins_with", (path, args[0]))
        case "IN":
            return In(path, tuple(args))
        case "BETWEEN":
            return Between(path, args[0], args[1])
    raise ValueError(f"not a ComparisonOperator: {operator}")


# --- AttributeUpdates -> update ------------------------------------------------------------------


def attribute_updates(req: dict) -> Update:
    """The request's `AttributeUpdates` as one resolved update (no actions without it)."""
    updates = req.get("AttributeUpdates") or {}
    return Update(tuple(_update_action(name, spec or {}) for name, spec in updates.items()))


def _update_action(name: str, spec: dict):
    action = spec.get("Action") or "PUT"
    value = spec.get("Value")
    value = None if value is None else validate_value(value)
    path = Path((name,))
    if value is None:
        if action != "DELETE":
            raise ValidationException(f"{INVALID}Only DELETE action is allowed when no attribute value is specified")
        return RemoveAction(path)
    kind = type_of(value)
    if action == "DELETE":
        if kind not in SETS:
            raise ValidationException(f"{INVALID}DELETE action with value is not supported for the type {kind}")
        return DeleteAction(path, Literal(value))
    if action == "ADD":
        if kind not in SETS | {"N", "L"}:
            raise ValidationException(f"{INVALID}ADD action is not supported for the type {kind}")
        return AddAction(path, Literal(value))
    return SetAction(path, Literal(value))
