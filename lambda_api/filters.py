"""Lambda's event filtering pattern language (FilterCriteria), parsed once when a mapping is created
or updated and matched against each record: pure code.

A pattern is a JSON object. Each key names a field of the record; its value is either a nested
pattern (an object) or a list of matchers, any of which may match: a string, number, boolean or null
(exact; numbers compare as numbers), `{"prefix": s}`, `{"suffix": s}`, `{"equals-ignore-case": s}`,
`{"anything-but": value | [values] | {"prefix": s} | {"suffix": s} | {"equals-ignore-case": s}}`,
`{"numeric": [op, n, (op, n)]}` with `=`, `<`, `<=`, `>`, `>=`, `{"exists": true | false}`.
`"$or": [pattern, ...]` at any level: one of them must match as well as the other keys. A field that
holds a list matches when one of its elements does. Every key of a pattern must match (AND), and a
record passes a mapping's filters when any of its patterns matches (OR)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

MAX_FILTERS = 5  # Lambda's quota of filters per event source mapping
NUMERIC_OPERATORS = {"=", "<", "<=", ">", ">="}
ABSENT = object()


class InvalidPattern(ValueError):
    pass


@dataclass(frozen=True)
class Pattern:
    fields: tuple[tuple[str, Any], ...]  # (name, Pattern | tuple of matchers)
    alternatives: tuple[Pattern, ...] = ()  # $or


def parse_filters(criteria: dict | None) -> list[Pattern]:
    """The patterns of a FilterCriteria; InvalidPattern says what Lambda would refuse."""
    filters = (criteria or {}).get("Filters") or []
    if len(filters) > MAX_FILTERS:
        raise InvalidPattern(f"The number of filters exceeds the maximum of {MAX_FILTERS}.")
    patterns = []
    for entry in filters:
        text = entry.get("Pattern")
        if text is None:
            raise InvalidPattern("Invalid filter pattern definition: Pattern is required.")
        try:
            tree = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidPattern(f"Invalid filter pattern definition: {text} is not JSON.") from None
        patterns.append(parse_pattern(tree))
    return patterns


def parse_pattern(tree: Any) -> Pattern:
    if not isinstance(tree, dict):
        raise InvalidPattern("Invalid filter pattern definition: a pattern must be a JSON object.")
    fields, alternatives = [], ()
    for name, value in tree.items():
        if name == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise InvalidPattern("Invalid filter pattern definition: $or takes a list of at least two patterns.")
            alternatives = tuple(parse_pattern(v) for v in value)
        elif isinstance(value, dict):
            fields.append((name, parse_pattern(value)))
        elif isinstance(value, list) and value:
            fields.append((name, tuple(parse_matcher(m) for m in value)))
        else:
            raise InvalidPattern(f"Invalid filter pattern definition: the value of {name} must be an object or a "
                                 "non-empty list.")
    return Pattern(tuple(fields), alternatives)


def parse_matcher(matcher: Any) -> tuple:
    """A matcher as (kind, argument)."""
    if matcher is None or isinstance(matcher, (str, bool)):
        return ("exact", matcher)
    if isinstance(matcher, (int, float)):
        return ("exact", Decimal(str(matcher)))
    if not isinstance(matcher, dict) or len(matcher) != 1:
        raise InvalidPattern(f"Invalid filter pattern definition: {orjson.dumps(matcher).decode()}")
    [(kind, argument)] = matcher.items()
    if kind in ("prefix", "suffix", "equals-ignore-case") and isinstance(argument, str):
        return (kind, argument)
    if kind == "exists" and isinstance(argument, bool):
        return (kind, argument)
    if kind == "numeric":
        return (kind, numeric_conditions(argument))
    if kind == "anything-but":
        if isinstance(argument, dict):
            return (kind, (parse_matcher(argument),))
        values = argument if isinstance(argument, list) else [argument]
        if values and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            return (kind, tuple(parse_matcher(v) for v in values))
    raise InvalidPattern(f"Invalid filter pattern definition: unsupported {kind}: {orjson.dumps(argument).decode()}")


def numeric_conditions(argument: Any) -> tuple[tuple[str, Decimal], ...]:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise InvalidPattern("Invalid filter pattern definition: numeric takes one or two (operator, number) pairs.")
    pairs = []
    for op, number in zip(argument[::2], argument[1::2]):
        if op not in NUMERIC_OPERATORS or isinstance(number, bool) or not isinstance(number, (int, float)):
            raise InvalidPattern(f"Invalid filter pattern definition: numeric {op} {number}")
        pairs.append((op, Decimal(str(number))))
    return tuple(pairs)


def passes(patterns: list[Pattern], record: dict) -> bool:
    """No filters: every record; else a record any pattern matches."""
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: Pattern, value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for name, rule in pattern.fields:
        field = value.get(name, ABSENT)
        if isinstance(rule, Pattern):
            if not matches(rule, field):
                return False
        elif not any(matches_one(m, field) for m in rule):
            return False
    return not pattern.alternatives or any(matches(a, value) for a in pattern.alternatives)


def matches_one(matcher: tuple, field: Any) -> bool:
    kind, argument = matcher
    if kind == "exists":
        return (field is not ABSENT) == argument
    if field is ABSENT:
        return kind == "anything-but"
    if isinstance(field, list):
        return any(matches_one(matcher, element) for element in field)
    match kind:
        case "exact":
            return same(argument, field)
        case "prefix":
            return isinstance(field, str) and field.startswith(argument)
        case "suffix":
            return isinstance(field, str) and field.endswith(argument)
        case "equals-ignore-case":
            return isinstance(field, str) and field.casefold() == argument.casefold()
        case "anything-but":
            return not any(matches_one(m, field) for m in argument)
        case "numeric":
            number = as_number(field)
            return number is not None and all(compare(op, number, bound) for op, bound in argument)
    return False


def same(expected: Any, field: Any) -> bool:
    if isinstance(expected, Decimal):
        number = as_number(field)
        return number is not None and number == expected
    if isinstance(expected, bool) or expected is None:
        return field is expected
    return isinstance(field, str) and field == expected


def as_number(field: Any) -> Decimal | None:
    if isinstance(field, bool) or not isinstance(field, (int, float)):
        return None
    try:
        return Decimal(str(field))
    except InvalidOperation:
        return None


def compare(op: str, left: Decimal, right: Decimal) -> bool:
    return {"=": left == right, "<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
