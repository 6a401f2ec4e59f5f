"""Firehose's S3 key layout and prefix expressions (firehose/prefixes.py): pure functions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from firehose.prefixes import PrefixError, error_object_prefix, object_name, object_prefix, time_format, validate

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def test_a_prefix_without_expressions_gets_the_default_time_folders():
    assert object_prefix("logs/", WHEN) == "logs/2026/03/04/05/"
    assert object_prefix(None, WHEN) == "2026/03/04/05/"
    assert object_prefix("logs", WHEN) == "logs2026/03/04/05/"  # as Firehose: no slash added


def test_a_prefix_with_expressions_is_used_as_it_evaluates():
    assert object_prefix("dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/", WHEN) == "dt=2026-03-04/h=05/"
    random = object_prefix("r/!{firehose:random-string}/", WHEN)
    assert len(random) == len("r//") + 11


def test_error_prefixes_name_the_error_output_type():
    assert error_object_prefix("p/", "e/!{firehose:error-output-type}/!{timestamp:yyyy}/", "format-conversion-failed",
                               WHEN) == "e/format-conversion-failed/2026/"
    assert error_object_prefix("p/", None, "format-conversion-failed", WHEN) == \
        "p/format-conversion-failed/2026/03/04/05/"


def test_object_names_follow_firehose_layout():
    assert object_name("s", 1, WHEN, "u-u", ".gz") == "s-1-2026-03-04-05-06-07-u-u.gz"


@pytest.mark.parametrize("prefix, error_prefix", [
    ("a/!{timestamp:yyyy}/", None),                                    # expressions need an ErrorOutputPrefix
    ("a/!{firehose:error-output-type}/", "e/!{firehose:error-output-type}"),  # only in ErrorOutputPrefix
    ("a/!{firehose:bogus}/", "e/"),
    ("a/!{nope:x}/", "e/"),
    ("a/!{timestamp:yyyy", "e/"),
    ("a/", "e/!{timestamp:yyyy}/"),                                    # error prefix expressions need the type
    ("a/!{timestamp:QQQ}/", "e/!{firehose:error-output-type}"),        # a pattern we cannot evaluate
])
def test_prefixes_firehose_refuses(prefix, error_prefix):
    with pytest.raises(PrefixError):
        validate(prefix, error_prefix)


def test_java_patterns_become_strftime_formats():
    assert time_format("yyyy/MM/dd/HH") == "%Y/%m/%d/%H"
    assert time_format("yyyy'-w'") == "%Y-w"
