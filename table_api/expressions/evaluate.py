"""Stage three: evaluate a resolved condition against an item in wire form. Pure.

DynamoDB's semantics, where they are not obvious:
- A missing attribute (or path) makes =, <, <=, >, >=, BETWEEN, IN, begins_with, contains and
  attribute_type false, and `<>` true: missing is unequal to everything, even to missing.
- Values of different types are unequal, and never ordered (the comparison is false).
- size() counts UTF-16 code units of a string (as DynamoDB does), bytes of a binary, elements
  of a set or list, entries of a map; a number, boolean or null has no size, so a comparison
  with it is false.
- contains(): a substring of a string (or of a binary), an element of a set, an element of a
  list equal to the operand; false for anything else.
"""

from __future__ import annotations

from table_api import values

from .ast import And, AttributeValue, Between, Call, Compare, Condition, In, Literal, Not, Operand, Or, Path
from .paths import Item, get_path

_SET_ELEMENT = {"SS": "S", "NS": "N", "BS": "B"}
_ORDERING = {"<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0}


def evaluate(cond: Condition, item: Item) -> bool:
    """Whether the resolved condition holds for `item` (use {} for an item that does not exist)."""
    match cond:
        case And(left, right):
            return evaluate(left, item) and evaluate(right, item)
        case Or(left, right):
            return evaluate(left, item) or evaluate(right, item)
        case Not(inner):
            return not evaluate(inner, item)
        case Compare("=", left, right):
            return _equal(value(left, item), value(right, item))
        case Compare("<>", left, right):
            return not _equal(value(left, item), value(right, item))
        case Compare(op, left, right):
            order = _compare(value(left, item), value(right, item))
            return order is not None and _ORDERING[op](order)
        case Between(v, low, high):
            x = value(v, item)
            above, below = _compare(value(low, item), x), _compare(x, value(high, item))
            return above is not None and below is not None and above <= 0 and below <= 0
        case In(v, options):
            x = value(v, item)
            return any(_equal(x, value(option, item)) for option in options)
        case Call("attribute_exists", (path,)):
            return value(path, item) is not None
        case Call("attribute_not_exists", (path,)):
            return value(path, item) is None
        case Call("attribute_type", (path, type_name)):
            v, t = value(path, item), value(type_name, item)
            return v is not None and t is not None and values.type_of(v) == t.get("S")
        case Call("begins_with", (whole, prefix)):
            return _begins_with(value(whole, item), value(prefix, item))
        case Call("contains", (whole, part)):
            return _contains(value(whole, item), value(part, item))
    raise TypeError(f"not a resolved condition: {cond!r}")


def value(operand: Operand, item: Item) -> AttributeValue | None:
    """The value of an operand for `item`, None if it refers to nothing."""
    match operand:
        case Path():
            return get_path(item, operand)
        case Literal(v):
            return v
        case Call("size", (arg,)):
            return _size(value(arg, item))
    raise TypeError(f"not a resolved condition operand: {operand!r}")


def _equal(a: AttributeValue | None, b: AttributeValue | None) -> bool:
    return a is not None and b is not None and values.equal(a, b)


def _compare(a: AttributeValue | None, b: AttributeValue | None) -> int | None:
    if a is None or b is None:
        return None
    return values.compare(a, b)


def _begins_with(whole: AttributeValue | None, prefix: AttributeValue | None) -> bool:
    if whole is None or prefix is None or values.type_of(whole) != values.type_of(prefix):
        return False
    match values.type_of(whole):
        case "S":
            return whole["S"].startswith(prefix["S"])
        case "B":
            return values.binary(whole).startswith(values.binary(prefix))
    return False


def _contains(whole: AttributeValue | None, part: AttributeValue | None) -> bool:
    if whole is None or part is None:
        return False
    kind, part_kind = values.type_of(whole), values.type_of(part)
    match kind:
        case "S" | "B" if part_kind != kind:
            return False
        case "S":
            return part["S"] in whole["S"]
        case "B":
            return values.binary(part) in values.binary(whole)
        case "SS" | "NS" | "BS":
            element = _SET_ELEMENT[kind]
            return part_kind == element and any(values.equal({element: e}, part) for e in whole[kind])
        case "L":
            return any(values.equal(e, part) for e in whole["L"])
    return False


def _size(v: AttributeValue | None) -> AttributeValue | None:
    if v is None:
        return None
    match values.type_of(v):
        case "S":
            n = len(v["S"].encode("utf-16-le", "surrogatepass")) // 2
        case "B":
            n = len(values.binary(v))
        case "SS" | "NS" | "BS" | "L" | "M" as kind:
            n = len(v[kind])
        case _:
            return None
    return {"N": str(n)}
