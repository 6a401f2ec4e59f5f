"""apply_update: a resolved update expression applied to an item, purely, with DynamoDB's rules.

Example tests name one behaviour each; the property tests compare apply_update with a small
model that works on Python values (Decimal, frozenset) one action at a time."""

from __future__ import annotations

import copy
from decimal import Decimal, localcontext

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from table_api import values
from table_api.errors import ValidationException
from table_api.expressions import Literal, Path, Resolver, SetAction, Update, parse_update
from table_api.expressions.apply import apply_update
from table_api.expressions.messages import INVALID_UPDATE_PATH, MISSING_ATTRIBUTE, OPERAND_TYPE_MISMATCH

ITEM = {
    "pk": {"S": "k"},
    "n": {"N": "5"},
    "s": {"S": "text"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "l": {"L": [{"S": "l0"}, {"S": "l1"}, {"S": "l2"}]},
    "m": {"M": {"x": {"N": "1"}, "child": {"M": {"y": {"S": "deep"}}}, "lst": {"L": [{"N": "0"}]}}},
}
VALUES = {
    ":one": {"N": "1"}, ":two": {"N": "2"}, ":s": {"S": "new"}, ":ss": {"SS": ["b", "c"]},
    ":ns": {"NS": ["2", "3"]}, ":l": {"L": [{"S": "x"}]}, ":m": {"M": {"k": {"S": "v"}}},
    ":big": {"N": "9E+125"}, ":tiny": {"N": "1E-130"}, ":ss_all": {"SS": ["a", "b", "z"]},
    ":precise": {"N": "0." + "1" * 37},
}


def update(text: str, names: dict | None = None):
    used = {k: v for k, v in VALUES.items() if k in text}
    return Resolver(names, used).update(parse_update(text))


def applied(text: str, item: dict = ITEM, names: dict | None = None) -> dict:
    return apply_update(update(text, names), item)


def error(text: str, item: dict = ITEM) -> str:
    with pytest.raises(ValidationException) as exc:
        applied(text, item)
    return exc.value.message


# --- SET ------------------------------------------------------------------------------------


def test_set_adds_or_replaces_a_top_level_attribute():
    assert applied("SET s = :s, fresh2 = :one")["s"] == {"S": "new"}
    assert applied("SET s = :s, fresh2 = :one")["fresh2"] == {"N": "1"}


def test_set_reads_every_operand_from_the_item_before_the_update():
    out = applied("SET n = s, s = n")
    assert (out["n"], out["s"]) == (ITEM["s"], ITEM["n"])


def test_set_nested_map_entry_creates_it_in_an_existing_map():
    out = applied("SET m.child.z = :one, m.x = :two")
    assert out["m"]["M"]["child"]["M"] == {"y": {"S": "deep"}, "z": {"N": "1"}}
    assert out["m"]["M"]["x"] == {"N": "2"}


def test_set_list_element_replaces_it():
    assert applied("SET l[1] = :s")["l"]["L"] == [{"S": "l0"}, {"S": "new"}, {"S": "l2"}]


def test_set_past_the_end_of_a_list_appends_in_index_order():
    out = applied("SET l[20] = :two, l[10] = :one")
    assert out["l"]["L"][3:] == [{"N": "1"}, {"N": "2"}]


def test_arithmetic_adds_and_subtracts_exactly():
    assert applied("SET n = n + :one")["n"] == {"N": "6"}
    assert applied("SET n = :one - n")["n"] == {"N": "-4"}
    assert applied("SET n = n - :precise")["n"] == {"N": "4." + "8" * 36 + "9"}


@pytest.mark.parametrize("text, message", [
    ("SET n = :big + :big", values.OVERFLOW),
    ("SET n = :tiny - :tiny", None),
    ("SET n = :big + :one", values.TOO_PRECISE),
])
def test_arithmetic_results_must_be_storable(text, message):
    if message is None:
        assert applied(text)["n"] == {"N": "0"}
    else:
        assert error(text) == message


def test_arithmetic_on_a_missing_attribute_or_another_type_fails():
    assert error("SET n = nope + :one") == MISSING_ATTRIBUTE
    assert error("SET n = s + :one") == OPERAND_TYPE_MISMATCH
    assert error("SET n = :one - ss") == OPERAND_TYPE_MISMATCH


def test_if_not_exists_takes_the_attribute_when_present_else_the_operand():
    out = applied("SET n = if_not_exists(n, :two), fresh2 = if_not_exists(nope, :two)")
    assert (out["n"], out["fresh2"]) == ({"N": "5"}, {"N": "2"})


def test_list_append_concatenates_and_nests_with_if_not_exists():
    out = applied("SET l = list_append(l, :l), fresh2 = list_append(if_not_exists(nope, :l), :l)")
    assert out["l"]["L"][-1] == {"S": "x"} and len(out["l"]["L"]) == 4
    assert out["fresh2"] == {"L": [{"S": "x"}, {"S": "x"}]}
    assert error("SET l = list_append(s, :l)") == OPERAND_TYPE_MISMATCH
    assert error("SET l = list_append(nope, :l)") == MISSING_ATTRIBUTE


def test_set_copying_a_missing_attribute_fails():
    assert error("SET a = nope") == MISSING_ATTRIBUTE


# --- REMOVE ---------------------------------------------------------------------------------


def test_remove_attributes_and_nested_entries():
    out = applied("REMOVE s, m.child.y, nope, m.nope")
    assert "s" not in out and out["m"]["M"]["child"] == {"M": {}}


def test_remove_list_elements_by_their_original_index():
    assert applied("REMOVE l[0], l[1]")["l"] == {"L": [{"S": "l2"}]}
    assert applied("REMOVE l[2], l[0]")["l"] == {"L": [{"S": "l1"}]}


def test_remove_and_set_in_one_list_use_original_indexes():
    assert applied("SET l[1] = :s REMOVE l[0]")["l"] == {"L": [{"S": "new"}, {"S": "l2"}]}


def test_remove_of_an_index_past_the_end_changes_nothing():
    assert applied("REMOVE l[7]") == ITEM


# --- ADD / DELETE ---------------------------------------------------------------------------


def test_add_to_numbers_and_missing_attributes():
    out = applied("ADD n :two, fresh :one, m.x :one")
    assert (out["n"], out["fresh"], out["m"]["M"]["x"]) == ({"N": "7"}, {"N": "1"}, {"N": "2"})


def test_add_unites_sets():
    out = applied("ADD ss :ss, ns :ns, newset :ss")
    assert sorted(out["ss"]["SS"]) == ["a", "b", "c"]
    assert sorted(out["ns"]["NS"]) == ["1", "2", "3"]
    assert out["newset"] == {"SS": ["b", "c"]}


@pytest.mark.parametrize("text", ["ADD n :ss", "ADD ss :ns", "ADD s :one", "ADD l :ss", "DELETE ns :ss", "DELETE n :ns"])
def test_add_or_delete_on_another_type_fails(text):
    assert error(text) == OPERAND_TYPE_MISMATCH


def test_delete_takes_members_out_and_removes_an_emptied_set():
    out = applied("DELETE ss :ss, ns :ns, nope :ss")
    assert out["ss"] == {"SS": ["a"]} and out["ns"] == {"NS": ["1"]} and "nope" not in out
    assert "ss" not in applied("DELETE ss :ss_all")


def test_a_custom_type_mismatch_message_is_used_for_add_and_delete():
    with pytest.raises(ValidationException, match="^legacy words$"):
        apply_update(update("ADD n :ss"), ITEM, "legacy words")


# --- document paths -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "SET nope.a = :one", "SET nope[0] = :one", "SET s.a = :one", "SET s[0] = :one",
    "SET m[0] = :one", "SET l.a = :one", "SET l[5].a = :one", "SET m.nope.a = :one",
    "REMOVE nope.a", "REMOVE nope[1]", "REMOVE s.a", "REMOVE m[1]", "REMOVE l[9].a",
    "ADD nope.a :one", "ADD l.a :one", "DELETE nope.a :ss", "DELETE m[0] :ss",
])
def test_a_missing_or_mistyped_parent_is_an_invalid_document_path(text):
    assert error(text) == INVALID_UPDATE_PATH


