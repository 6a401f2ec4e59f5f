"""Resolving: #names and :values filled in, used ones recorded, and DynamoDB's checks that need them."""

import pytest

from table_api.errors import ValidationException
from table_api.expressions import (
    Call, Compare, Literal, Path, Resolver, parse_condition, parse_projection,
)

S, N = {"S": "x"}, {"N": "1"}


def resolve(text, names=None, values=None, expression="ConditionExpression"):
    return Resolver(names, values).condition(parse_condition(text, expression), expression)


def error(text, names=None, values=None, expression="ConditionExpression"):
    with pytest.raises(ValidationException) as exc:
        resolve(text, names, values, expression)
    return exc.value.message


def test_names_and_values_are_replaced():
    tree = resolve("#a.#b[1] = :v", {"#a": "top", "#b": "in.ner"}, {":v": S})
    assert tree == Compare("=", Path(("top", "in.ner", 1)), Literal(S))


def test_resolution_reaches_into_function_arguments_and_lists():
    tree = resolve("size(#a) IN (:x, :y)", {"#a": "a"}, {":x": N, ":y": N})
    assert tree.value == Call("size", (Path(("a",)),))
    assert tree.options == (Literal(N), Literal(N))


def test_a_name_may_resolve_to_a_reserved_word_or_any_characters():
    assert resolve("#s = :v", {"#s": "status"}, {":v": S}).left == Path(("status",))
    assert resolve("#s = :v", {"#s": "a-b c#:"}, {":v": S}).left == Path(("a-b c#:",))


def test_the_same_tree_resolves_differently_per_request():
    tree = parse_condition("#n = :v")
    first = Resolver({"#n": "a"}, {":v": S}).condition(tree)
    second = Resolver({"#n": "b"}, {":v": N}).condition(tree)
    assert first.left == Path(("a",)) and second.right == Literal(N)


def test_undefined_name_is_rejected():
    assert error("#n = :v", {}, {":v": S}) == (
        "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; "
        "attribute name: #n"
    )
    assert error("a.#n = :v", None, {":v": S}).endswith("attribute name: #n")


def test_undefined_value_is_rejected():
    assert error("a = :v", None, None) == (
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
        "attribute value: :v"
    )


def test_undefined_errors_name_the_expression_parameter():
    assert error("a = :v", expression="FilterExpression").startswith("Invalid FilterExpression: An expression")


def test_the_first_undefined_reference_in_text_order_is_reported():
    assert error("a = :v AND #n = :w", {}, {}).endswith("attribute value: :v")
    assert error("#n = :v", {}, {}).endswith("attribute name: #n")


def test_used_names_and_values_are_recorded():
    resolver = Resolver({"#a": "a", "#b": "b"}, {":x": S, ":y": S})
    resolver.condition(parse_condition("#a = :x"))
    assert resolver.used_names == {"#a"} and resolver.used_values == {":x"}


def test_unused_names_are_rejected_across_the_requests_expressions():
    resolver = Resolver({"#a": "a", "#b": "b", "#c": "c"}, {":x": S})
    resolver.condition(parse_condition("#a = :x"))
    resolver.projection(parse_projection("#b"))
    with pytest.raises(ValidationException) as exc:
        resolver.check_unused()
    assert exc.value.message == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}"


def test_unused_keys_are_all_listed():
    resolver = Resolver({"#a": "a", "#b": "b"}, None)
    with pytest.raises(ValidationException) as exc:
        resolver.check_unused()
    assert exc.value.message == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"


def test_unused_values_are_rejected():
    resolver = Resolver(None, {":a": S, ":b": S})
    resolver.condition(parse_condition("x = :b"))
    with pytest.raises(ValidationException) as exc:
        resolver.check_unused()
    assert exc.value.message == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a}"


def test_everything_used_passes_the_unused_check():
    resolver = Resolver({"#a": "a"}, {":x": S})
    resolver.condition(parse_condition("#a = :x"))
    resolver.check_unused()


# --- checks on functions and operands ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, name, count",
    [
        ("begins_with(a)", "begins_with", 1),
        ("attribute_exists(a, b)", "attribute_exists", 2),
        ("attribute_not_exists(a, b)", "attribute_not_exists", 2),
        ("attribute_type(a)", "attribute_type", 1),
        ("contains(a, :v, :v)", "contains", 3),
        ("size(a, b) = :v", "size", 2),
    ],
)
def test_functions_check_their_number_of_operands(text, name, count):
    assert error(text, None, {":v": S}) == (
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; "
        f"operator or function: {name}, number of operands: {count}"
    )


@pytest.mark.parametrize("name", ["attribute_exists", "attribute_not_exists"])
def test_existence_functions_require_a_document_path(name):
    assert error(f"{name}(:v)", None, {":v": S}) == (
        f"Invalid ConditionExpression: Operator or function requires a document path; operator or function: {name}"
    )


def test_attribute_type_requires_a_valid_type_name():
    assert error("attribute_type(a, :t)", None, {":t": {"S": "X"}}) == (
        "Invalid ConditionExpression: Invalid attribute type name found; type: X, "
        "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
    )


def test_attribute_type_requires_a_string_constant():
    assert error("attribute_type(a, :t)", None, {":t": N}).endswith(
        "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"
    )
    assert error("attribute_type(a, b)").endswith(
        "operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
    )


