"""Random AWS JSON requests generated from botocore's service models (DynamoDB, DynamoDB Streams,
Kinesis): valid ones, valid ones with one thing broken (a wrong type, a value outside its
constraint, a required member missing), junk bodies, wrong or missing X-Amz-Target, huge values,
deep nesting, and junk signature headers. Used by `python -m bench fuzz` (100,000+ requests) and
tests/integration/test_fuzz.py (a few thousand).

Request `i` of seed `s` is made by its own `random.Random(f"{s}:{i}")`, so any one request can be
made again from the two numbers alone (`FuzzRequest.replay`), whatever ran before it.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field
from functools import cache

import botocore.loaders
import orjson

# model, API version: every operation of these models is fuzzed, registered by us or not
SERVICES = {"dynamodb": "2012-08-10", "dynamodbstreams": "2012-08-10", "kinesis": "2013-12-02"}
MAX_DOCUMENT_DEPTH = 32  # DynamoDB's nesting limit for attribute values
# Operations that destroy what they name: they get random names, never the prepared resources.
DESTRUCTIVE = frozenset({"DeleteTable", "DeleteStream", "MergeShards", "SplitShard", "UpdateShardCount",
                         "DeleteResourcePolicy", "DecreaseStreamRetentionPeriod", "StopStreamEncryption"})
# Names a created resource may take: creations re-use a small pool, so that what a long run
# creates (tables, topics) stays bounded and RSS measures leaks, not legitimate state.
NEW_NAMES = [f"fuzz-new-{i}" for i in range(6)]
EXPRESSION_TOKENS = ["#n", "#m", ":v", ":w", "a", "b.c", "d[1]", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "NOT",
                     "BETWEEN", "IN", "(", ")", ",", "SET", "REMOVE", "ADD", "DELETE", "+", "-", "size(",
                     "attribute_exists(", "attribute_not_exists(", "begins_with(", "contains(", "attribute_type(",
                     "if_not_exists(", "list_append(", "[", "]", ".", "0", "\u00e9", "#", ":", "\x00"]
BAD_CHARACTERS = ["\x00", "\ud7ff", "/../", "%00", "\u202e", "\n", "'\"", ":", "*", "\U0001f600"]
EXPRESSION_MEMBERS = {"ConditionExpression", "FilterExpression", "KeyConditionExpression", "ProjectionExpression",
                      "UpdateExpression"}


@dataclass
class FuzzRequest:
    seed: int
    index: int
    kind: str
    target: str | None  # None: no X-Amz-Target header at all
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self, limit: int = 600) -> str:
        body = self.body[:limit].decode("utf-8", "backslashreplace")
        more = f"... ({len(self.body):,} bytes)" if len(self.body) > limit else ""
        return (f"seed {self.seed} request {self.index} ({self.kind}): X-Amz-Target {self.target!r}, "
                f"headers {self.headers}, body {body}{more}")


@cache
def model(service: str) -> dict:
    return botocore.loaders.create_loader().load_service_model(service, "service-2", SERVICES[service])


def dumps(value) -> bytes:
    """JSON of anything a generator makes: orjson refuses integers past 64 bits, which are fair game."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def target_of(service: str, operation: str) -> str:
    return f"{model(service)['metadata']['targetPrefix']}.{operation}"


def content_type(service: str) -> str:
    return f"application/x-amz-json-{model(service)['metadata']['jsonVersion']}"


