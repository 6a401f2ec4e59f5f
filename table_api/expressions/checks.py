"""The checks DynamoDB makes once names and values are known, before anything is evaluated.

Each returns the first problem as DynamoDB words it, or None. Within one condition DynamoDB
reports, in this order: a wrong number of operands, an operand repeated where it must differ,
then a wrong operand type or use (`_first` keeps that order). The types known here are those of
constants (`:v`) and of size(), which is a number; a path's type is only known per item.
"""

from __future__ import annotations

from table_api import values

from . import messages
from .ast import Arith, AddAction, Between, Call, Compare, Condition, DeleteAction, In, Literal, Operand, Path, SetAction, Update
from .paths import path_str

ARITY = {
    "attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2,
    "contains": 2, "size": 1, "if_not_exists": 2, "list_append": 2,
}
ATTRIBUTE_TYPES = frozenset({"S", "N", "B", "NULL", "BOOL", "SS", "NS", "BS", "L", "M"})
ORDERED = frozenset({"S", "N", "B"})
_ORDER = ("operand", "distinct", "function")
_DISTINCT = frozenset({"attribute_type", "begins_with", "contains"})  # two operands that must differ


def condition_problem(node: Condition) -> str | None:
    """Problems of one primitive condition (not And/Or/Not), names and values resolved."""
    found: dict[str, str] = {}
    match node:
        case Compare(op, left, right):
            _calls(found, left, right)
            if isinstance(left, Path) and left == right:
                found.setdefault("distinct", messages.not_distinct(op, path_str(left)))
            if op not in ("=", "<>"):
                _ordered(found, op, left, right)
        case Between(value, low, high):
            _calls(found, value, low, high)
            _ordered(found, "BETWEEN", value, low, high)
            _between_bounds(found, low, high)
        case In(value, options):
            _calls(found, value, *options)
            if len(options) > messages.MAX_IN_OPERANDS:
                found.setdefault("operand", messages.too_many_in_operands(len(options)))
        case Call():
            _calls(found, node)
    return _first(found)


def update_problem(update: Update) -> str | None:
    """Problems of a resolved update expression, after its path overlap check."""
    found: dict[str, str] = {}
    for action in update.actions:
        match action:
            case SetAction(_, value):
                _calls(found, value)
                _nested_calls(found, value)
            case AddAction(_, Literal(av)) if type_of(av) not in ("N", "SS", "NS", "BS"):
                found.setdefault("update", messages.update_operand_type("ADD", _long(av)))
            case DeleteAction(_, Literal(av)) if type_of(av) not in ("SS", "NS", "BS"):
                found.setdefault("update", messages.update_operand_type("DELETE", _long(av)))
    return found.get("update") or _first(found)  # DynamoDB's order for updates


def _nested_calls(found: dict[str, str], operand: Operand) -> None:
    """In an update only if_not_exists() may be a function's argument: DynamoDB refuses e.g.
    list_append(list_append(:a, :b), :c) (the rule DAX's client states: "Only if_not_exists()
    function can be nested")."""
    match operand:
        case Call(_, args):
            for arg in args:
                if isinstance(arg, Call) and arg.name != "if_not_exists":
                    found.setdefault("function", messages.misused_function(arg.name))
                _nested_calls(found, arg)
        case Arith(_, left, right):
            _nested_calls(found, left)
            _nested_calls(found, right)


def type_of(av: dict) -> str:
    return values.type_of(av)


def constant_type(operand: Operand) -> str | None:
    """The type an operand has whatever the item: a constant's, or N for size()."""
    match operand:
        case Literal(av):
            return type_of(av)
        case Call("size", _):
            return "N"
        case Call("list_append", _):
            return "L"
        case Arith():
            return "N"
    return None


def _first(found: dict[str, str]) -> str | None:
    return next((found[kind] for kind in _ORDER if kind in found), None)


def _long(av: dict) -> str:
    return messages.LONG_TYPE_NAMES.get(type_of(av), type_of(av))


def _calls(found: dict[str, str], *operands: Operand) -> None:
    """Check every function call among `operands`, innermost first."""
    for operand in operands:
        match operand:
            case Call(name, args):
                _calls(found, *args)
                _call(found, name, args)
            case Arith(op, left, right):
                _calls(found, left, right)
                for side in (left, right):
                    kind = constant_type(side)
                    if kind is not None and kind != "N":
                        found.setdefault("function", messages.operand_type(op, kind))


def _call(found: dict[str, str], name: str, args: tuple[Operand, ...]) -> None:
    if ARITY.get(name, len(args)) != len(args):
        found.setdefault("operand", messages.operand_count(name, len(args)))
        return
    if name in _DISTINCT and isinstance(args[0], Path) and args[0] == args[1]:
        found.setdefault("distinct", messages.not_distinct(name, path_str(args[0])))
    kinds = [constant_type(arg) for arg in args]
    match name:
        case "attribute_exists" | "attribute_not_exists" | "if_not_exists" if not isinstance(args[0], Path):
            found.setdefault("function", messages.requires_path(name))
        case "begins_with":
            for kind in kinds:
                if kind is not None and kind not in ("S", "B"):
                    found.setdefault("function", messages.operand_type(name, kind))
        case "attribute_type" if kinds[1] != "S":
            found.setdefault("function", messages.operand_type(name, kinds[1] or messages.ANY_TYPE))
        case "attribute_type" if args[1].value["S"] not in ATTRIBUTE_TYPES:
            found.setdefault("function", messages.attribute_type_name(args[1].value["S"]))
        case "size" if kinds[0] in ("N", "BOOL", "NULL"):
            found.setdefault("function", messages.operand_type(name, kinds[0]))
        case "list_append":
            for kind in kinds:
                if kind is not None and kind != "L":
                    found.setdefault("function", messages.operand_type(name, kind))


def _ordered(found: dict[str, str], op: str, *operands: Operand) -> None:
    """<, <=, >, >= and BETWEEN compare only strings, numbers and binaries."""
    for operand in operands:
        kind = constant_type(operand)
        if kind is not None and kind not in ORDERED:
            found.setdefault("function", messages.operand_type(op, messages.LONG_TYPE_NAMES[kind]))


def _between_bounds(found: dict[str, str], low: Operand, high: Operand) -> None:
    if not (isinstance(low, Literal) and isinstance(high, Literal)):
        return
    if type_of(low.value) != type_of(high.value):
        found.setdefault("function", messages.between_types(low.value, high.value))
    elif type_of(low.value) in ORDERED and (values.compare(low.value, high.value) or 0) > 0:
        found.setdefault("function", messages.between_order(low.value, high.value))
