from hypothesis import given, settings, HealthCheck, strategies as st
from tests.api.test_protocol import http  # noqa: F401
from tests.api.test_protocol import call, expressions, placeholder_sets, attribute_values, json_values, MEMBERS, OPERATIONS

FOUND = {}

@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(operation=st.sampled_from(["PutItem", "DeleteItem", "GetItem"]), expression=expressions, placeholders=placeholder_sets)
def test_explore_expr(http, module_table, operation, expression, placeholders):
    body = {"TableName": module_table, **placeholders}
    if operation == "PutItem":
        body.update(Item={"pk": {"S": "expr"}, "n": {"N": "1"}, "a": {"S": "x"}}, ConditionExpression=expression)
    elif operation == "DeleteItem":
        body.update(Key={"pk": {"S": "expr-missing"}}, ConditionExpression=expression)
    else:
        body.update(Key={"pk": {"S": "expr"}}, ProjectionExpression=expression)
    r = call(http, operation, body)
    if r.status_code >= 500:
        FOUND.setdefault((operation, bool(expression.strip())), []).append(body)

@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(operation=st.sampled_from(OPERATIONS), body=st.dictionaries(st.sampled_from(MEMBERS), json_values, max_size=6))
def test_explore_json(http, module_table, operation, body):
    r = call(http, operation, body)
    if r.status_code >= 500:
        FOUND.setdefault(("json", operation), []).append(body)

@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(item=st.dictionaries(st.sampled_from(["pk", "a", "b", "", "n"]), attribute_values, max_size=4))
def test_explore_items(http, module_table, item):
    body = {"TableName": module_table, "Item": {**item, "pk": {"S": "fuzz"}}}
    r = call(http, "PutItem", body)
    if r.status_code >= 500:
        FOUND.setdefault(("item",), []).append(body)

def test_zz_report():
    for k, v in FOUND.items():
        print("\n==", k, len(v))
        for b in sorted(v, key=lambda b: len(json.dumps(b)))[:6]:
            print("   ", json.dumps(b)[:300])
