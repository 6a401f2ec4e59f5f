"""Update expressions: parsing and resolving (applying them to items comes with UpdateItem)."""

import pytest

from table_api.errors import ValidationException
from table_api.expressions import (
    AddAction, Arith, Call, DeleteAction, Literal, NameRef, Path, RemoveAction, Resolver, SetAction,
    Update, ValueRef, parse_update,
)


def p(*segments):
    return Path(tuple(segments))


def error(text, names=None, values=None):
    with pytest.raises(ValidationException) as exc:
        Resolver(names, values).update(parse_update(text))
    return exc.value.message


def test_all_four_sections_parse_in_order():
    assert parse_update("SET a = :v, b.c[1] = d REMOVE e, f ADD g :n DELETE h :s") == Update((
        SetAction(p("a"), ValueRef(":v")),
        SetAction(p("b", "c", 1), p("d")),
        RemoveAction(p("e")),
        RemoveAction(p("f")),
        AddAction(p("g"), ValueRef(":n")),
        DeleteAction(p("h"), ValueRef(":s")),
    ))


def test_section_keywords_are_case_insensitive_and_may_come_in_any_order():
    tree = parse_update("remove x set #y = :v")
    assert tree.actions == (RemoveAction(p("x")), SetAction(p(NameRef("#y")), ValueRef(":v")))


def test_set_values_may_add_or_subtract_two_operands():
    assert parse_update("SET a = a + :n").actions[0].value == Arith("+", p("a"), ValueRef(":n"))
    assert parse_update("SET a = (:n - b)").actions[0].value == Arith("-", ValueRef(":n"), p("b"))
    assert parse_update("SET a = (b) - :n").actions[0].value == Arith("-", p("b"), ValueRef(":n"))


def test_update_functions_nest():
    value = parse_update("SET l = list_append(if_not_exists(l, :empty), :v)").actions[0].value
    assert value == Call("list_append", (Call("if_not_exists", (p("l"), ValueRef(":empty"))), ValueRef(":v")))


@pytest.mark.parametrize(
    "text, token, near",
    [
        ("SET", "<EOF>", "SET"),
        ("SET a = ", "<EOF>", "= "),
        ("SET a = :v,", "<EOF>", ","),
        ("SET a = b + c + d", "+", "c + d"),
        ("SET a = numx / :v", "/", "numx / :v"),
        ("ADD a b", "b", "a b"),
        ("a = :v", "a", "a ="),
        ("SET a = :v, REMOVE b", "REMOVE", ", REMOVE b"),
    ],
)
def test_update_syntax_errors(text, token, near):
    with pytest.raises(ValidationException) as exc:
        parse_update(text)
    assert exc.value.message == f'Invalid UpdateExpression: Syntax error; token: "{token}", near: "{near}"'


def test_each_section_only_once():
    with pytest.raises(ValidationException) as exc:
        parse_update("ADD x :one SET a = :a ADD y :one")
    assert exc.value.message == 'Invalid UpdateExpression: The "ADD" section can only be used once in an update expression;'


def test_update_rejects_reserved_words_and_condition_functions():
    with pytest.raises(ValidationException, match="reserved keyword: status"):
        parse_update("SET status = :v")
    with pytest.raises(ValidationException, match="Invalid function name; function: size"):
        parse_update("SET a = size(b)")


def test_resolve_fills_in_names_and_values():
    tree = Resolver({"#a": "a"}, {":v": {"N": "1"}}).update(parse_update("SET #a = #a + :v"))
    assert tree.actions == (SetAction(p("a"), Arith("+", p("a"), Literal({"N": "1"}))),)


def test_undefined_names_come_before_undefined_values():
    assert error("SET a = :v, b = #n").endswith("attribute name: #n")
    assert error("SET a = :v", {}, {}).endswith("attribute value: :v")


def test_update_paths_must_not_overlap():
    assert error("SET a = :v REMOVE a.b", values={":v": {"N": "1"}}) == (
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of "
        "these paths; path one: [a], path two: [a, b]"
    )
    assert error("SET a.b = :v REMOVE a[0]", values={":v": {"N": "1"}}).endswith("path one: [a, b], path two: [a, [0]]")


def test_add_takes_a_number_or_a_set():
    for good in ({"N": "1"}, {"SS": ["a"]}, {"NS": ["1"]}, {"BS": ["AA=="]}):
        Resolver(None, {":v": good}).update(parse_update("ADD a :v"))
    assert error("ADD a :v", values={":v": {"S": "x"}}) == (
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING"
    )


def test_delete_takes_a_set():
    assert error("DELETE a :v", values={":v": {"N": "1"}}).endswith("operator: DELETE, operand type: NUMBER")


def test_update_function_checks():
    assert error("SET a = if_not_exists(:v, :v)", values={":v": {"N": "1"}}).endswith(
        "Operator or function requires a document path; operator or function: if_not_exists"
    )
    assert error("SET a = list_append(a)").endswith("operator or function: list_append, number of operands: 1")
    assert error("SET a = list_append(a, :v)", values={":v": {"S": "x"}}).endswith(
        "operator or function: list_append, operand type: S"
    )
    assert error("SET a = a + :v", values={":v": {"S": "x"}}).endswith("operator or function: +, operand type: S")


def test_update_values_count_as_used():
    resolver = Resolver({"#a": "a"}, {":v": {"N": "1"}})
    resolver.update(parse_update("ADD #a :v"))
    resolver.check_unused()
