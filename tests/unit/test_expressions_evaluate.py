"""Evaluation: every operator and function on every type, missing attributes, nested paths."""

import base64

import pytest

from table_api.expressions import Resolver, evaluate, parse_condition


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ITEM = {
    "s": {"S": "hello"},
    "n": {"N": "10"},
    "b": {"B": b64(b"\x01\x02\x03")},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b64(b"\x01"), b64(b"\xff")]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]},
    "m": {"M": {"a": {"M": {"b": {"L": [{"N": "7"}, {"S": "deep"}]}}}, "k": {"S": "v"}}},
    "blank": {"S": ""},
}


def holds(text, item=ITEM, names=None, **values):
    resolver = Resolver(names, {f":{k}": v for k, v in values.items()})
    return evaluate(resolver.condition(parse_condition(text)), item)


# --- = and <> ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, same, other",
    [
        ("s", {"S": "hello"}, {"S": "Hello"}),
        ("n", {"N": "10.0"}, {"N": "11"}),
        ("b", {"B": b64(b"\x01\x02\x03")}, {"B": b64(b"\x01\x02")}),
        ("t", {"BOOL": True}, {"BOOL": False}),
        ("z", {"NULL": True}, {"S": "null"}),
        ("ss", {"SS": ["y", "x"]}, {"SS": ["x"]}),
        ("ns", {"NS": ["2.50", "1"]}, {"NS": ["1", "2"]}),
        ("bs", {"BS": [b64(b"\xff"), b64(b"\x01")]}, {"BS": [b64(b"\x01")]}),
        ("l", {"L": [{"S": "x"}, {"N": "1.0"}, {"M": {"k": {"S": "v"}}}]}, {"L": [{"S": "x"}]}),
        ("m.a", {"M": {"b": {"L": [{"N": "7"}, {"S": "deep"}]}}}, {"M": {}}),
        ("blank", {"S": ""}, {"S": " "}),
    ],
)
def test_equality_on_every_type(path, same, other):
    assert holds(f"{path} = :v", v=same) and not holds(f"{path} <> :v", v=same)
    assert not holds(f"{path} = :v", v=other) and holds(f"{path} <> :v", v=other)


def test_values_of_different_types_are_unequal():
    assert not holds("n = :v", v={"S": "10"})
    assert holds("n <> :v", v={"S": "10"})


def test_missing_attribute_is_never_equal_and_always_unequal():
    assert not holds("nope = :v", v={"S": "x"})
    assert holds("nope <> :v", v={"S": "x"})
    assert not holds("nope = nada")
    assert holds("nope <> nada")


def test_two_constants_compare_without_the_item():
    assert holds(":a = :b", item={}, a={"N": "1"}, b={"N": "1.00"})
    assert holds(":a < :b", item={}, a={"S": "a"}, b={"S": "b"})


def test_paths_compare_with_paths():
    item = {"x": {"N": "3"}, "y": {"N": "3"}, "w": {"N": "4"}}
    assert holds("x = y", item) and holds("x < w", item) and not holds("w <= x", item)


# --- ordering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("n < :v", True), ("n <= :v", True), ("n > :v", False), ("n >= :v", False),
    ],
)
def test_numbers_order_numerically(text, expected):
    assert holds(text, v={"N": "9.5e1"}) is expected


def test_strings_order_by_utf8_bytes():
    assert holds("s < :v", v={"S": "hellp"}) and holds("s > :v", v={"S": "Hello"})
    item = {"x": {"S": "\uffff"}}
    assert holds("x < :v", item, v={"S": "\U00010000"})  # UTF-16 order would say the opposite


def test_binaries_order_as_unsigned_bytes():
    assert holds("b < :v", v={"B": b64(b"\x80")})
    assert holds("b > :v", v={"B": b64(b"\x01\x02")})


def test_ordering_different_types_is_false_both_ways():
    for op in ("<", "<=", ">", ">="):
        assert not holds(f"n {op} :v", v={"S": "10"})


