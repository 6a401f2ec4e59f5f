"""The shared parser: token cursor, syntax errors, and the grammar every language has in common.

Shared grammar (the languages in conditions.py and updates.py add their own rules on top):

    path      := name ( "." name | "[" INTEGER "]" )*          name := NAME | #name
    operand   := "(" operand ")" | atom
    atom      := :value | call | path
    call      := NAME "(" operand ( "," operand )* ")"
    projection:= path ( "," path )*

Parsing needs only the string. It raises the first *syntax* error at once; the other
parse-level findings (redundant parentheses, unknown or misused functions, reserved words) are
noted while parsing and raised after the whole string has parsed, the first of the kind that
comes first in `issue_order`, which is the order DynamoDB reports them in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NoReturn, TypeVar

from . import lexer, messages
from .ast import Call, NameRef, Operand, Path, Segment, ValueRef
from .lexer import EOF, INTEGER, NAME, NAME_REF, PUNCT, VALUE_REF, Token
from .reserved import is_reserved

T = TypeVar("T")


class Parser:
    keywords: frozenset[str] = frozenset()  # upper-case words that can never be names
    functions: frozenset[str] = frozenset()  # function names this language knows
    issue_order: tuple[str, ...] = ("parens", "function", "misuse", "reserved")

    def __init__(self, text: str, expression: str):
        lexer.check_size(text, expression)
        self.text = text
        self.expression = expression
        self.tokens = lexer.tokenize(text)
        self.pos = 0
        self.issues: dict[str, str] = {}
        self.groups: set[tuple[int, int]] = set()  # (open, close) token indexes of "(...)"
        self.depth = 0

    # --- cursor -----------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def at(self, punct: str) -> bool:
        return self.tok.kind == PUNCT and self.tok.text == punct

    def at_keyword(self, word: str) -> bool:
        return self.tok.kind == NAME and self.tok.text.upper() == word

    def advance(self) -> Token:
        token = self.tok
        if token.kind != EOF:
            self.pos += 1
        return token

    def expect(self, punct: str) -> Token:
        if not self.at(punct):
            self.fail()
        return self.advance()

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            self.fail()
        return self.advance()

    def fail(self) -> NoReturn:
        token = self.tok
        near = lexer.near(self.text, self.tokens, self.pos)
        raise messages.invalid(self.expression, messages.syntax(token.shown(), near))

    def note(self, kind: str, message: str) -> None:
        self.issues.setdefault(kind, message)

    def finish(self, result: T) -> T:
        if self.tok.kind != EOF:
            self.fail()
        for kind in self.issue_order:
            if kind in self.issues:
                raise messages.invalid(self.expression, self.issues[kind])
        return result

    # --- shared grammar ---------------------------------------------------------------------

    def path(self) -> Path:
        segments: list[Segment] = [self.path_name()]
        while True:
            if self.at("."):
                self.advance()
                segments.append(self.path_name())
            elif self.at("["):
                self.advance()
                segments.append(self.list_index())
                self.expect("]")
            else:
                break
        if len(segments) > messages.MAX_PATH_DEPTH:
            raise messages.invalid(self.expression, messages.path_too_deep(len(segments)))
        return Path(tuple(segments))

    def path_name(self) -> Segment:
        token = self.tok
        if token.kind == NAME_REF:
            self.advance()
            return NameRef(token.text)
        if token.kind == NAME and token.text.upper() not in self.keywords:
            self.advance()
            if is_reserved(token.text):
                self.note("reserved", messages.reserved_word(token.text))
            return token.text
        self.fail()

    def list_index(self) -> int:
        token = self.tok
        if token.kind != INTEGER:
            self.fail()
        self.advance()
        index = int(token.text)
        if index > messages.MAX_LIST_INDEX:
            raise messages.invalid(self.expression, messages.index_out_of_range(token.text))
        return index

    def operand(self) -> Operand:
        if self.at("("):
            return self.group(self.operand)
        return self.atom()

    def atom(self) -> Operand:
        token = self.tok
        if token.kind == VALUE_REF:
            self.advance()
            return ValueRef(token.text)
        if token.kind == NAME and token.text.upper() not in self.keywords:
            following = self.tokens[self.pos + 1]
            if following.kind == PUNCT and following.text == "(":
                return self.call()
        return self.path()

    def call(self) -> Call:
        name = self.advance().text
        self.expect("(")
        self.deeper()
        args = [self.operand()]
        while self.at(","):
            self.advance()
            args.append(self.operand())
        self.depth -= 1
        self.expect(")")
        if name not in self.functions:
            self.note("function", messages.unknown_function(name))
        for arg in args:
            self.argument_used(arg)
        return Call(name, tuple(args))

    def argument_used(self, arg: Operand) -> None:
        """Hook: a language may forbid some operands as function arguments."""

    def deeper(self) -> None:
        """Count one more level of parentheses; past MAX_NESTING, refuse rather than recurse on."""
        self.depth += 1
        if self.depth > messages.MAX_NESTING:
            raise messages.invalid(self.expression, messages.nested_too_deeply(self.depth))

    def group(self, inner: Callable[..., T], *args: object) -> T:
        """`"(" inner ")"`, noting DynamoDB's "redundant parentheses" for `((x))`."""
        opened = self.pos
        self.expect("(")
        self.deeper()
        node = inner(*args)
        self.depth -= 1
        closed = self.pos
        self.expect(")")
        if (opened + 1, closed - 1) in self.groups:
            self.note("parens", messages.REDUNDANT_PARENS)
        self.groups.add((opened, closed))
        return node


class ProjectionParser(Parser):
    issue_order = ("reserved",)

    def parse(self) -> tuple[Path, ...]:
        paths = [self.path()]
        while self.at(","):
            self.advance()
            paths.append(self.path())
        return self.finish(tuple(paths))


@lru_cache(maxsize=1024)
def parse_projection(text: str, expression: str = "ProjectionExpression") -> tuple[Path, ...]:
    """Parse a ProjectionExpression: comma-separated document paths (syntax only, cached)."""
    return ProjectionParser(text, expression).parse()