def test_nested_paths_into_a_new_item_are_invalid():
    assert error("SET a.b = :one", {"pk": {"S": "k"}}) == INVALID_UPDATE_PATH


def test_several_clauses_apply_together():
    out = applied("SET s = :s REMOVE n ADD ns :ns DELETE ss :ss")
    assert out["s"] == {"S": "new"} and "n" not in out
    assert sorted(out["ns"]["NS"]) == ["1", "2", "3"] and out["ss"] == {"SS": ["a"]}


def test_the_input_item_is_left_as_it_was():
    before = copy.deepcopy(ITEM)
    applied("SET m.child.y = :s, l[0] = :s REMOVE l[1] ADD ns :ns DELETE ss :ss")
    assert ITEM == before


def test_an_empty_update_returns_the_item():
    assert apply_update(Update(()), ITEM) is ITEM


def test_overlapping_paths_are_a_programming_error():
    one = {"N": "1"}
    clash = Update((SetAction(Path(("a",)), Literal(one)), SetAction(Path(("a", "b")), Literal(one))))
    with pytest.raises(ValueError):
        apply_update(clash, {})


# --- property tests against a model ---------------------------------------------------------
# The model works on Python values: ("N", Decimal), ("SS", frozenset), ("M", dict), ...; it
# reads SET operands from a snapshot, then applies the actions one by one.

