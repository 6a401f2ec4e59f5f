"""The one lexer of every expression language: condition, key condition, filter, projection, update.

Tokens carry their offsets so that a syntax error can quote the text around the bad token the
way DynamoDB does: `near` is the original text from the start of the token before the bad one to
the end of the token after it, whitespace included ("numx / :v", "a b", "= " at end of input).

Words are not classified here: whether `and`, `SET` or `size` is a keyword, a function or an
attribute name depends on the language and the position, which only the parser knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import messages

NAME = "name"  # attribute name, keyword or function name: a letter, then letters, digits, _
NAME_REF = "nameref"  # #name
VALUE_REF = "valueref"  # :value
INTEGER = "integer"  # a list index
PUNCT = "punct"  # = <> < <= > >= ( ) [ ] , . + -
INVALID = "invalid"  # any other single character, e.g. "_" at the start of a word, "!", "é"
EOF = "eof"

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<name>[A-Za-z][A-Za-z0-9_]*)
  | (?P<nameref>\#[A-Za-z0-9_]*)
  | (?P<valueref>:[A-Za-z0-9_]*)
  | (?P<integer>[0-9]+)
  | (?P<punct><>|<=|>=|[=<>()\[\],.+\-])
  | (?P<invalid>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    start: int
    end: int

    def shown(self) -> str:
        """The token as DynamoDB names it in a syntax error."""
        return "<EOF>" if self.kind == EOF else self.text


def tokenize(text: str) -> list[Token]:
    """All tokens of `text` without whitespace, always ending with one EOF token."""
    tokens = [
        Token(m.lastgroup, m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if m.lastgroup != "ws"
    ]
    tokens.append(Token(EOF, "", len(text), len(text)))
    return tokens


def near(text: str, tokens: list[Token], index: int) -> str:
    """DynamoDB's context for a syntax error at tokens[index]: previous, bad and next token."""
    bad = tokens[index]
    start = tokens[index - 1].start if index > 0 else bad.start
    end = bad.end
    if bad.kind != EOF and tokens[index + 1].kind != EOF:
        end = tokens[index + 1].end
    return text[start:end]


def check_size(text: str, expression: str) -> None:
    """The checks DynamoDB makes before parsing: not empty, at most 4 KB of UTF-8."""
    if not text.strip():
        raise messages.invalid(expression, messages.EMPTY)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > messages.MAX_EXPRESSION_BYTES:
        raise messages.invalid(expression, messages.too_long(size))
