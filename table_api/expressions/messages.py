"""DynamoDB's own error texts for expressions, one function (or constant) each.

Every message a client can see from this package is spelled here, so that it can be grepped,
compared with AWS, and tested. `invalid()` adds the "Invalid <Expression>: " prefix that
DynamoDB puts in front of every expression error; the unused-names/values messages have none.

Sources: dynalite's PEG grammars (db/conditionParser.pegjs, projectionParser.pegjs,
updateParser.pegjs, whose tests ran against AWS), moto's tests, and captures of real DynamoDB
responses quoted in public issues. Texts not confirmed that way are marked UNCONFIRMED.
"""

from __future__ import annotations

from collections.abc import Iterable

from table_api.errors import ValidationException

MAX_EXPRESSION_BYTES = 4096  # measured in UTF-8 bytes on the raw string; 4096 passes, 4097 fails
MAX_PATH_DEPTH = 32  # document path nesting levels
MAX_LIST_INDEX = 4294967294  # a[4294967295] is rejected
MAX_IN_OPERANDS = 100
MAX_NESTING = 100  # our own guard on nested parentheses (recursion depth), not an AWS limit

EMPTY = "The expression can not be empty;"
REDUNDANT_PARENS = "The expression has redundant parentheses;"
VALID_TYPES = "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
LONG_TYPE_NAMES = {
    "S": "STRING", "N": "NUMBER", "B": "BINARY", "BOOL": "BOOLEAN", "NULL": "NULL",
    "L": "LIST", "M": "MAP", "SS": "STRING_SET", "NS": "NUMBER_SET", "BS": "BINARY_SET",
}


def invalid(expression: str, detail: str) -> ValidationException:
    return ValidationException(f"Invalid {expression}: {detail}")


def too_long(size: int) -> str:
    return f"Expression size has exceeded the maximum allowed size; expression size: {size}"


def syntax(token: str, near: str) -> str:
    return f'Syntax error; token: "{token}", near: "{near}"'


def unknown_function(name: str) -> str:
    return f"Invalid function name; function: {name}"


def misused_function(name: str) -> str:
    return f"The function is not allowed to be used this way in an expression; function: {name}"


def reserved_word(word: str) -> str:
    return f"Attribute name is a reserved keyword; reserved keyword: {word}"


def undefined_name(ref: str) -> str:
    return f"An expression attribute name used in the document path is not defined; attribute name: {ref}"


def undefined_value(ref: str) -> str:
    return f"An expression attribute value used in expression is not defined; attribute value: {ref}"


def unused(parameter: str, keys: Iterable[str]) -> ValidationException:
    return ValidationException(
        f"Value provided in {parameter} unused in expressions: keys: {{{', '.join(keys)}}}"
    )


def operand_count(name: str, count: int) -> str:
    return (
        "Incorrect number of operands for operator or function; "
        f"operator or function: {name}, number of operands: {count}"
    )


def requires_path(name: str) -> str:
    return f"Operator or function requires a document path; operator or function: {name}"


def operand_type(name: str, type_name: str) -> str:
    return (
        "Incorrect operand type for operator or function; "
        f"operator or function: {name}, operand type: {type_name}"
    )


def update_operand_type(operator: str, type_name: str) -> str:
    """ADD / DELETE with a value of the wrong type (long type names: STRING, LIST...)."""
    return f"Incorrect operand type for operator or function; operator: {operator}, operand type: {type_name}"


def attribute_type_name(name: str) -> str:
    return f"Invalid attribute type name found; type: {name}, valid types: {VALID_TYPES}"


def not_distinct(operator: str, first: str) -> str:
    return (
        "The first operand must be distinct from the remaining operands for this operator or function; "
        f"operator: {operator}, first operand: {first}"
    )


def _bound(av: dict) -> str:
    (type_name, raw), = av.items()
    return f"AttributeValue: {{{type_name}:{raw}}}"


def between_types(low: dict, high: dict) -> str:
    return (
        "The BETWEEN operator requires same data type for lower and upper bounds; "
        f"lower bound operand: {_bound(low)}, upper bound operand: {_bound(high)}"
    )


def between_order(low: dict, high: dict) -> str:
    return (
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
        f"lower bound operand: {_bound(low)}, upper bound operand: {_bound(high)}"
    )


def too_many_in_operands(count: int) -> str:
    return f"The IN operator is provided with too many operands; number of operands: {count}"


def path_too_deep(levels: int) -> str:
    return f"The document path has too many nesting levels; nesting levels: {levels}"


def index_out_of_range(index: str) -> str:
    return f"List index is not within the allowable range; index: [{index}]"


def paths_overlap(one: str, two: str) -> str:
    return (
        "Two document paths overlap with each other; must remove or rewrite one of these paths; "
        f"path one: {one}, path two: {two}"
    )


def paths_conflict(one: str, two: str) -> str:
    return (
        "Two document paths conflict with each other; must remove or rewrite one of these paths; "
        f"path one: {one}, path two: {two}"
    )


def section_twice(section: str) -> str:
    return f'The "{section}" section can only be used once in an update expression;'


def nested_too_deeply(levels: int) -> str:
    """UNCONFIRMED: our recursion guard; DynamoDB's behaviour past this depth is unknown."""
    return f"The expression has too many nested levels; nesting levels: {levels}"


# --- applying an update to an item (no "Invalid UpdateExpression: " prefix) ---------------
# Confirmed by dynalite's tests against AWS and by DynamoDB Local's error table.

INVALID_UPDATE_PATH = "The document path provided in the update expression is invalid for update"
OPERAND_TYPE_MISMATCH = "An operand in the update expression has an incorrect data type"
MISSING_ATTRIBUTE = "The provided expression refers to an attribute that does not exist in the item"