TARGETS = ["a", "b", "c", "m.x", "m.y", "l[0]", "l[1]", "l[4]"]  # none overlaps another
SOURCES = ["a", "b", "c", "m.x", "l[0]", "absent"]


class Fail(Exception):
    pass


def native(av):
    kind, value = next(iter(av.items()))
    match kind:
        case "N":
            return ("N", Decimal(value))
        case "SS":
            return ("SS", frozenset(value))
        case "NS":
            return ("NS", frozenset(Decimal(v) for v in value))
        case "M":
            return ("M", {k: native(v) for k, v in value.items()})
        case "L":
            return ("L", [native(v) for v in value])
    return (kind, value)


def storable(x: Decimal) -> Decimal:
    if x == 0:
        return x
    digits = x.normalize().as_tuple().digits
    if len(digits) > 38 or not Decimal("1E-130") <= abs(x) < Decimal("1E126"):
        raise Fail("number")
    return x


def parse_target(text):
    if "[" in text:
        return ("l", int(text[2:-1]))
    if "." in text:
        return tuple(text.split("."))
    return (text,)


def read(item, path):
    value = item.get(path[0])
    for step in path[1:]:
        if value is None:
            return None
        kind, inner = value
        if isinstance(step, int):
            value = inner[step] if kind == "L" and step < len(inner) else None
        else:
            value = inner.get(step) if kind == "M" else None
    return value


def model_operand(op, snapshot):
    kind, arg = op
    if kind == "value":
        return native(arg)
    found = read(snapshot, parse_target(arg))
    if kind == "if_not_exists":
        return found if found is not None else native(VALUES[":one"])
    if found is None:
        raise Fail("missing")
    if kind == "plus":
        if found[0] != "N":
            raise Fail("type")
        with localcontext() as ctx:
            ctx.prec = 400
            return ("N", storable(found[1] + 1))
    return found


def model_apply(actions, item):
    snapshot = {k: native(v) for k, v in item.items()}
    out = copy.deepcopy(snapshot)
    computed = [model_operand(a[2], snapshot) if a[0] == "SET" else None for a in actions]
    appended, removed = [], set()
    for (verb, target, operand), value in zip(actions, computed):
        path = parse_target(target)
        parent = out if len(path) == 1 else read(out, path[:1])
        if len(path) > 1:
            want = "L" if isinstance(path[1], int) else "M"
            if parent is None or parent[0] != want:
                raise Fail("path")
            parent = parent[1]
        last = path[-1]
        exists = last in parent if isinstance(parent, dict) else last < len(parent)
        old = parent[last] if exists else None
        new = model_leaf(verb, old, value, operand)
        if isinstance(parent, list) and not exists:
            if new is not None:
                appended.append((last, new))
        elif new is None:
            if isinstance(parent, dict):
                parent.pop(last, None)
            else:
                removed.add(last)
        else:
            parent[last] = new
    if "l" in out and out["l"][0] == "L":
        kept = [v for i, v in enumerate(out["l"][1]) if i not in removed]
        out["l"] = ("L", kept + [v for _, v in sorted(appended, key=lambda p: p[0])])
    return out


def model_leaf(verb, old, value, operand):
    if verb == "SET":
        return value
    if verb == "REMOVE":
        return None
    arg = native(operand)
    if old is None:
        return arg if verb == "ADD" else None
    if old[0] != arg[0]:
        raise Fail("type")
    if verb == "ADD" and arg[0] == "N":
        with localcontext() as ctx:
            ctx.prec = 400
            return ("N", storable(old[1] + arg[1]))
    if verb == "ADD":
        return (arg[0], old[1] | arg[1])
    left = old[1] - arg[1]
    return (arg[0], left) if left else None


