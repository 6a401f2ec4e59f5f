"""Parsing: the condition and projection grammars, and the errors DynamoDB reports at parse time."""

import pytest

from table_api.errors import ValidationException
from table_api.expressions import (
    RESERVED_WORDS, And, Between, Call, Compare, In, NameRef, Not, Or, Path, ValueRef,
    is_reserved, parse_condition, parse_projection,
)


def p(*segments):
    return Path(tuple(segments))


def v(name):
    return ValueRef(name)


def error(parse, text, *args):
    with pytest.raises(ValidationException) as exc:
        parse(text, *args)
    return exc.value.message


# --- comparisons, functions and paths -------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "<>", "<", "<=", ">", ">="])
def test_every_comparator_parses_to_compare(op):
    assert parse_condition(f"a {op} :v") == Compare(op, p("a"), v(":v"))


def test_comparators_need_no_spaces():
    assert parse_condition("a<=:v") == Compare("<=", p("a"), v(":v"))
    assert parse_condition("a<>b") == Compare("<>", p("a"), p("b"))


def test_between_takes_two_bounds():
    assert parse_condition("a BETWEEN :lo AND :hi") == Between(p("a"), v(":lo"), v(":hi"))


def test_in_takes_a_parenthesised_list():
    assert parse_condition("a IN (:x, b, :z)") == In(p("a"), (v(":x"), p("b"), v(":z")))
    assert parse_condition("a IN (:x)") == In(p("a"), (v(":x"),))


def test_keywords_are_case_insensitive():
    assert parse_condition("a between :x and :y") == Between(p("a"), v(":x"), v(":y"))
    assert parse_condition("not a = :x Or b In (:y)") == Or(
        Not(Compare("=", p("a"), v(":x"))), In(p("b"), (v(":y"),))
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("attribute_exists(a)", Call("attribute_exists", (p("a"),))),
        ("attribute_not_exists(a.b)", Call("attribute_not_exists", (p("a", "b"),))),
        ("attribute_type(a, :t)", Call("attribute_type", (p("a"), v(":t")))),
        ("begins_with(a, :p)", Call("begins_with", (p("a"), v(":p")))),
        ("contains(a, :e)", Call("contains", (p("a"), v(":e")))),
        ("size(a) > :n", Compare(">", Call("size", (p("a"),)), v(":n"))),
        ("size(a) BETWEEN :x AND :y", Between(Call("size", (p("a"),)), v(":x"), v(":y"))),
        ("a IN (size(b), :x)", In(p("a"), (Call("size", (p("b"),)), v(":x")))),
        ("begins_with ( a , :p )", Call("begins_with", (p("a"), v(":p")))),
    ],
)
def test_every_function_parses_to_call(text, expected):
    assert parse_condition(text) == expected


def test_document_paths_mix_keys_indexes_and_name_references():
    tree = parse_condition("a.b[2].#c[0][1] = :v")
    assert tree.left == p("a", "b", 2, NameRef("#c"), 0, 1)


def test_path_may_contain_whitespace_around_dots_and_brackets():
    assert parse_condition("a . b [ 3 ] = :v").left == p("a", "b", 3)


def test_names_may_contain_digits_and_underscores():
    assert parse_condition("a_1.b2 = :v_3") == Compare("=", p("a_1", "b2"), v(":v_3"))


def test_both_sides_of_a_comparison_may_be_paths_or_values():
    assert parse_condition(":a = :b") == Compare("=", v(":a"), v(":b"))
    assert parse_condition("a = b") == Compare("=", p("a"), p("b"))


# --- precedence and parentheses ---------------------------------------------------------------


def test_and_binds_tighter_than_or():
    x, y, z = (Compare("=", p(n), v(":v")) for n in "xyz")
    assert parse_condition("x = :v OR y = :v AND z = :v") == Or(x, And(y, z))
    assert parse_condition("x = :v AND y = :v OR z = :v") == Or(And(x, y), z)


def test_not_binds_tighter_than_and():
    x, y = (Compare("=", p(n), v(":v")) for n in "xy")
    assert parse_condition("NOT x = :v AND y = :v") == And(Not(x), y)


def test_and_and_or_associate_to_the_left():
    x, y, z = (Compare("=", p(n), v(":v")) for n in "xyz")
    assert parse_condition("x = :v AND y = :v AND z = :v") == And(And(x, y), z)
    assert parse_condition("x = :v OR y = :v OR z = :v") == Or(Or(x, y), z)


