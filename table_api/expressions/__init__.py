"""DynamoDB expressions in three stages: parse (syntax only, cached) → resolve (names, values) → evaluate (pure).

    tree = parse_condition(req["ConditionExpression"])                       # lru_cache on the string
    resolver = Resolver(req.get("ExpressionAttributeNames"), req.get("ExpressionAttributeValues"))
    cond = resolver.condition(tree)
    resolver.check_unused()                                                  # after all expressions
    if not evaluate(cond, old or {}):
        raise ConditionalCheckFailedException()

Modules: lexer (tokens, shared by all languages) → parser (shared path/operand grammar,
projection) → conditions, updates (their grammars) → resolve (+ checks) → evaluate, paths.
"""

from .ast import (
    Action, AddAction, And, Arith, AttributeValue, Between, Call, Compare, Condition, DeleteAction,
    In, Literal, NameRef, Node, Not, Operand, Or, Path, RemoveAction, SetAction, Update, ValueRef,
)
from .conditions import parse_condition
from .evaluate import evaluate, value
from .parser import parse_projection
from .paths import get_path, path_str, project
from .reserved import RESERVED_WORDS, is_reserved
from .resolve import Resolver
from .updates import parse_update

__all__ = [
    "parse_condition", "parse_projection", "parse_update", "Resolver", "evaluate", "value",
    "get_path", "project", "path_str", "RESERVED_WORDS", "is_reserved",
    "Action", "AddAction", "And", "Arith", "AttributeValue", "Between", "Call", "Compare",
    "Condition", "DeleteAction", "In", "Literal", "NameRef", "Node", "Not", "Operand", "Or",
    "Path", "RemoveAction", "SetAction", "Update", "ValueRef",
]
