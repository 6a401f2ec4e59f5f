"""Stage two: fill in `#name` and `:value` references, and check what needs them known.

One Resolver serves one request: resolve each of its expressions (condition, filter, key
condition, projection, update), then call `check_unused()`, since DynamoDB rejects names and
values that none of the request's expressions used.

    resolver = Resolver(req.get("ExpressionAttributeNames"), req.get("ExpressionAttributeValues"))
    cond = resolver.condition(parse_condition(req["ConditionExpression"]))
    paths = resolver.projection(parse_projection(req["ProjectionExpression"]))
    resolver.check_unused()

Reserved words are a parse-level check (parser.py), as in DynamoDB, where a reserved word
beats an undefined name; the resolver never sees a bare name it would have to judge.
"""

from __future__ import annotations

from typing import Any

from . import checks, messages
from .ast import (
    AddAction, And, Arith, Between, Call, Compare, Condition, DeleteAction, In, Literal, NameRef,
    Not, Operand, Or, Path, RemoveAction, SetAction, Update, ValueRef, operand_paths,
)
from .paths import overlap_problem


class Resolver:
    def __init__(self, names: dict[str, str] | None, values: dict[str, Any] | None):
        self.names = names or {}
        self.values = values or {}
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()

    # --- the expressions of a request ------------------------------------------------------

    def condition(self, tree: Condition, expression: str = "ConditionExpression") -> Condition:
        """Resolve a condition; each primitive condition is checked once resolved."""
        match tree:
            case And(left, right):
                return And(self.condition(left, expression), self.condition(right, expression))
            case Or(left, right):
                return Or(self.condition(left, expression), self.condition(right, expression))
            case Not(inner):
                return Not(self.condition(inner, expression))
            case Compare(op, left, right):
                node = Compare(op, self.operand(left, expression), self.operand(right, expression))
            case Between(value, low, high):
                node = Between(*(self.operand(o, expression) for o in (value, low, high)))
            case In(value, options):
                node = In(self.operand(value, expression), tuple(self.operand(o, expression) for o in options))
            case Call():
                node = self.operand(tree, expression)
        problem = checks.condition_problem(node)
        if problem:
            raise messages.invalid(expression, problem)
        return node

    def projection(self, paths: tuple[Path, ...], expression: str = "ProjectionExpression") -> tuple[Path, ...]:
        resolved = tuple(self.path(path, expression) for path in paths)
        problem = overlap_problem(resolved)
        if problem:
            raise messages.invalid(expression, problem)
        return resolved

    def update(self, tree: Update, expression: str = "UpdateExpression") -> Update:
        for ref in _name_refs(tree):  # DynamoDB reports any undefined name before any value
            self.path(Path((ref,)), expression)
        paths = [self.path(action.path, expression) for action in tree.actions]
        resolved = Update(tuple(self.action(a, p, expression) for a, p in zip(tree.actions, paths)))
        problem = overlap_problem(paths) or checks.update_problem(resolved)
        if problem:
            raise messages.invalid(expression, problem)
        return resolved

    def check_unused(self) -> None:
        """Raise if a name or value was given that no expression of the request used."""
        unused_names = [key for key in self.names if key not in self.used_names]
        if unused_names:
            raise messages.unused("ExpressionAttributeNames", unused_names)
        unused_values = [key for key in self.values if key not in self.used_values]
        if unused_values:
            raise messages.unused("ExpressionAttributeValues", unused_values)

    # --- the pieces -------------------------------------------------------------------------

    def operand(self, node: Operand, expression: str) -> Operand:
        match node:
            case Path():
                return self.path(node, expression)
            case ValueRef(ref):
                if ref not in self.values:
                    raise messages.invalid(expression, messages.undefined_value(ref))
                self.used_values.add(ref)
                return Literal(self.values[ref])
            case Call(name, args):
                return Call(name, tuple(self.operand(a, expression) for a in args))
            case Arith(op, left, right):
                return Arith(op, self.operand(left, expression), self.operand(right, expression))
        return node  # already a Literal

    def path(self, path: Path, expression: str) -> Path:
        segments = []
        for segment in path.segments:
            if isinstance(segment, NameRef):
                if segment.name not in self.names:
                    raise messages.invalid(expression, messages.undefined_name(segment.name))
                self.used_names.add(segment.name)
                segment = self.names[segment.name]
            segments.append(segment)
        return Path(tuple(segments))

    def action(self, action, path: Path, expression: str):
        match action:
            case SetAction(_, value):
                return SetAction(path, self.operand(value, expression))
            case RemoveAction():
                return RemoveAction(path)
            case AddAction(_, value):
                return AddAction(path, self.operand(value, expression))
            case DeleteAction(_, value):
                return DeleteAction(path, self.operand(value, expression))


def _name_refs(tree: Update):
    """The #name references of an update expression, in the order written."""
    for action in tree.actions:
        yield from (s for s in action.path.segments if isinstance(s, NameRef))
        if not isinstance(action, RemoveAction):
            for path in operand_paths(action.value):
                yield from (s for s in path.segments if isinstance(s, NameRef))