def test_parentheses_override_precedence():
    x, y, z = (Compare("=", p(n), v(":v")) for n in "xyz")
    assert parse_condition("(x = :v OR y = :v) AND z = :v") == And(Or(x, y), z)
    assert parse_condition("NOT (x = :v OR y = :v)") == Not(Or(x, y))


def test_an_operand_may_be_parenthesised():
    assert parse_condition("(a) = :v") == Compare("=", p("a"), v(":v"))
    assert parse_condition("a = (:v)") == Compare("=", p("a"), v(":v"))
    assert parse_condition("(size(a)) > :v") == Compare(">", Call("size", (p("a"),)), v(":v"))
    assert parse_condition("NOT (a) = :v") == Not(Compare("=", p("a"), v(":v")))
    assert parse_condition("a BETWEEN (:x) AND (:y)") == Between(p("a"), v(":x"), v(":y"))


def test_a_function_condition_may_be_parenthesised():
    assert parse_condition("(attribute_exists(a))") == Call("attribute_exists", (p("a"),))


def test_parse_is_cached_on_the_string():
    assert parse_condition("a = :cached") is parse_condition("a = :cached")


# --- syntax errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, token, near",
    [
        ("a =", "<EOF>", "="),
        ("a = ", "<EOF>", "= "),
        ("a = :v AND", "<EOF>", "AND"),
        ("numx / :v", "/", "numx / :v"),
        ("a b", "b", "a b"),
        ("a = = :v", "=", "= = :v"),
        ("a AND b = :v", "AND", "a AND b"),
        ("NOT a", "<EOF>", "a"),
        ("a = 1", "1", "= 1"),
        ("_a = :v", "_", "_a"),
        ("a = :v)", ")", ":v)"),
        ("(a = :v", "<EOF>", ":v"),
        ("a IN ()", ")", "()"),
        ("a BETWEEN :x OR :y", "OR", ":x OR :y"),
        ("a != :v", "!", "a !="),
        ("a.and = :v", "and", ".and ="),
        ("a[x] = :v", "x", "[x]"),
        ("a = :v b = :w", "b", ":v b ="),
        ("NOT NOT a = :v", "NOT", "NOT NOT a"),
    ],
)
def test_syntax_errors_name_the_token_and_the_text_near_it(text, token, near):
    assert error(parse_condition, text) == (
        f'Invalid ConditionExpression: Syntax error; token: "{token}", near: "{near}"'
    )


def test_syntax_errors_name_the_expression_parameter():
    assert error(parse_condition, "a =", "FilterExpression").startswith("Invalid FilterExpression: Syntax error")
    assert error(parse_condition, "a =", "KeyConditionExpression").startswith("Invalid KeyConditionExpression:")


@pytest.mark.parametrize("text", ["", " ", "\n\t "])
def test_an_empty_expression_is_rejected(text):
    assert error(parse_condition, text) == "Invalid ConditionExpression: The expression can not be empty;"
    assert error(parse_projection, text) == "Invalid ProjectionExpression: The expression can not be empty;"


def test_an_expression_over_4_kb_is_rejected():
    at_limit = "a = :v OR " * 409 + "a = :v"  # 4096 bytes
    assert len(at_limit) == 4096
    parse_condition(at_limit)
    assert error(parse_condition, at_limit + " ") == (
        "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"
    )


def test_expression_size_counts_utf8_bytes():
    text = "a = :v" + " " * 2044 + "é" * 1024  # 4098 bytes, 3074 characters
    assert error(parse_condition, text).endswith("expression size: 4098")


# --- errors DynamoDB reports once the string has parsed ----------------------------------------


def test_double_parentheses_are_redundant():
    message = "Invalid ConditionExpression: The expression has redundant parentheses;"
    assert error(parse_condition, "((a = :v))") == message
    assert error(parse_condition, "((a)) = :v") == message
    assert error(parse_condition, "a = ((:v))") == message
    assert error(parse_condition, "b = :w AND ((a = :v))") == message
    parse_condition("((a = :v) AND b = :w)")  # not redundant: the outer group holds more


def test_unknown_function_is_rejected():
    assert error(parse_condition, "foo(a)") == "Invalid ConditionExpression: Invalid function name; function: foo"
    assert error(parse_condition, "foo(a) = :v").endswith("Invalid function name; function: foo")


def test_function_names_are_case_sensitive():
    assert error(parse_condition, "BEGINS_WITH(a, :v)").endswith("Invalid function name; function: BEGINS_WITH")


