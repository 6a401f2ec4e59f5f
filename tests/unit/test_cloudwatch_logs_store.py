"""The log store's files, paging tokens and filter patterns (cloudwatch_logs/)."""

from __future__ import annotations

import pytest

from cloudwatch_logs import pages, patterns
from cloudwatch_logs.store import LogStore


def test_events_survive_a_reopen_and_a_torn_last_line_is_skipped(tmp_path):
    store = LogStore(tmp_path)
    store.append("/aws/lambda/f", "2026/12/07/[$LATEST]abc", [(1000, "one"), (1001, "two")])
    stream_file = next((tmp_path).rglob("*.jsonl"))
    with open(stream_file, "ab") as f:
        f.write(b'{"t": 1002, "i": 10')  # a crash in the middle of a write
    reopened = LogStore(tmp_path)
    assert reopened.group_names() == ["/aws/lambda/f"]
    events = reopened.snapshot("/aws/lambda/f")["2026/12/07/[$LATEST]abc"]
    assert [(e.timestamp, e.message) for e in events] == [(1000, "one"), (1001, "two")]
    assert reopened.group("/aws/lambda/f").creation_time == 1000


def test_snapshot_is_not_changed_by_later_appends(tmp_path):
    store = LogStore(tmp_path)
    store.append("g", "s", [(1, "a")])
    snapshot = store.snapshot("g")
    store.append("g", "s", [(2, "b")])
    assert [e.message for e in snapshot["s"]] == ["a"]
    assert store.snapshot("missing") is None


def test_page_tokens_round_trip_and_bad_tokens_are_refused():
    assert pages.decode(pages.encode([5, "s", 2])) == [5, "s", 2]
    chunk, token = pages.page(list(range(5)), None, 2)
    assert chunk == [0, 1] and pages.page(list(range(5)), token, 2)[0] == [2, 3]
    assert pages.page(list(range(5)), pages.encode(4), 2) == ([4], None)
    with pytest.raises(pages.BadToken):
        pages.decode("not base64 json!")
    with pytest.raises(pages.BadToken):
        pages.page([], pages.encode(-1), 2)


@pytest.mark.parametrize("pattern,message,matches", [
    ("", "anything", True),
    ("ERROR", "an ERROR here", True),
    ("ERROR", "an error here", False),
    ("ERROR disk", "ERROR: disk full", True),
    ("ERROR disk", "ERROR: memory", False),
    ('"disk full"', "the disk full again", True),
    ('"disk full"', "full disk", False),
    ("?ERROR ?WARN", "WARN low", True),
    ("?ERROR ?WARN", "INFO fine", False),
    ("ERROR -Timeout", "ERROR Timeout", False),
    ("ERROR -Timeout", "ERROR other", True),
])
def test_filter_patterns_of_terms(pattern, message, matches):
    assert patterns.parse(pattern).matches(message) is matches


@pytest.mark.parametrize("pattern", ['{ $.level = "ERROR" }', "[ip, user]", "%ERROR [0-9]+%", '"unclosed'])
def test_unsupported_filter_patterns_are_refused(pattern):
    with pytest.raises(patterns.UnsupportedPattern):
        patterns.parse(pattern)


def test_logs_calls_ask_iam_for_the_log_groups_arn():
    from aws_json.iam import Check
    from cloudwatch_logs.authorization import logs_checks
    from cloudwatch_logs.operations import LogsContext

    ctx = LogsContext(None, "us-east-1", "123456789012")
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f"
    assert logs_checks(ctx, "FilterLogEvents", {"logGroupName": "/aws/lambda/f"}) == [
        Check("logs:FilterLogEvents", group + ":*")]
    assert logs_checks(ctx, "GetLogEvents", {"logGroupIdentifier": group}) == [Check("logs:GetLogEvents", group + ":*")]
    assert logs_checks(ctx, "DescribeLogGroups", {}) == [
        Check("logs:DescribeLogGroups", "arn:aws:logs:us-east-1:123456789012:log-group:*")]