@pytest.mark.parametrize("path", ["t", "z", "ss", "l", "m"])
def test_ordering_unordered_attribute_types_is_false(path):
    assert not holds(f"{path} <= {path}x", {path: ITEM[path], f"{path}x": ITEM[path]})


def test_ordering_a_missing_attribute_is_false():
    for op in ("<", "<=", ">", ">="):
        assert not holds(f"nope {op} :v", v={"N": "1"})


# --- BETWEEN and IN ---------------------------------------------------------------------------


def test_between_is_inclusive():
    assert holds("n BETWEEN :lo AND :hi", lo={"N": "10"}, hi={"N": "20"})
    assert holds("n BETWEEN :lo AND :hi", lo={"N": "0"}, hi={"N": "10"})
    assert not holds("n BETWEEN :lo AND :hi", lo={"N": "11"}, hi={"N": "20"})


def test_between_on_strings_and_binaries():
    assert holds("s BETWEEN :lo AND :hi", lo={"S": "h"}, hi={"S": "i"})
    assert holds("b BETWEEN :lo AND :hi", lo={"B": b64(b"\x01")}, hi={"B": b64(b"\x02")})


def test_between_with_other_types_or_missing_is_false():
    assert not holds("s BETWEEN :lo AND :hi", lo={"N": "1"}, hi={"N": "2"})
    assert not holds("nope BETWEEN :lo AND :hi", lo={"N": "1"}, hi={"N": "2"})


def test_between_with_path_bounds_out_of_order_is_false():
    item = {"x": {"N": "5"}, "lo": {"N": "9"}, "hi": {"N": "1"}}
    assert not holds("x BETWEEN lo AND hi", item)


def test_in_matches_any_option_by_equality():
    assert holds("n IN (:a, :b)", a={"S": "10"}, b={"N": "10.00"})
    assert not holds("n IN (:a, :b)", a={"N": "1"}, b={"N": "2"})
    assert holds("ss IN (:a)", a={"SS": ["y", "x"]})


def test_in_with_a_missing_attribute_is_false():
    assert not holds("nope IN (:a)", a={"N": "1"})


# --- functions --------------------------------------------------------------------------------


def test_attribute_exists_and_not_exists_on_top_level_and_nested_paths():
    for path, exists in [("s", True), ("nope", False), ("m.a.b[1]", True), ("m.a.b[2]", False),
                         ("m.k", True), ("m.k.x", False), ("l[0]", True), ("s[0]", False), ("l.x", False)]:
        assert holds(f"attribute_exists({path})") is exists
        assert holds(f"attribute_not_exists({path})") is not exists


def test_attribute_exists_with_a_null_value():
    assert holds("attribute_exists(z)")


@pytest.mark.parametrize("path", list(ITEM))
def test_attribute_type_names_the_type(path):
    type_name = next(iter(ITEM[path]))
    assert holds(f"attribute_type({path}, :t)", t={"S": type_name})
    assert not holds(f"attribute_type({path}, :t)", t={"S": "NS" if type_name != "NS" else "SS"})


def test_attribute_type_of_a_missing_attribute_is_false():
    assert not holds("attribute_type(nope, :t)", t={"S": "S"})


def test_begins_with_on_strings_and_binaries():
    assert holds("begins_with(s, :p)", p={"S": "hel"})
    assert holds("begins_with(s, :p)", p={"S": ""})
    assert not holds("begins_with(s, :p)", p={"S": "Hel"})
    assert holds("begins_with(b, :p)", p={"B": b64(b"\x01\x02")})
    assert not holds("begins_with(b, :p)", p={"B": b64(b"\x02")})


def test_begins_with_other_types_or_missing_is_false():
    assert not holds("begins_with(s, :p)", p={"B": b64(b"h")})
    assert not holds("begins_with(ss, :p)", p={"S": "x"})
    assert not holds("begins_with(nope, :p)", p={"S": "x"})
    item = {"x": {"N": "12"}}
    assert not holds("begins_with(x, :p)", item, p={"S": "1"})


