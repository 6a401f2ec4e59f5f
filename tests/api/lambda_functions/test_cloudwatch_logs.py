"""CloudWatch Logs over a function's log group: DescribeLogGroups, DescribeLogStreams, GetLogEvents,
FilterLogEvents, and the calls `aws logs tail` (AWS CLI v2) makes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.api.helpers import unique_name
from tests.api.lambda_functions.helpers import error_of

PRINTS = "def handler(event, context):\n    for line in event['lines']:\n        print(line)\n"


@pytest.fixture
def printed(lam, make_function):
    """A function that prints the lines it is given; returns (name, log group)."""
    name = make_function(PRINTS)
    lam.invoke(FunctionName=name, Payload=b'{"lines": ["ERROR disk full", "INFO all good", "WARN low memory"]}')
    return name, f"/aws/lambda/{name}"


def messages(events) -> list[str]:
    return [e["message"] for e in events]


def test_describe_log_groups_lists_a_functions_group_after_it_ran(logs, printed):
    _, group = printed
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in found] == [group]
    assert found[0]["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
    assert found[0]["creationTime"] <= int(time.time() * 1000)


def test_describe_log_groups_pages_with_limit(logs, lam, make_function):
    prefix = unique_name("pg")
    for i in range(3):
        name = make_function(PRINTS, name=f"{prefix}-{i}")
        lam.invoke(FunctionName=name, Payload=b'{"lines": ["x"]}')
    pages = list(logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=f"/aws/lambda/{prefix}", PaginationConfig={"PageSize": 2}))
    assert [len(p["logGroups"]) for p in pages] == [2, 1]
    assert [g["logGroupName"] for p in pages for g in p["logGroups"]] == [f"/aws/lambda/{prefix}-{i}" for i in range(3)]


def test_describe_log_streams_one_stream_per_worker(logs, lam, make_function):
    name = make_function("import time\ndef handler(event, context):\n    time.sleep(0.5)\n    print('hi')\n",
                         Timeout=10)
    with ThreadPoolExecutor(2) as pool:  # two at once: two workers, two streams
        list(pool.map(lambda _: lam.invoke(FunctionName=name), range(2)))
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 2
    for stream in streams:
        assert "/[$LATEST]" in stream["logStreamName"]
        assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"]
    newest_first = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}", orderBy="LastEventTime",
                                             descending=True)["logStreams"]
    assert newest_first[0]["lastEventTimestamp"] >= newest_first[1]["lastEventTimestamp"]


def test_describe_log_streams_of_an_unknown_group_is_resource_not_found(logs):
    with pytest.raises(ClientError) as exc:
        logs.describe_log_streams(logGroupName=f"/aws/lambda/{unique_name('none')}")
    assert error_of(exc) == ("ResourceNotFoundException", 400, "The specified log group does not exist.")


def test_describe_log_streams_ordered_by_last_event_time_with_a_prefix_is_invalid(logs, printed):
    with pytest.raises(ClientError) as exc:
        logs.describe_log_streams(logGroupName=printed[1], orderBy="LastEventTime", logStreamNamePrefix="2")
    assert error_of(exc)[0] == "InvalidParameterException"


def only_stream(logs, group: str) -> str:
    return logs.describe_log_streams(logGroupName=group)["logStreams"][0]["logStreamName"]


def test_get_log_events_from_head_shows_lambdas_lines_around_the_output(logs, printed):
    _, group = printed
    events = logs.get_log_events(logGroupName=group, logStreamName=only_stream(logs, group),
                                 startFromHead=True)["events"]
    lines = messages(events)
    assert lines[0].startswith("INIT_START Runtime Version: python:3.11")
    assert lines[1].startswith("START RequestId: ")
    assert lines[2:5] == ["ERROR disk full", "INFO all good", "WARN low memory"]
    assert lines[5].startswith("END RequestId: ") and lines[6].startswith("REPORT RequestId: ")
    assert all(e["timestamp"] <= e["ingestionTime"] for e in events)


def test_get_log_events_pages_forward_until_the_token_repeats(logs, printed):
    _, group = printed
    stream = only_stream(logs, group)
    seen, token = [], None
    for _ in range(10):
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=2,
                                   **({"nextToken": token} if token else {}))
        seen += messages(page["events"])
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert len(seen) == 7 and seen[2] == "ERROR disk full"


def test_get_log_events_without_start_from_head_returns_the_latest(logs, printed):
    _, group = printed
    page = logs.get_log_events(logGroupName=group, logStreamName=only_stream(logs, group), limit=2)
    assert messages(page["events"])[0].startswith("END RequestId: ")
    earlier = logs.get_log_events(logGroupName=group, logStreamName=only_stream(logs, group), limit=2,
                                  nextToken=page["nextBackwardToken"])
    assert messages(earlier["events"]) == ["INFO all good", "WARN low memory"]


def test_get_log_events_of_an_unknown_stream_is_resource_not_found(logs, printed):
    with pytest.raises(ClientError) as exc:
        logs.get_log_events(logGroupName=printed[1], logStreamName="no-such-stream")
    assert error_of(exc) == ("ResourceNotFoundException", 400, "The specified log stream does not exist.")


def test_get_log_events_by_log_group_identifier_arn(logs, printed):
    _, group = printed
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"
    events = logs.get_log_events(logGroupIdentifier=arn, logStreamName=only_stream(logs, group))["events"]
    assert "ERROR disk full" in messages(events)


@pytest.mark.parametrize("pattern,expected", [
    ("ERROR", ["ERROR disk full"]),
    ("low memory", ["WARN low memory"]),  # both terms
    ('"disk full"', ["ERROR disk full"]),
    ("?ERROR ?WARN", ["ERROR disk full", "WARN low memory"]),
    ("disk", ["ERROR disk full"]),
    ("all -ERROR", ["INFO all good"]),
    ("error", []),  # case-sensitive
])
def test_filter_log_events_with_plain_terms(logs, printed, pattern, expected):
    events = logs.filter_log_events(logGroupName=printed[1], filterPattern=pattern)["events"]
    assert messages(events) == expected


def test_filter_log_events_json_patterns_are_refused_not_misapplied(logs, printed):
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName=printed[1], filterPattern='{ $.level = "ERROR" }')
    assert error_of(exc)[0] == "InvalidParameterException"


def test_filter_log_events_pages_through_every_event_once(logs, printed):
    pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName=printed[1],
                                                                   PaginationConfig={"PageSize": 3}))
    events = [e for p in pages for e in p["events"]]
    assert len(pages) == 3 and len(events) == 7
    assert len({e["eventId"] for e in events}) == 7


def test_filter_log_events_by_time_range(logs, printed):
    everything = logs.filter_log_events(logGroupName=printed[1])["events"]
    first = everything[0]["timestamp"]
    assert logs.filter_log_events(logGroupName=printed[1], endTime=first - 1)["events"] == []
    after = logs.filter_log_events(logGroupName=printed[1], startTime=everything[-1]["timestamp"])["events"]
    assert after and all(e["timestamp"] >= everything[-1]["timestamp"] for e in after)


def test_filter_log_events_of_an_unknown_group_is_resource_not_found(logs):
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName=f"/aws/lambda/{unique_name('none')}")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_the_calls_of_aws_logs_tail(logs, printed):
    """AWS CLI v2's `aws logs tail GROUP [--filter-pattern P]` (awscli/customizations/logs/tail.py) pages
    through FilterLogEvents with interleaved=True from ten minutes ago; the CLI installed here is v1,
    which has no `tail`, so its calls are made here as it makes them."""
    kwargs = {"logGroupName": printed[1], "interleaved": True, "startTime": int((time.time() - 600) * 1000)}
    events = [e for page in logs.get_paginator("filter_log_events").paginate(**kwargs) for e in page["events"]]
    assert [m for m in messages(events) if not m.startswith(("INIT_START", "START", "END", "REPORT"))] == [
        "ERROR disk full", "INFO all good", "WARN low memory"]
    assert all({"logStreamName", "timestamp", "message", "ingestionTime", "eventId"} <= set(e) for e in events)
    filtered = [e for page in logs.get_paginator("filter_log_events").paginate(**kwargs, filterPattern="WARN")
                for e in page["events"]]
    assert messages(filtered) == ["WARN low memory"]