@pytest.mark.parametrize("type_name", ["S", "N", "B", "NULL", "BOOL", "SS", "NS", "BS", "L", "M"])
def test_attribute_type_accepts_every_type_name(type_name):
    resolve("attribute_type(a, :t)", None, {":t": {"S": type_name}})


def test_begins_with_needs_string_or_binary_constants():
    assert error("begins_with(a, :v)", None, {":v": N}) == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; "
        "operator or function: begins_with, operand type: N"
    )
    assert error("begins_with(size(a), :v)", None, {":v": S}).endswith("operator or function: begins_with, operand type: N")
    resolve("begins_with(a, :v)", None, {":v": {"B": "AAE="}})


@pytest.mark.parametrize("value, type_name", [(N, "N"), ({"BOOL": True}, "BOOL"), ({"NULL": True}, "NULL")])
def test_size_of_a_constant_needs_a_type_with_a_size(value, type_name):
    assert error("size(:v) > :n", None, {":v": value, ":n": N}).endswith(
        f"operator or function: size, operand type: {type_name}"
    )


def test_size_of_a_string_constant_is_fine():
    resolve("size(:v) > :n", None, {":v": S, ":n": N})


def test_comparing_a_path_with_itself_is_rejected():
    assert error("a.b = a.b") == (
        "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this "
        "operator or function; operator: =, first operand: [a, b]"
    )
    assert error("#x[1] < a[1]", {"#x": "a"}).endswith("operator: <, first operand: [a, [1]]")
    assert error("begins_with(a, a)").endswith("operator: begins_with, first operand: [a]")
    assert error("contains(#a, #a)", {"#a": "data"}).endswith("operator: contains, first operand: [data]")


def test_ordering_comparisons_reject_unordered_constants():
    assert error("a < :v", None, {":v": {"L": []}}) == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; "
        "operator or function: <, operand type: LIST"
    )
    assert error("a BETWEEN :x AND :y", None, {":x": {"BOOL": True}, ":y": {"BOOL": True}}).endswith(
        "operator or function: BETWEEN, operand type: BOOLEAN"
    )
    resolve("a = :v", None, {":v": {"L": []}})  # equality takes any type


def test_between_bounds_must_have_one_type():
    assert error("a BETWEEN :x AND :y", None, {":x": {"N": "5"}, ":y": {"S": "x"}}) == (
        "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; "
        "lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:x}"
    )


def test_between_bounds_must_be_in_order():
    assert error("a BETWEEN :x AND :y", None, {":x": {"N": "10"}, ":y": {"N": "9"}}) == (
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to "
        "lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:9}"
    )
    resolve("a BETWEEN :x AND :y", None, {":x": {"N": "9"}, ":y": {"N": "10"}})
    resolve("a BETWEEN :x AND :x", None, {":x": {"S": "b"}})


def test_in_takes_at_most_100_operands():
    values = {f":v{i}": N for i in range(101)}
    resolve("a IN (" + ", ".join(list(values)[:100]) + ")", None, values)
    assert error("a IN (" + ", ".join(values) + ")", None, values) == (
        "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
    )


def test_check_errors_follow_dynamodbs_order_within_a_condition():
    # undefined reference, then operand count, then distinct operands, then types
    assert error("begins_with(a) AND b = :undefined").endswith("number of operands: 1")
    assert error("begins_with(#undefined)").endswith("attribute name: #undefined")
    assert error("begins_with(a, a) AND x = :v", None, {}).endswith("first operand: [a]")
    assert error("size(:n, :n) = size(:n)", None, {":n": N}).endswith("number of operands: 2")


# --- projections -------------------------------------------------------------------------------


def project_paths(text, names=None):
    return Resolver(names, None).projection(parse_projection(text))


def test_projection_names_are_resolved():
    assert project_paths("#a.b, #c[0]", {"#a": "x", "#c": "y"}) == (Path(("x", "b")), Path(("y", 0)))


def test_projection_rejects_undefined_names():
    with pytest.raises(ValidationException) as exc:
        project_paths("a, #b")
    assert exc.value.message == (
        "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; "
        "attribute name: #b"
    )


@pytest.mark.parametrize(
    "text, one, two",
    [("a, a.b", "[a]", "[a, b]"), ("a.b, a", "[a, b]", "[a]"), ("a, #a", "[a]", "[a]"), ("l[0], l[0].x", "[l, [0]]", "[l, [0], x]")],
)
def test_projection_rejects_overlapping_paths(text, one, two):
    with pytest.raises(ValidationException) as exc:
        project_paths(text, {"#a": "a"})
    assert exc.value.message == (
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of "
        f"these paths; path one: {one}, path two: {two}"
    )


def test_projection_rejects_a_key_and_an_index_at_the_same_place():
    with pytest.raises(ValidationException) as exc:
        project_paths("a.b, a[0]")
    assert exc.value.message == (
        "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of "
        "these paths; path one: [a, b], path two: [a, [0]]"
    )


def test_projection_reports_overlap_before_conflict():
    with pytest.raises(ValidationException) as exc:
        project_paths("a.b, a[0], c, c.d")
    assert "overlap" in exc.value.message


def test_projection_allows_siblings():
    assert len(project_paths("a.b, a.c, l[0], l[1], ab")) == 5
