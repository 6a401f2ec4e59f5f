"""Filter patterns for unstructured log events: terms (all must occur), "quoted phrases", `?term`
(any of the ?-terms must occur) and `-term` (must not occur), matched case-sensitively as
CloudWatch Logs does. JSON (`{ $.x = 1 }`) and space-delimited (`[a, b]`) patterns are refused, not
matched wrongly.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache


class UnsupportedPattern(ValueError):
    pass


@dataclass(frozen=True)
class Pattern:
    required: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        return (all(term in message for term in self.required)
                and (not self.any_of or any(term in message for term in self.any_of))
                and not any(term in message for term in self.excluded))


MATCH_ALL = Pattern()


@lru_cache(maxsize=256)
def parse(text: str | None) -> Pattern:
    text = (text or "").strip()
    if not text:
        return MATCH_ALL
    if text[0] in "{[" or re.match(r"%.*%$", text):
        raise UnsupportedPattern("JSON, space-delimited and regular-expression filter patterns are not supported "
                                 "here; use terms, \"quoted phrases\", ?term and -term")
    try:
        words = shlex.split(text, posix=True)
    except ValueError as exc:  # an unclosed quote
        raise UnsupportedPattern(f"Invalid character(s) in term '{text}': {exc}") from None
    required, any_of, excluded = [], [], []
    for word in words:
        if word.startswith("?") and len(word) > 1:
            any_of.append(word[1:])
        elif word.startswith("-") and len(word) > 1:
            excluded.append(word[1:])
        else:
            required.append(word)
    return Pattern(tuple(required), tuple(any_of), tuple(excluded))
