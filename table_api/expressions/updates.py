"""The update language: UpdateExpression.

    update  := clause+                       each of SET, REMOVE, ADD, DELETE at most once
    clause  := SET set ( "," set )* | REMOVE path ( "," path )*
             | ADD path :value ( "," path :value )* | DELETE path :value ( "," path :value )*
    set     := path "=" value
    value   := "(" value ")" | operand ( ( "+" | "-" ) operand )?
    operand := shared (parser.py); functions: if_not_exists(path, operand), list_append(a, b)

Functions may nest here (`list_append(if_not_exists(l, :empty), :v)`), unlike in conditions.
"""

from __future__ import annotations

from functools import lru_cache

from . import messages
from .ast import Action, AddAction, Arith, DeleteAction, Operand, RemoveAction, SetAction, Update, ValueRef
from .lexer import EOF, NAME, VALUE_REF
from .parser import Parser

UPDATE_FUNCTIONS = frozenset({"if_not_exists", "list_append"})
SECTIONS = ("SET", "REMOVE", "ADD", "DELETE")


class UpdateParser(Parser):
    keywords = frozenset(SECTIONS)
    functions = UPDATE_FUNCTIONS
    issue_order = ("reserved", "function", "section")

    def parse(self) -> Update:
        seen: set[str] = set()
        actions = self.clause(seen)
        while self.tok.kind != EOF:
            actions += self.clause(seen)
        return self.finish(Update(tuple(actions)))

    def clause(self, seen: set[str]) -> list[Action]:
        token = self.tok
        section = token.text.upper() if token.kind == NAME else ""
        if section not in SECTIONS:
            self.fail()
        self.advance()
        if section in seen:
            self.note("section", messages.section_twice(section))
        seen.add(section)
        actions = [self.action(section)]
        while self.at(","):
            self.advance()
            actions.append(self.action(section))
        return actions

    def action(self, section: str) -> Action:
        path = self.path()
        match section:
            case "SET":
                self.expect("=")
                return SetAction(path, self.set_value())
            case "REMOVE":
                return RemoveAction(path)
            case "ADD":
                return AddAction(path, self.value_ref())
            case _:
                return DeleteAction(path, self.value_ref())

    def set_value(self) -> Operand:
        if self.at("("):
            left = self.group(self.set_value)
            if isinstance(left, Arith):
                return left
        else:
            left = self.atom()
        if self.at("+") or self.at("-"):
            op = self.advance().text
            return Arith(op, left, self.operand())
        return left

    def value_ref(self) -> ValueRef:
        token = self.tok
        if token.kind != VALUE_REF:
            self.fail()
        self.advance()
        return ValueRef(token.text)


@lru_cache(maxsize=1024)
def parse_update(text: str, expression: str = "UpdateExpression") -> Update:
    """Parse an UpdateExpression (syntax only, cached on the string)."""
    return UpdateParser(text, expression).parse()
