"""librdkafka settings as operators write them: `KEY=VALUE` on the command line, or a Java
properties file (the format of Kafka's own `client.properties`, which managed Kafka services
hand out for SASL/SSL clients).

Properties syntax (java.util.Properties.load): `#` or `!` starts a comment line; a key ends at the
first unescaped `=`, `:` or white space; white space around the separator is dropped; a line ending
in an odd number of backslashes continues on the next one; `\\t \\n \\r \\f \\uXXXX` and `\\<char>`
are escapes.
"""

from __future__ import annotations

import re
from pathlib import Path

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_KEY_END = re.compile(r"(?<!\\)(?:\\\\)*[=:\s]")


class BadSetting(ValueError):
    pass


def parse_pair(text: str) -> tuple[str, str]:
    """`KEY=VALUE` from the command line (the value may contain `=`)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise BadSetting(f"{text!r}: expected KEY=VALUE")
    return key.strip(), value


def parse_properties(text: str) -> dict[str, str]:
    """The settings of a Java properties file; later keys win, as in Java."""
    settings = {}
    for line in _logical_lines(text):
        key, value = _split(line)
        settings[_unescape(key)] = _unescape(value)
    return settings


def load(pairs: list[str], path: str | None) -> dict[str, str]:
    """The file's settings, then the pairs (a pair wins over the file)."""
    settings = parse_properties(Path(path).read_text(encoding="utf-8")) if path else {}
    settings.update(parse_pair(p) for p in pairs)
    return settings


def _logical_lines(text: str):
    """Lines with comments and blank lines dropped and continuations joined."""
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip()  # continuation lines lose their indentation too
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:  # an odd number of backslashes: the line goes on
            pending += line[:-1]
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def _split(line: str) -> tuple[str, str]:
    end = _KEY_END.search(line)
    if end is None:
        return line, ""
    key, rest = line[: end.end() - 1], line[end.end() - 1:]
    rest = rest.lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def _unescape(text: str) -> str:
    def replace(match: re.Match) -> str:
        escaped = match.group(1)
        if escaped[0] == "u" and len(escaped) == 5:
            return chr(int(escaped[1:], 16))
        return _ESCAPES.get(escaped, escaped)

    return _ESCAPE.sub(replace, text)
