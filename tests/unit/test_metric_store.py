"""The metric store's minutes (monitoring/store.py) and CloudWatch's periods over them
(cloudwatch/statistics.py), on a clock the tests move."""

from __future__ import annotations

import pytest

from cloudwatch.errors import CloudWatch as E
from cloudwatch.statistics import Window, aggregate, statistic, window
from monitoring.catalogue import DEFINITIONS, label_name
from monitoring.store import MetricStore


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def store_at(t: float, retention_s: float = 3 * 3600) -> tuple[MetricStore, Clock]:
    clock = Clock(t)
    return MetricStore(retention_s, clock), clock


def test_samples_land_in_the_minute_the_roller_closes():
    store, clock = store_at(6000.0)  # minute 6000
    series = store.series("AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Count", TableName="t")
    series.add(1)
    series.add(3)
    clock.t = 6061.0
    store.roll()
    series.add(2)
    [first, second] = series.between(0, 10_000, clock.t)
    assert (first.start, first.count, first.sum, first.minimum, first.maximum) == (6000, 2, 4, 1, 3)
    assert (second.start, second.count, second.sum) == (6060, 1, 2)  # the open minute is read too


def test_minutes_without_samples_have_no_datapoint_and_old_ones_are_forgotten():
    store, clock = store_at(6000.0, retention_s=180)
    series = store.series("AWS/Kinesis", "IncomingRecords", "Count", StreamName="s")
    series.add(5)
    clock.t = 6000.0 + 10 * 60
    store.roll()
    assert series.between(0, 10_000, clock.t) == []  # ten minutes on, past a 3-minute retention
    assert series.count == 1 and series.sum == 5  # the running totals Prometheus reads stay


def test_a_series_is_resolved_once_per_dimensions():
    store, _ = store_at(0.0)
    a = store.series("AWS/DynamoDB", "SuccessfulRequestLatency", "Milliseconds", TableName="t", Operation="PutItem")
    b = store.series("AWS/DynamoDB", "SuccessfulRequestLatency", "Milliseconds", Operation="PutItem", TableName="t")
    assert a is b
    assert store.find("AWS/DynamoDB", "SuccessfulRequestLatency", [("Operation", "PutItem"), ("TableName", "t")]) is a


def test_periods_merge_minutes_from_the_rounded_start_time():
    store, clock = store_at(6000.0)
    series = store.series("AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Count", TableName="t")
    for value in (1, 2, 3, 4, 5, 6):  # one sample a minute, six minutes
        series.add(value)
        clock.t += 60
        store.roll()
    points = aggregate(series, Window(6000, 6000 + 360, 180), clock.t)
    assert [(begin, statistic(f, "Sum"), statistic(f, "Average"), statistic(f, "Maximum")) for begin, f in points] == [
        (6000, 6, 2, 3), (6180, 15, 5, 6)]


def test_window_rules_are_cloudwatchs():
    with pytest.raises(E.InvalidParameterValueException, match="multiple of 60"):
        window({"StartTime": 0, "EndTime": 600}, 90)
    with pytest.raises(E.InvalidParameterValueException, match="StartTime must be less than"):
        window({"StartTime": 600, "EndTime": 600}, 60)
    assert window({"StartTime": "1970-01-01T00:01:30Z", "EndTime": 600}, 60) == Window(60, 600.0, 60)
    assert Window(0, 3600 * 24 * 2, 60).periods() == 2880


def test_every_definition_has_a_prometheus_name_with_its_unit():
    for definition in DEFINITIONS:
        assert definition.prometheus.startswith("aws_" + definition.namespace.split("/")[1].lower() + "_")
        if definition.unit == "Milliseconds":
            assert definition.prometheus.endswith("_seconds") and definition.scale == 0.001
    assert label_name("GlobalSecondaryIndexName") == "global_secondary_index_name"
