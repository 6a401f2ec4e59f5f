"""S3 object keys as Firehose makes them: `<evaluated prefix><stream>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid>[.ext]`.

A prefix may hold expressions `!{timestamp:<Java DateTimeFormatter pattern>}`,
`!{firehose:random-string}` (11 random characters) and, in ErrorOutputPrefix only,
`!{firehose:error-output-type}`. A Prefix without expressions gets Firehose's default time folders
`YYYY/MM/dd/HH/` appended; one with expressions is used as it evaluates. Timestamps are UTC, of the
approximate arrival of the oldest record in the object. Parsing is pure and cached; evaluation takes
the time and the random source as arguments, so it is a pure function too.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

EXPRESSION = re.compile(r"!\{([^{}:]*):([^{}]*)\}")
ERROR_OUTPUT_TYPE = "error-output-type"
RANDOM_STRING = "random-string"
RANDOM_ALPHABET = string.ascii_letters + string.digits
DEFAULT_TIME_FOLDERS = "yyyy/MM/dd/HH"
# The Java DateTimeFormatter letters we evaluate (UTC): each run of one letter is one field.
TIME_FIELDS = {"yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S",
               "M": "%-m", "d": "%-d", "H": "%-H", "DDD": "%j"}


class PrefixError(ValueError):
    """A prefix Firehose refuses (InvalidArgumentException with this message)."""


@dataclass(frozen=True)
class Expression:
    namespace: str
    value: str


Part = str | Expression


@lru_cache(maxsize=256)
def parse(prefix: str, member: str = "Prefix") -> tuple[Part, ...]:
    parts: list[Part] = []
    position = 0
    for match in EXPRESSION.finditer(prefix):
        parts.append(prefix[position:match.start()])
        parts.append(check_expression(Expression(match.group(1), match.group(2)), member))
        position = match.end()
    rest = prefix[position:]
    if "!{" in rest or any("!{" in p for p in parts if isinstance(p, str)):
        raise PrefixError(f"{member} {prefix!r} has an expression that is not closed or is nested: "
                          "expressions are !{namespace:value}")
    parts.append(rest)
    return tuple(p for p in parts if p != "")


def check_expression(expression: Expression, member: str) -> Expression:
    match expression.namespace:
        case "timestamp":
            time_format(expression.value)  # raises on a pattern we cannot evaluate
        case "firehose" if expression.value in (RANDOM_STRING, ERROR_OUTPUT_TYPE):
            if expression.value == ERROR_OUTPUT_TYPE and member == "Prefix":
                raise PrefixError(
                    "The '!{firehose:error-output-type}' expression is only allowed in ErrorOutputPrefix.")
        case "firehose":
            raise PrefixError(f"{member}: '{expression.value}' is not a firehose namespace value: "
                              f"use {RANDOM_STRING} or {ERROR_OUTPUT_TYPE}")
        case "partitionKeyFromQuery" | "partitionKeyFromLambda":
            raise PrefixError(f"{member}: {expression.namespace} needs dynamic partitioning, which is not supported")
        case _:
            raise PrefixError(f"{member}: unknown expression namespace '{expression.namespace}': "
                              "use timestamp or firehose")
    return expression


@lru_cache(maxsize=256)
def time_format(pattern: str) -> str:
    """A Java DateTimeFormatter pattern as a strftime format (quoted text '...' is literal)."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise PrefixError(f"!{{timestamp:{pattern}}}: unterminated quoted text")
            out.append(pattern[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
        elif char.isalpha():
            run = len(pattern[i:]) - len(pattern[i:].lstrip(char))
            field = TIME_FIELDS.get(char * run)
            if field is None:
                raise PrefixError(f"!{{timestamp:{pattern}}}: pattern letters {char * run!r} are not supported "
                                  f"(supported: {', '.join(TIME_FIELDS)})")
            out.append(field)
            i += run
        else:
            out.append("%%" if char == "%" else char)
            i += 1
    if not pattern:
        raise PrefixError("!{timestamp:} needs a pattern, e.g. !{timestamp:yyyy/MM/dd}")
    return "".join(out)


def has_expressions(parts: tuple[Part, ...]) -> bool:
    return any(isinstance(p, Expression) for p in parts)


def validate(prefix: str | None, error_prefix: str | None) -> None:
    """Firehose's rules for the two prefixes together; raises PrefixError."""
    parts = parse(prefix or "", "Prefix")
    error_parts = parse(error_prefix or "", "ErrorOutputPrefix")
    if has_expressions(parts) and not error_prefix:
        raise PrefixError("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")
    if has_expressions(error_parts) and Expression("firehose", ERROR_OUTPUT_TYPE) not in error_parts:
        raise PrefixError("ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions.")


def evaluate(parts: tuple[Part, ...], when: datetime, error_type: str = "", random=secrets.choice) -> str:
    out = []
    for part in parts:
        match part:
            case str():
                out.append(part)
            case Expression("timestamp", pattern):
                out.append(when.strftime(time_format(pattern)))
            case Expression("firehose", "random-string"):
                out.append("".join(random(RANDOM_ALPHABET) for _ in range(11)))
            case Expression("firehose", "error-output-type"):
                out.append(error_type)
    return "".join(out)


def object_prefix(prefix: str | None, when: datetime) -> str:
    parts = parse(prefix or "", "Prefix")
    if not has_expressions(parts):
        return (prefix or "") + when.strftime(time_format(DEFAULT_TIME_FOLDERS)) + "/"
    return evaluate(parts, when)


def error_object_prefix(prefix: str | None, error_prefix: str | None, error_type: str, when: datetime) -> str:
    """Where records that failed (e.g. format-conversion-failed) go: the ErrorOutputPrefix, or
    without one `<Prefix><error type>/YYYY/MM/dd/HH/` (Prefix only when it has no expressions)."""
    if error_prefix:
        parts = parse(error_prefix, "ErrorOutputPrefix")
        if has_expressions(parts):
            return evaluate(parts, when, error_type)
        return error_prefix + error_type + "/" + when.strftime(time_format(DEFAULT_TIME_FOLDERS)) + "/"
    base = "" if has_expressions(parse(prefix or "", "Prefix")) else (prefix or "")
    return base + error_type + "/" + when.strftime(time_format(DEFAULT_TIME_FOLDERS)) + "/"


def object_name(stream: str, version: int, when: datetime, unique: str, extension: str = "") -> str:
    """The suffix: `<stream>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid><extension>`."""
    return f"{stream}-{version}-{when.strftime('%Y-%m-%d-%H-%M-%S')}-{unique}{extension}"


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