class RequestFuzzer:
    """`known`: member name -> real values (table names, stream ARNs, shard iterators...) that
    valid requests use half of the time, so that they reach the code behind the validation."""

    def __init__(self, seed: int, known: dict[str, list] | None = None, huge_bytes: int = 1 << 20):
        self.seed = seed
        self.known = known or {}
        self.huge_bytes = huge_bytes
        self.operations = [(s, op) for s in SERVICES for op in model(s)["operations"]]
        # Most requests go to what the server serves (`known["operations"]`); the rest to any operation.
        self.served = [tuple(op) for op in self.known.get("operations", ())] or self.operations
        self.kinds = [(self.valid, 30), (self.mutated, 35), (self.junk_body, 8), (self.bad_target, 6),
                      (self.deep, 6), (self.huge, 4), (self.bad_signature, 6), (self.attribute_values, 5)]

    def request(self, index: int) -> FuzzRequest:
        rng = random.Random(f"{self.seed}:{index}")
        make = rng.choices([k for k, _ in self.kinds], weights=[w for _, w in self.kinds])[0]
        service, operation = rng.choice(self.served if rng.random() < 0.85 else self.operations)
        kind, target, body, headers = make(rng, service, operation)
        headers = {"Content-Type": content_type(service), **headers}
        return FuzzRequest(self.seed, index, kind, target, body, headers)

    # -- kinds of request: each returns (kind, target, body, extra headers) --------------------

    def valid(self, rng, service, operation):
        return "valid", target_of(service, operation), dumps(self.input(rng, service, operation)), {}

    def mutated(self, rng, service, operation):
        request = self.input(rng, service, operation, all_members=rng.random() < 0.5)
        what = mutate(rng, request)
        return f"mutated:{what}", target_of(service, operation), dumps(request), {}

    def junk_body(self, rng, service, operation):
        request = orjson.dumps(self.input(rng, service, operation))
        choices = [
            lambda: request[: rng.randrange(max(len(request), 1))],                   # truncated
            lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))),  # random bytes
            lambda: rng.choice([b"[]", b"null", b"1", b'"x"', b"true", b"", b"{", b"}", b"{}{}", b"\xff\xfe{}"]),
            lambda: request.replace(b'"', b"'", 1),
            lambda: b'{"a":1,"a":2,' + request[1:],                                    # duplicate keys
            lambda: request[:-1] + b',"x":1e999}' if len(request) > 2 else b"{",       # number overflow
            lambda: b"\xef\xbb\xbf" + request,                                         # a byte-order mark
            lambda: request.replace(b"{", b'{"\\ud800":"\\udfff",', 1),                # lone surrogates
        ]
        return "junk-body", target_of(service, operation), rng.choice(choices)(), {}

    def bad_target(self, rng, service, operation):
        body = orjson.dumps(self.input(rng, service, operation))
        prefix = model(service)["metadata"]["targetPrefix"]
        target = rng.choice([None, "", prefix, f"{prefix}.", f".{operation}", f"{prefix}.{operation}x",
                             f"{prefix}.{operation.lower()}", f"Nope_20120810.{operation}", f"{prefix}..{operation}",
                             f"{prefix}.{operation}.{operation}", "\u00e9\u00e9", "x" * 5000, f"{prefix}.__init__"])
        return "bad-target", target, body, {}

    def deep(self, rng, service, operation):
        depth = rng.choice([MAX_DOCUMENT_DEPTH - 1, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_DEPTH + 1, 60, 101, 1000, 1030,
                            50_000])
        shape = rng.choice(["list", "object", "attribute"])
        if shape == "list":
            nested = b"[" * depth + b"]" * depth
        elif shape == "object":
            nested = b'{"a":' * depth + b"1" + b"}" * depth
        else:
            nested = b'{"L":[' * depth + b'{"S":"x"}' + b"]}" * depth
        request = self.input(rng, service, operation)
        member = rng.choice(sorted(request) or ["X"])
        body = orjson.dumps({k: v for k, v in request.items() if k != member})
        body = body[:-1] + (b"," if len(body) > 2 else b"") + orjson.dumps(member) + b":" + nested + b"}"
        return f"deep:{shape}:{depth}", target_of(service, operation), body, {}

    def huge(self, rng, service, operation):
        size = rng.choice([self.huge_bytes // 4, self.huge_bytes, 17 << 20])
        request = self.input(rng, service, operation)
        member = rng.choice(sorted(request) or ["X"])
        small = min(size, self.huge_bytes)  # the 17 MB case only as one string: it is about the body limit
        request[member] = rng.choice([
            lambda: "x" * size, lambda: [0] * (small // 2), lambda: {f"k{i}": i for i in range(small // 16)},
            lambda: 10 ** 400, lambda: 1e308, lambda: -(2 ** 63), lambda: 2 ** 64])()
        return f"huge:{member}", target_of(service, operation), dumps(request), {}

    def bad_signature(self, rng, service, operation):
        headers = rng.choice([
            {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
                              "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64, "X-Amz-Date": "20150830T123600Z"},
            {"Authorization": "AWS4-HMAC-SHA256 Credential=/,,,=", "X-Amz-Date": "not a date"},
            {"Authorization": "garbage \u00e9".encode().decode("latin-1")},
            {"Authorization": "AWS4-HMAC-SHA256 " + "A" * 10000},
            {"X-Amz-Security-Token": "x" * rng.randrange(1, 3000), "X-Amz-Date": "99999999T999999Z"},
            {"Authorization": "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=, Signature="},
            {"Content-Type": rng.choice(["text/plain", "", "application/json; charset=x", "multipart/form-data"])},
        ])
        body = orjson.dumps(self.input(rng, service, operation))
        return "bad-signature", target_of(service, operation), body, headers

    def attribute_values(self, rng, service, operation):
        """Random, often malformed or deeply nested attribute values written to, and compared in,
        a real table (with a stream: the values also go through the change events)."""
        table = (self.known.get("TableName") or ["fuzz-a"])[0]
        value = attribute_value(rng, rng.randrange(0, MAX_DOCUMENT_DEPTH + 3), broken=rng.random() < 0.5)
        key = {"pk": {"S": f"k{rng.randrange(20)}"}}
        values = {":v": value}
        operation, request = rng.choice([
            ("PutItem", {"Item": {**key, "v": value}}),
            ("PutItem", {"Item": {**key, "v": value}, "ConditionExpression": "v = :v",
                         "ExpressionAttributeValues": values}),
            ("UpdateItem", {"Key": key, "UpdateExpression": rng.choice(["SET v = :v", "ADD v :v", "DELETE v :v",
                                                                        "SET v = list_append(v, :v)"]),
                            "ExpressionAttributeValues": values, "ReturnValues": "ALL_NEW"}),
            ("GetItem", {"Key": {"pk": value}}),
            ("DeleteItem", {"Key": key, "ConditionExpression": "contains(v, :v)", "ExpressionAttributeValues": values}),
            ("Query", {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": values}),
            ("Scan", {"FilterExpression": "v = :v OR size(v) > :v", "ExpressionAttributeValues": values}),
            ("BatchWriteItem", {"RequestItems": {table: [{"PutRequest": {"Item": {**key, "v": value}}}]}}),
        ])
        if operation != "BatchWriteItem":
            request["TableName"] = table
        return "attribute-values", target_of("dynamodb", operation), orjson.dumps(request), {}

    # -- values from the model ------------------------------------------------------------------

    def input(self, rng, service, operation, all_members: bool = False) -> dict:
        shape = model(service)["operations"][operation].get("input")
        if shape is None:
            return {}
        return Values(self, rng, model(service)["shapes"], operation, all_members).of(shape["shape"], "", 0)


class Values:
    """Random valid values of one model's shapes for one request."""

    def __init__(self, fuzzer: RequestFuzzer, rng: random.Random, shapes: dict, operation: str, all_members: bool):
        self.fuzzer, self.rng, self.shapes = fuzzer, rng, shapes
        self.operation, self.all_members = operation, all_members

    def of(self, name: str, member: str, depth: int):
        shape = self.shapes[name]
        if name == "AttributeValue":
            return attribute_value(self.rng, self.rng.randrange(4))
        known = self.known(member)
        if known is not None:
            return known
        kind = shape["type"]
        if kind == "structure":
            return self.structure(shape, depth)
        if kind in ("list", "map"):
            low = shape.get("min", 0)
            count = self.rng.randint(low, max(low, min(shape.get("max", 3), 3))) if depth < 6 else low
            if kind == "list":
                return [self.of(shape["member"]["shape"], member, depth + 1) for _ in range(count)]
            return {self.of(shape["key"]["shape"], "", depth + 1): self.of(shape["value"]["shape"], member, depth + 1)
                    for _ in range(count)}
        return scalar(self.rng, shape, member)

    def structure(self, shape: dict, depth: int) -> dict:
        required = set(shape.get("required", ()))
        out = {}
        for name, member in shape["members"].items():
            if name in required or self.all_members or (depth < 4 and self.rng.random() < 0.3):
                out[name] = self.of(member["shape"], name, depth + 1)
        return out

    def known(self, member: str):
        if member in EXPRESSION_MEMBERS:
            return expression(self.rng)
        values = self.fuzzer.known.get(member)
        if member.startswith(("TableName", "StreamName")) and self.operation.startswith("Create"):
            return self.rng.choice(NEW_NAMES)
        if not values or self.operation in DESTRUCTIVE or self.rng.random() < 0.5:
            return None
        return self.rng.choice(values)


def scalar(rng: random.Random, shape: dict, member: str):
    kind = shape["type"]
    if "enum" in shape:
        return rng.choice(shape["enum"])
    if kind == "string":
        low = shape.get("min", 0)
        high = min(shape.get("max", 20), low + 40)
        if "pattern" in shape:  # names, ARNs: letters and digits satisfy most patterns
            return "".join(rng.choice(string.ascii_letters + string.digits + "-_.") for _ in range(max(low, 3)))
        return "".join(rng.choice(string.printable + "\u00e9\u4e2d") for _ in range(rng.randint(low, max(low, high))))
    if kind in ("integer", "long"):
        low = int(shape.get("min", -5))
        return rng.randint(low, max(low, int(min(shape.get("max", 1000), low + 1000))))
    if kind in ("double", "float"):
        return rng.uniform(shape.get("min", 0), shape.get("max", shape.get("min", 0) + 100.0))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "blob":
        low = shape.get("min", 0)
        return base64.b64encode(rng.randbytes(rng.randint(low, min(shape.get("max", 64), low + 64)))).decode()
    if kind == "timestamp":
        return rng.choice([1_700_000_000, 1_700_000_000.5, "2026-01-01T00:00:00Z"])
    return None


def attribute_value(rng: random.Random, depth: int, broken: bool = False):
    """A DynamoDB attribute value nested `depth` levels deep; `broken` puts one error somewhere."""
    if depth > 0:
        inner = attribute_value(rng, depth - 1, broken and rng.random() < 0.7)
        return {"L": [inner]} if rng.random() < 0.5 else {"M": {"k": inner}}
    if broken:
        return rng.choice([{}, {"S": 1}, {"N": "1e999"}, {"N": "x"}, {"B": "!!"}, {"SS": []}, {"SS": ["a", "a"]},
                           {"NS": ["1", "01"]}, {"S": "a", "N": "1"}, {"BOOL": "true"}, {"NULL": False}, {"Q": 1},
                           {"L": {}}, {"M": []}, {"S": ""}, {"N": "1" * 40}, {"BS": ["AA==", "AA=="]}, []])
    return rng.choice([{"S": "x"}, {"N": "-1.5e3"}, {"B": "AAE="}, {"BOOL": True}, {"NULL": True}, {"SS": ["a", "b"]},
                       {"NS": ["1", "2"]}, {"BS": ["AA=="]}, {"L": []}, {"M": {}}])


def expression(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(["#n = :v", "attribute_exists(#n)", "SET #n = :v", "REMOVE a", "ADD #n :v", "a, b.c",
                           "#n BETWEEN :v AND :w", "pk = :v", "size(a) > :v", "SET a = list_append(a, :v)"])
    return " ".join(rng.choice(EXPRESSION_TOKENS) for _ in range(rng.randint(0, 12)))


def mutate(rng: random.Random, request: dict) -> str:
    """Break one random spot of `request` in place; says what it did."""
    path = random_path(rng, request)
    parent, key = path[-1] if path else (request, None)
    if key is None:
        request[rng.choice(["", "\u00e9", "X" * 300, "__proto__"])] = rng.choice([None, 1, "x", [], {}])
        return "unknown-member"
    breaks = {
        "null": lambda v: None,
        "wrong-type": lambda v: rng.choice([1, -1, 1.5, "x", True, [], {}, [None], {"": None}]),
        "empty": lambda v: type(v)() if isinstance(v, str | list | dict) else 0,
        "too-long": too_long,
        "negative": lambda v: -abs(v) - 1 if isinstance(v, int | float) and not isinstance(v, bool) else "-1",
        "bad-chars": lambda v: (v if isinstance(v, str) else "") + rng.choice(BAD_CHARACTERS),
        "huge-number": lambda v: rng.choice([2 ** 63, -(2 ** 63) - 1, 1e308, -1e308, 1e-320]),
        "drop": lambda v: ...,
    }
    name = rng.choice(sorted(breaks))
    if name == "drop" and isinstance(parent, dict):
        parent.pop(key, None)
    elif name != "drop":
        parent[key] = breaks[name](parent[key])
    return name


def too_long(value):
    """Far past any length or range limit, of the same type."""
    if isinstance(value, str | list):
        return value * 300 if value else ["x"] * 300 if isinstance(value, list) else "x" * 3000
    if isinstance(value, dict):
        return {**value, **{f"k{i}": value.get(next(iter(value), None)) for i in range(300)}}
    if isinstance(value, bool) or value is None:
        return value
    return value * 10 ** 12 or 10 ** 12


def random_path(rng: random.Random, request) -> list[tuple]:
    """A random walk from the request's top into its members: [(container, key), ...]."""
    path, node = [], request
    while isinstance(node, dict | list) and node:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
        if rng.random() < 0.4:
            break
    return path