def test_update_functions_are_unknown_in_conditions():
    assert error(parse_condition, "if_not_exists(a, :v) = :v").endswith("function: if_not_exists")


def test_size_alone_is_not_a_condition():
    assert error(parse_condition, "size(a)") == (
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size"
    )
    assert error(parse_condition, "NOT size(a)").endswith("function: size")
    assert error(parse_condition, "a = :v AND size(a)").endswith("function: size")


@pytest.mark.parametrize(
    "text, function",
    [
        ("begins_with(a, :v) = :t", "begins_with"),
        ("a = attribute_exists(b)", "attribute_exists"),
        ("a BETWEEN contains(a, :v) AND :x", "contains"),
        ("a IN (:x, attribute_type(a, :t))", "attribute_type"),
        ("begins_with(attribute_exists(a), :v)", "attribute_exists"),
    ],
)
def test_a_condition_function_is_not_an_operand(text, function):
    assert error(parse_condition, text) == (
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; "
        f"function: {function}"
    )


def test_reserved_words_are_rejected_as_bare_names():
    assert error(parse_condition, "status = :v") == (
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    )
    assert error(parse_condition, "a.Name = :v").endswith("reserved keyword: Name")
    assert error(parse_condition, "attribute_exists(data)").endswith("reserved keyword: data")


def test_reserved_words_are_fine_behind_a_name_reference_or_as_function_names():
    parse_condition("#status = :v")
    parse_condition("size(a) > :v")  # SIZE is reserved, but not as a function name


def test_parse_level_errors_come_in_dynamodbs_order():
    # redundant parentheses, then unknown function, then misused function, then reserved word
    assert error(parse_condition, "status = :v AND ((a = :v))").endswith("redundant parentheses;")
    assert error(parse_condition, "status = :v AND foo(a)").endswith("function: foo")
    assert error(parse_condition, "status = :v AND size(a)").endswith("function: size")


def test_syntax_errors_come_before_all_others():
    assert "Syntax error" in error(parse_condition, "((status = :v)) AND foo(a) =")


def test_list_index_must_fit_dynamodbs_range():
    parse_condition("a[4294967294] = :v")
    assert error(parse_condition, "a[4294967295] = :v") == (
        "Invalid ConditionExpression: List index is not within the allowable range; index: [4294967295]"
    )


def test_document_paths_nest_at_most_32_levels():
    parse_condition(".".join(["a"] * 32) + " = :v")
    assert error(parse_condition, ".".join(["a"] * 33) + " = :v") == (
        "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 33"
    )
    assert error(parse_projection, "a" + "[0]" * 32).endswith("nesting levels: 33")


def test_deep_parentheses_hit_a_nesting_guard_not_a_recursion_error():
    ok = "(" * 50 + "a = :v" + " AND b = :v)" * 50
    parse_condition(ok)
    deep = "(" * 150 + "a = :v" + " AND b = :v)" * 150
    assert "too many nested levels" in error(parse_condition, deep)


# --- projections ------------------------------------------------------------------------------


def test_projection_is_a_comma_separated_list_of_paths():
    assert parse_projection("a, b.c ,d[1], #e.f") == (p("a"), p("b", "c"), p("d", 1), p(NameRef("#e"), "f"))


def test_projection_syntax_errors():
    assert error(parse_projection, "a,") == 'Invalid ProjectionExpression: Syntax error; token: "<EOF>", near: ","'
    assert error(parse_projection, "a b") == 'Invalid ProjectionExpression: Syntax error; token: "b", near: "a b"'
    assert error(parse_projection, "foo-bar") == (
        'Invalid ProjectionExpression: Syntax error; token: "-", near: "foo-bar"'
    )
    assert error(parse_projection, "a = :v").startswith('Invalid ProjectionExpression: Syntax error; token: "="')


def test_projection_rejects_reserved_words():
    assert error(parse_projection, "a, Comment") == (
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: Comment"
    )


def test_projection_keywords_of_conditions_are_just_reserved_words():
    assert error(parse_projection, "and").endswith("reserved keyword: and")


# --- the reserved word list ------------------------------------------------------------------


def test_reserved_word_list_is_dynamodbs_full_list():
    assert len(RESERVED_WORDS) == 573
    assert {"ABORT", "STATUS", "NAME", "DATA", "SIZE", "ZONE", "FLATTERN"} <= RESERVED_WORDS


def test_reserved_words_match_case_insensitively():
    assert is_reserved("Timestamp") and is_reserved("timestamp") and not is_reserved("timestamps")
