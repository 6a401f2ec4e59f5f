"""IAM policy evaluation: explicit deny > allow > implicit deny, wildcards, NotAction/NotResource,
condition operators and set qualifiers."""

from __future__ import annotations

import pytest

from aws_json.iam import Check, PolicyError, check_policy, decide

TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/Music"


def policy(*statements) -> list[dict]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def allow(action="*", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def verdict(policies, action="dynamodb:GetItem", resource=TABLE, **context) -> str:
    return decide(policies, Check(action, resource), {k.lower(): v for k, v in context.items()})


def test_explicit_deny_beats_allow_beats_implicit_deny():
    assert verdict(policy(allow())) == "Allow"
    assert verdict(policy(allow(), deny("dynamodb:Get*"))) == "Deny"
    assert verdict(policy(allow("dynamodb:PutItem"))) == "ImplicitDeny"
    assert verdict([]) == "ImplicitDeny"


def test_action_wildcards_are_case_insensitive_and_resource_wildcards_stay_in_their_segment():
    assert verdict(policy(allow("DynamoDB:get?tem"))) == "Allow"
    assert verdict(policy(allow(resource="arn:aws:dynamodb:*:*:table/Mu*"))) == "Allow"
    assert verdict(policy(allow(resource="arn:aws:dynamodb:us-west-2:*:table/*"))) == "ImplicitDeny"
    assert verdict(policy(allow(resource=f"{TABLE}/index/*")), resource=f"{TABLE}/index/ByYear") == "Allow"
    assert verdict(policy(allow(resource=f"{TABLE}/index/*"))) == "ImplicitDeny"


def test_not_action_and_not_resource():
    assert verdict(policy({"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": "*"})) == "Allow"
    assert verdict(policy({"Effect": "Allow", "NotAction": "dynamodb:Get*", "Resource": "*"})) == "ImplicitDeny"
    assert verdict(policy({"Effect": "Allow", "Action": "*", "NotResource": TABLE})) == "ImplicitDeny"


def test_set_qualifiers_on_leading_keys():
    only_mine = policy(allow(Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["u1"]}}))
    assert verdict(only_mine, **{"dynamodb:LeadingKeys": ["u1"]}) == "Allow"
    assert verdict(only_mine, **{"dynamodb:LeadingKeys": ["u1", "u2"]}) == "ImplicitDeny"
    assert verdict(only_mine) == "Allow"  # IAM's pitfall, kept: an absent key is an empty set (a Scan)
    any_mine = policy(allow(Condition={"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": ["u1"]}}))
    assert verdict(any_mine, **{"dynamodb:LeadingKeys": ["u2", "u1"]}) == "Allow"
    assert verdict(any_mine) == "ImplicitDeny"


def test_string_ip_null_and_if_exists_operators():
    lan = policy(allow(Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.1/32"]}}))
    assert verdict(lan, **{"aws:SourceIp": ["127.0.0.1"]}) == "Allow"
    assert verdict(lan, **{"aws:SourceIp": ["192.168.1.1"]}) == "ImplicitDeny"
    assert verdict(lan) == "ImplicitDeny"
    not_lan = policy(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    assert verdict(not_lan, **{"aws:SourceIp": ["8.8.8.8"]}) == "Deny"
    assert verdict(not_lan, **{"aws:SourceIp": ["10.1.2.3"]}) == "Allow"
    like = policy(allow(Condition={"StringLike": {"aws:username": "dev-*"}}))
    assert verdict(like, **{"aws:username": ["dev-ann"]}) == "Allow"
    assert verdict(like, **{"aws:username": ["ops-bob"]}) == "ImplicitDeny"
    select = policy(allow(Condition={"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}))
    assert verdict(select) == "Allow"
    assert verdict(select, **{"dynamodb:Select": ["ALL_ATTRIBUTES"]}) == "ImplicitDeny"
    absent = policy(allow(Condition={"Null": {"dynamodb:Attributes": "true"}}))
    assert verdict(absent) == "Allow"
    assert verdict(absent, **{"dynamodb:Attributes": ["a"]}) == "ImplicitDeny"


@pytest.mark.parametrize("bad, message", [
    ({"Version": "2099-01-01", "Statement": []}, "valid version"),
    ({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, "Effect must be Allow or Deny"),
    ({"Statement": [{"Effect": "Allow", "Action": "*"}]}, "Missing required field Resource"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x", "Resource": "*"}]}, "exclude each other"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                     "Condition": {"NumericLessThanEquals": {"k": "1"}}}]}, "not supported"),
])
def test_policies_this_evaluation_would_misread_are_refused_at_load(bad, message):
    with pytest.raises(PolicyError) as info:
        check_policy(bad)
    assert message in str(info.value)