def test_contains_a_substring():
    assert holds("contains(s, :p)", p={"S": "ell"})
    assert not holds("contains(s, :p)", p={"S": "ELL"})
    assert not holds("contains(s, :p)", p={"N": "1"})


def test_contains_a_byte_substring():
    assert holds("contains(b, :p)", p={"B": b64(b"\x02\x03")})
    assert not holds("contains(b, :p)", p={"B": b64(b"\x03\x02")})


def test_contains_a_set_element():
    assert holds("contains(ss, :e)", e={"S": "y"}) and not holds("contains(ss, :e)", e={"S": "z"})
    assert holds("contains(ns, :e)", e={"N": "2.50"}) and not holds("contains(ns, :e)", e={"S": "1"})
    assert holds("contains(bs, :e)", e={"B": b64(b"\xff")}) and not holds("contains(bs, :e)", e={"B": b64(b"\x02")})


def test_contains_a_list_element():
    assert holds("contains(l, :e)", e={"N": "1.0"})
    assert holds("contains(l, :e)", e={"M": {"k": {"S": "v"}}})
    assert not holds("contains(l, :e)", e={"S": "v"})


def test_contains_on_other_types_or_missing_is_false():
    for path in ("n", "t", "z", "m", "nope"):
        assert not holds(f"contains({path}, :e)", e={"S": "k"})


def test_contains_may_take_a_path_operand():
    item = {"tags": {"SS": ["a", "b"]}, "tag": {"S": "b"}}
    assert holds("contains(tags, tag)", item)


@pytest.mark.parametrize(
    "path, size",
    [("s", 5), ("blank", 0), ("b", 3), ("ss", 2), ("ns", 2), ("bs", 2), ("l", 3), ("m", 2), ("m.a.b", 2)],
)
def test_size_of_every_sized_type(path, size):
    assert holds(f"size({path}) = :n", n={"N": str(size)})


def test_size_of_a_string_counts_utf16_code_units():
    item = {"x": {"S": "é𝄞"}}
    assert holds("size(x) = :n", item, n={"N": "3"})


@pytest.mark.parametrize("path", ["n", "t", "z", "nope"])
def test_size_of_an_unsized_or_missing_attribute_makes_comparisons_false(path):
    for op in ("=", "<", ">="):
        assert not holds(f"size({path}) {op} :n", n={"N": "1"})


def test_size_in_between_and_in():
    assert holds("size(s) BETWEEN :a AND :b", a={"N": "1"}, b={"N": "5"})
    assert holds("size(l) IN (:a, :b)", a={"N": "0"}, b={"N": "3"})


# --- combinations -----------------------------------------------------------------------------


def test_and_or_not_combine():
    assert holds("s = :v AND n = :n", v={"S": "hello"}, n={"N": "10"})
    assert not holds("s = :v AND n = :n", v={"S": "hello"}, n={"N": "11"})
    assert holds("s = :v OR n = :n", v={"S": "nope"}, n={"N": "10"})
    assert holds("NOT s = :v", v={"S": "nope"})
    assert holds("NOT (s = :v AND n = :n)", v={"S": "hello"}, n={"N": "11"})


def test_not_of_a_missing_comparison_is_true():
    assert holds("NOT nope = :v", v={"S": "x"})
    assert holds("NOT attribute_exists(nope)")


def test_names_reach_nested_attributes():
    assert holds("#m.#a.#b[0] = :v", names={"#m": "m", "#a": "a", "#b": "b"}, v={"N": "7"})


def test_name_with_a_dot_is_one_attribute_not_a_path():
    item = {"a.b": {"S": "flat"}, "a": {"M": {"b": {"S": "nested"}}}}
    assert holds("#ab = :v", item, names={"#ab": "a.b"}, v={"S": "flat"})
    assert holds("a.b = :v", item, v={"S": "nested"})


def test_a_nonexistent_item_is_an_empty_item():
    assert holds("attribute_not_exists(pk)", {})
    assert not holds("pk = :v", {}, v={"S": "x"})
