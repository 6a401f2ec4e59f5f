"""The condition language: ConditionExpression, FilterExpression and KeyConditionExpression.

    condition  := or
    or         := and ( OR and )*                 precedence: NOT > AND > OR,
    and        := not ( AND not )*                comparisons bind tighter than all three
    not        := NOT primary | primary
    primary    := "(" condition ")" | comparison | call
    comparison := operand ( comparator operand
                          | BETWEEN operand AND operand
                          | IN "(" operand ( "," operand )* ")" )
    comparator := "=" | "<>" | "<" | "<=" | ">" | ">="

Keywords are case-insensitive; function names are not. A "(" at the start of a primary may open
a condition, `(a = :v)`, or an operand, `(a) = :v`: the group is parsed as a condition that may
turn out to be a single operand, and a comparison then continues after the ")". No backtracking.

Function rules checked here: only size() may be an operand (of a comparison, BETWEEN, IN or a
function), and size() may not be a condition. Key conditions use this same grammar; their extra
rules (only =, <, <=, >, >=, BETWEEN, begins_with, AND) belong to the key-condition check.
"""

from __future__ import annotations

from functools import lru_cache

from . import messages
from .ast import CONDITION_NODES, And, Between, Call, Compare, Condition, In, Not, Operand, Or, Path, ValueRef
from .lexer import PUNCT
from .parser import Parser

COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
CONDITION_FUNCTIONS = frozenset(
    {"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size"}
)


class ConditionParser(Parser):
    keywords = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})
    functions = CONDITION_FUNCTIONS

    def parse(self) -> Condition:
        return self.finish(self.as_condition(self.or_()))

    def or_(self, bare: bool = False) -> Condition | Operand:
        left = self.and_(bare)
        while self.at_keyword("OR"):
            left = self.as_condition(left)
            self.advance()
            left = Or(left, self.as_condition(self.and_()))
        return left

    def and_(self, bare: bool = False) -> Condition | Operand:
        left = self.not_(bare)
        while self.at_keyword("AND"):
            left = self.as_condition(left)
            self.advance()
            left = And(left, self.as_condition(self.not_()))
        return left

    def not_(self, bare: bool = False) -> Condition | Operand:
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.as_condition(self.primary()))
        return self.primary(bare)

    def primary(self, bare: bool = False) -> Condition | Operand:
        """`bare`: inside "(...)", where a lone operand may still be compared after the ")"."""
        if self.at("("):
            inner = self.group(self.or_, True)
            if isinstance(inner, CONDITION_NODES):
                return inner
            return self.comparison(inner, bare)
        return self.comparison(self.atom(), bare)

    def comparison(self, left: Operand, bare: bool) -> Condition | Operand:
        token = self.tok
        if token.kind == PUNCT and token.text in COMPARATORS:
            self.advance()
            right = self.operand()
            self.operands_used(left, right)
            return Compare(token.text, left, right)
        if self.at_keyword("BETWEEN"):
            self.advance()
            low = self.operand()
            self.expect_keyword("AND")
            high = self.operand()
            self.operands_used(left, low, high)
            return Between(left, low, high)
        if self.at_keyword("IN"):
            self.advance()
            self.expect("(")
            options = [self.operand()]
            while self.at(","):
                self.advance()
                options.append(self.operand())
            self.expect(")")
            self.operands_used(left, *options)
            return In(left, tuple(options))
        if bare or isinstance(left, Call):
            return left  # a function condition, or an operand in parentheses
        self.fail()

    def as_condition(self, node: Condition | Operand) -> Condition:
        """Check that `node`, about to be combined or returned, is a condition."""
        if isinstance(node, (Path, ValueRef)):
            self.fail()  # a comparator was expected where we are now
        if isinstance(node, Call) and node.name == "size":
            self.note("misuse", messages.misused_function("size"))
        return node

    def operands_used(self, *operands: Operand) -> None:
        for operand in operands:
            self.argument_used(operand)

    def argument_used(self, arg: Operand) -> None:
        if isinstance(arg, Call) and arg.name != "size":
            self.note("misuse", messages.misused_function(arg.name))


@lru_cache(maxsize=1024)
def parse_condition(text: str, expression: str = "ConditionExpression") -> Condition:
    """Parse a condition (syntax only, cached on the string).

    `expression` names the request parameter in error messages: ConditionExpression,
    FilterExpression or KeyConditionExpression.
    """
    return ConditionParser(text, expression).parse()
