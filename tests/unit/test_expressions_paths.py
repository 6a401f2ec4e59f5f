"""Document paths: reading one value (get_path) and ProjectionExpression results (project)."""

from table_api.expressions import Path, Resolver, get_path, parse_projection, project

ITEM = {
    "pk": {"S": "p"},
    "a": {"M": {"b": {"N": "1"}, "c": {"M": {"d": {"S": "deep"}}}, "e": {"S": "x"}}},
    "l": {"L": [{"S": "l0"}, {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}, {"S": "l2"}]},
    "s": {"S": "str"},
}


def p(*segments):
    return Path(tuple(segments))


def projected(text, item=ITEM, names=None):
    return project(item, Resolver(names, None).projection(parse_projection(text)))


def test_get_path_reads_top_level_and_nested_values():
    assert get_path(ITEM, p("pk")) == {"S": "p"}
    assert get_path(ITEM, p("a", "c", "d")) == {"S": "deep"}
    assert get_path(ITEM, p("l", 1, "y")) == {"N": "2"}


def test_get_path_returns_none_for_missing_or_mistyped_steps():
    assert get_path(ITEM, p("nope")) is None
    assert get_path(ITEM, p("a", "nope")) is None
    assert get_path(ITEM, p("l", 3)) is None
    assert get_path(ITEM, p("a", 0)) is None  # a map has no index
    assert get_path(ITEM, p("l", "x")) is None  # a list has no key
    assert get_path(ITEM, p("s", "x")) is None
    assert get_path(ITEM, p("s", 0)) is None
    assert get_path({}, p("a", "b")) is None


def test_projection_of_top_level_attributes():
    assert projected("pk, s") == {"pk": {"S": "p"}, "s": {"S": "str"}}


def test_projection_of_nested_paths_keeps_their_structure():
    assert projected("a.b, a.c.d") == {"a": {"M": {"b": {"N": "1"}, "c": {"M": {"d": {"S": "deep"}}}}}}


def test_projection_of_a_list_element_is_a_list_holding_it():
    assert projected("l[1]") == {"l": {"L": [ITEM["l"]["L"][1]]}}


def test_projection_of_list_elements_keeps_index_order_not_request_order():
    assert projected("l[2], l[0]") == {"l": {"L": [{"S": "l0"}, {"S": "l2"}]}}


def test_projection_into_a_list_element():
    assert projected("l[1].y") == {"l": {"L": [{"M": {"y": {"N": "2"}}}]}}


def test_projection_leaves_out_missing_paths():
    assert projected("nope, a.nope, l[9], s.x, pk") == {"pk": {"S": "p"}}
    assert projected("nope") == {}


def test_projection_leaves_out_a_map_with_nothing_selected():
    assert projected("a.nope, a.c.nope") == {}


def test_projection_with_name_references():
    assert projected("#a.#b", names={"#a": "a", "#b": "b"}) == {"a": {"M": {"b": {"N": "1"}}}}


def test_projection_does_not_modify_the_item():
    before = repr(ITEM)
    projected("a.b, l[0]")
    assert repr(ITEM) == before


def test_projection_of_overlapping_paths_takes_the_whole_value():
    # Resolver rejects overlaps; project() itself stays total.
    assert project(ITEM, [p("a", "b"), p("a")]) == {"a": ITEM["a"]}
    assert project(ITEM, [p("a"), p("a", "b")]) == {"a": ITEM["a"]}
