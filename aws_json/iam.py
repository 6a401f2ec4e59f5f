"""IAM identity policies: the grammar users write, evaluated as IAM evaluates them.

A call is a list of `Check`s (an action, a resource ARN and the condition keys the call sets); each
check is allowed when some statement allows it and none denies it: an explicit Deny beats an Allow,
which beats the implicit deny. Supported: Effect, Action / NotAction and Resource / NotResource with
`*` and `?` wildcards (actions case-insensitive, ARNs segment by segment), and Condition with the
String and IpAddress operator families, Bool, Null, the `...IfExists` suffix and the
`ForAllValues:` / `ForAnyValue:` set qualifiers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from aws_json.credentials import Principal
from aws_json.errors import AccessDeniedException

VERSIONS = ("2012-10-17", "2008-10-17")


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Check:
    action: str  # "dynamodb:PutItem"
    resource: str  # an ARN, or "*" for calls on no resource (ListTables)
    conditions: dict[str, list[str]] = field(default_factory=dict)  # keys lower-cased


def authorize(principal: Principal, checks: Iterable[Check], global_conditions: dict[str, list[str]]) -> None:
    """Raise AccessDeniedException, in AWS's words, for the first check the policies do not allow."""
    for check in checks:
        context = {**global_conditions, **check.conditions}
        verdict = decide(principal.policies, check, context)
        if verdict != "Allow":
            reason = ("with an explicit deny in an identity-based policy" if verdict == "Deny" else
                      f"because no identity-based policy allows the {check.action} action")
            raise AccessDeniedException(f"User: {principal.arn} is not authorized to perform: {check.action} "
                                        f"on resource: {check.resource} {reason}")


def decide(policies: Iterable[dict], check: Check, context: dict[str, list[str]]) -> str:
    """"Deny", "Allow" or "ImplicitDeny"."""
    allowed = False
    for policy in policies:
        for statement in statements(policy):
            if applies(statement, check, context):
                if statement["Effect"] == "Deny":
                    return "Deny"
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def applies(statement: dict, check: Check, context: dict[str, list[str]]) -> bool:
    if "Action" in statement:
        if not any(action_matches(p, check.action) for p in _list(statement["Action"])):
            return False
    elif any(action_matches(p, check.action) for p in _list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(resource_matches(p, check.resource) for p in _list(statement["Resource"])):
            return False
    elif any(resource_matches(p, check.resource) for p in _list(statement["NotResource"])):
        return False
    return all(condition_holds(op, key, values, context)
               for op, block in statement.get("Condition", {}).items() for key, values in block.items())


# -- matching ------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return _wildcard(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    """`*` alone matches everything; otherwise the six ARN parts match one by one (a wildcard
    does not reach across the colons of partition, service, region and account)."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(given) == 6 and all(
        _wildcard(w, False).fullmatch(g) is not None for w, g in zip(wanted, given, strict=True))


# -- conditions ----------------------------------------------------------------------------------

def _string_equals(wanted: str, given: str) -> bool:
    return wanted == given


def _string_equals_ignore_case(wanted: str, given: str) -> bool:
    return wanted.lower() == given.lower()


def _string_like(wanted: str, given: str) -> bool:
    return _wildcard(wanted, False).fullmatch(given) is not None


def _ip_address(wanted: str, given: str) -> bool:
    try:
        return ipaddress.ip_address(given) in ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return False


def _bool(wanted: str, given: str) -> bool:
    return wanted.lower() == given.lower()


MATCHERS = {  # operator -> (value matcher, negated)
    "StringEquals": (_string_equals, False), "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False), "StringNotLike": (_string_like, True),
    "IpAddress": (_ip_address, False), "NotIpAddress": (_ip_address, True),
    "ArnEquals": (_string_like, False), "ArnLike": (_string_like, False),
    "ArnNotEquals": (_string_like, True), "ArnNotLike": (_string_like, True),
    "Bool": (_bool, False),
}


def parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """(set qualifier, base operator, if-exists)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    return qualifier or None, base, if_exists


def condition_holds(operator: str, key: str, wanted, context: dict[str, list[str]]) -> bool:
    qualifier, base, if_exists = parse_operator(operator)
    wanted = [str(w).lower() if isinstance(w, bool) else str(w) for w in _list(wanted)]
    given = context.get(key.lower())
    if base == "Null":  # "true": the key is absent
        return (given is None) == (wanted[0].lower() == "true")
    matcher, negated = MATCHERS[base]

    def one(value: str) -> bool:
        hit = any(matcher(w, value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in given or [])
    if qualifier == "ForAnyValue":
        return any(one(v) for v in given or [])
    if given is None:
        return if_exists or negated
    return all(one(v) for v in given)


# -- the grammar ---------------------------------------------------------------------------------

def statements(policy: dict) -> list[dict]:
    statement = policy["Statement"]
    return statement if isinstance(statement, list) else [statement]


def check_policy(policy: dict) -> None:
    """Refuse, with IAM's words where it has them, a policy this evaluation would misread."""
    if policy.get("Version", VERSIONS[0]) not in VERSIONS:
        raise PolicyError(f"The policy must contain a valid version string: {policy.get('Version')!r}")
    for i, statement in enumerate(statements(policy)):
        where = f"Statement[{i}]"
        if not isinstance(statement, dict):
            raise PolicyError(f"{where}: expected an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"{where}: Effect must be Allow or Deny")
        for a, b in (("Action", "NotAction"), ("Resource", "NotResource")):
            if (a in statement) == (b in statement):
                raise PolicyError(f"{where}: Missing required field {a}" if a not in statement
                                  else f"{where}: {a} and {b} exclude each other")
            if not all(isinstance(x, str) for x in _list(statement.get(a, statement.get(b)))):
                raise PolicyError(f"{where}: {a} must be a string or a list of strings")
        for operator, block in statement.get("Condition", {}).items():
            qualifier, base, _ = parse_operator(operator)
            if base not in MATCHERS and base != "Null" or qualifier not in (None, "ForAllValues", "ForAnyValue"):
                raise PolicyError(f"{where}: condition operator {operator} is not supported")
            if not isinstance(block, dict):
                raise PolicyError(f"{where}: condition {operator} must map keys to values")


def _list(value) -> list:
    return value if isinstance(value, list) else [value]
