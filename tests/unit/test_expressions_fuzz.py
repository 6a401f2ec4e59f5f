"""Property tests: any string gives a tree or a ValidationException, never another error, quickly."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from table_api.errors import ValidationException
from table_api.expressions import (
    Resolver, evaluate, parse_condition, parse_projection, parse_update,
)

# Fragments of the languages, so that random strings get deep into the grammars.
FRAGMENTS = [
    "a", "b.c", "#n", ":v", "l[0]", "[", "]", "(", ")", ",", ".", "=", "<>", "<", "<=", ">", ">=",
    " AND ", " OR ", "NOT ", " BETWEEN ", " IN ", "size(", "attribute_exists(", "begins_with(",
    "contains(", "attribute_type(", "foo(", "status", " SET ", " REMOVE ", " ADD ", " DELETE ",
    "+", "-", "if_not_exists(", "list_append(", "1", "99999999999", "_", "!", "é", " ", "\n",
]
junk = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join),
)
NAMES = {"#n": "n"}
VALUES = {":v": {"N": "1"}}


def only_validation_errors(parse, text):
    try:
        return parse(text)
    except ValidationException as exc:
        assert exc.message.startswith("Invalid ")
        return None


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(junk)
def test_parse_condition_raises_only_validation_errors(text):
    tree = only_validation_errors(parse_condition, text)
    if tree is not None:
        try:
            cond = Resolver(NAMES, VALUES).condition(tree)
        except ValidationException:
            return
        assert evaluate(cond, {"a": {"N": "1"}, "n": {"S": "x"}}) in (True, False)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(junk)
def test_parse_projection_raises_only_validation_errors(text):
    paths = only_validation_errors(parse_projection, text)
    if paths is not None:
        try:
            Resolver(NAMES, None).projection(paths)
        except ValidationException:
            pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(junk)
def test_parse_update_raises_only_validation_errors(text):
    tree = only_validation_errors(parse_update, text)
    if tree is not None:
        try:
            Resolver(NAMES, VALUES).update(tree)
        except ValidationException:
            pass


def timed(parse, text):
    start = time.perf_counter()
    try:
        parse(text)
    except ValidationException:
        pass
    return time.perf_counter() - start


def test_worst_case_inputs_parse_fast():
    worst = [
        "(" * 4000,
        "(" * 2000 + ")" * 2000,
        "NOT " * 1000,
        "a = :v AND " * 370 + "a = :v",
        "(a" + ") = :v" * 680,
        "a" + "[0]" * 1300,
        "a" + ".b" * 2000,
        "a IN (" + ":v," * 1300 + ":v)",
        "size(" * 800,
        "((((" * 1000,
    ]
    for text in worst:
        assert len(text.encode()) <= 4096 + 10
        for parse in (parse_condition.__wrapped__, parse_projection.__wrapped__, parse_update.__wrapped__):
            # A guard against super-linear parsing (which would take minutes on these inputs), not a
            # speed measurement: linear parsing takes milliseconds, even on a loaded machine.
            assert timed(parse, text) < 2.0, (parse, text[:40])


def test_the_longest_chain_that_fits_in_4_kb_resolves_and_evaluates():
    text = "a=b OR " * 584 + "a=:v"
    assert len(text) <= 4096
    cond = Resolver(None, VALUES).condition(parse_condition(text))
    assert evaluate(cond, {"a": {"N": "1"}}) is True
    assert evaluate(cond, {"a": {"N": "2"}, "b": {"N": "3"}}) is False