NUMBERS = st.sampled_from(["0", "1", "-2.5", "1E+125", "9" * 38, "1E-130", "0.3"])
SCALAR = st.one_of(NUMBERS.map(lambda n: {"N": n}), st.sampled_from([{"S": "s"}, {"BOOL": True}]),
                   st.sampled_from([{"SS": ["a", "b"]}, {"NS": ["1", "2"]}]))
ATTRIBUTE = st.one_of(SCALAR, st.just({"M": {"x": {"N": "1"}}}), st.just({"L": [{"N": "1"}, {"S": "t"}]}))
ITEMS = st.fixed_dictionaries({"pk": st.just({"S": "k"})}, optional={
    "a": ATTRIBUTE, "b": SCALAR, "c": SCALAR,
    "m": st.one_of(st.just({"M": {"x": {"N": "3"}}}), st.just({"M": {}}), SCALAR),
    "l": st.one_of(st.just({"L": [{"N": "1"}, {"S": "x"}, {"N": "2"}]}), st.just({"L": []}), SCALAR),
})
SET_OPERANDS = st.one_of(
    SCALAR.map(lambda v: ("value", v)),
    st.sampled_from(SOURCES).map(lambda s: ("copy", s)),
    st.sampled_from(SOURCES).map(lambda s: ("plus", s)),
    st.sampled_from(SOURCES).map(lambda s: ("if_not_exists", s)),
)
ACTION = st.one_of(
    st.tuples(st.just("SET"), st.sampled_from(TARGETS), SET_OPERANDS),
    st.tuples(st.just("REMOVE"), st.sampled_from(TARGETS), st.none()),
    st.tuples(st.just("ADD"), st.sampled_from(TARGETS), st.one_of(NUMBERS.map(lambda n: {"N": n}),
              st.sampled_from([{"SS": ["b", "c"]}, {"NS": ["2", "3"]}]))),
    st.tuples(st.just("DELETE"), st.sampled_from(TARGETS), st.sampled_from([{"SS": ["a"]}, {"NS": ["1", "2"]}])),
)
ACTIONS = st.lists(ACTION, min_size=1, max_size=6, unique_by=lambda a: a[1])


def expression(actions):
    """The actions as an UpdateExpression text and its values."""
    clauses, vals = {}, {":one": VALUES[":one"]}
    for i, (verb, target, operand) in enumerate(actions):
        ref = f":v{i}"
        if verb == "SET":
            kind, arg = operand
            if kind == "value":
                vals[ref] = arg
            text = {"value": ref, "copy": arg, "plus": f"{arg} + :one", "if_not_exists": f"if_not_exists({arg}, :one)"}[kind]
            clauses.setdefault("SET", []).append(f"{target} = {text}")
        elif verb == "REMOVE":
            clauses.setdefault("REMOVE", []).append(target)
        else:
            vals[ref] = operand
            clauses.setdefault(verb, []).append(f"{target} {ref}")
    text = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses.items())
    if ":one" not in text:
        del vals[":one"]
    return text, {k: values.validate_value(v) for k, v in vals.items()}


def in_clause_order(actions):
    order = []
    for verb in dict.fromkeys(a[0] for a in actions):
        order += [a for a in actions if a[0] == verb]
    return order


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ITEMS, ACTIONS)
def test_apply_update_agrees_with_the_model(item, actions):
    item = values.validate_item(item)
    text, vals = expression(actions)
    tree = Resolver(None, vals).update(parse_update(text))
    before = copy.deepcopy(item)
    try:
        expected = model_apply(in_clause_order(actions), item)
    except Fail:
        expected = None
    try:
        result = apply_update(tree, item)
    except ValidationException:
        result = None
    assert item == before, "apply_update changed its input"
    event("both fail" if expected is None else "both apply")
    if expected is None:
        assert result is None, f"{text} on {item}: model fails, apply_update gave {result}"
        return
    assert result is not None, f"{text} on {item}: apply_update failed, model gave {expected}"
    assert {k: native(v) for k, v in result.items()} == expected
    assert values.validate_item(result) == result, "the result is not a valid item in canonical form"
