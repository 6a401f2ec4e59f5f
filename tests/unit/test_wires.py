"""The query protocol's form and XML, and the CBOR body, as botocore's model shapes them (aws_json/wires.py)."""

from __future__ import annotations

import datetime as dt

import cbor2

from aws_json import wires
from aws_json.protocol import load_model
from cloudwatch.errors import CloudWatch as E

MODEL = load_model("cloudwatch", "2010-08-01")


def test_a_flattened_form_becomes_the_request_json_would_carry():
    params = wires.query_params(
        b"Action=GetMetricData&Version=2010-08-01&StartTime=2026-12-07T10%3A00%3A00Z&EndTime=2026-12-07T11%3A00%3A00Z"
        b"&MetricDataQueries.member.1.Id=a&MetricDataQueries.member.1.MetricStat.Period=60"
        b"&MetricDataQueries.member.1.MetricStat.Stat=Sum&MetricDataQueries.member.1.ReturnData=false"
        b"&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=TableName"
        b"&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=t")
    req = wires.query_request(MODEL["shapes"], "GetMetricDataInput", params)
    assert req == {"StartTime": "2026-12-07T10:00:00Z", "EndTime": "2026-12-07T11:00:00Z", "MetricDataQueries": [
        {"Id": "a", "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Sum",
                                                        "Metric": {"Dimensions": [{"Name": "TableName", "Value": "t"}]}}}]}


def test_answers_are_xml_with_iso_timestamps():
    body = wires.query_answer(MODEL, "GetMetricStatistics", {
        "Label": "L", "Datapoints": [{"Timestamp": 60, "Sum": 2.5, "Unit": "Count"}]}).decode()
    assert body.startswith('<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                           "<GetMetricStatisticsResult><Label>L</Label><Datapoints><member>"
                           "<Timestamp>1970-01-01T00:01:00.000Z</Timestamp><Sum>2.5</Sum><Unit>Count</Unit>")


def test_errors_carry_the_query_code():
    error = E.InvalidParameterValueException("bad <period>")
    assert b"<Code>InvalidParameterValue</Code><Message>bad &lt;period&gt;</Message>" in wires.query_error(MODEL, error)
    assert wires.query_error_header(error) == [(b"x-amzn-query-error", b"InvalidParameterValue;Sender")]


def test_cbor_timestamps_are_epoch_seconds_both_ways():
    sent = cbor2.dumps({"StartTime": dt.datetime(1970, 1, 1, 0, 2, tzinfo=dt.UTC)}, datetime_as_timestamp=True)
    assert wires.cbor_request(sent) == {"StartTime": 120.0}
    answer = cbor2.loads(wires.cbor_answer(MODEL["shapes"], "GetMetricStatisticsOutput",
                                           {"Datapoints": [{"Timestamp": 120, "Sum": 1}]}))
    assert answer["Datapoints"][0] == {"Timestamp": dt.datetime(1970, 1, 1, 0, 2, tzinfo=dt.UTC), "Sum": 1.0}
    assert wires.cbor_target("/service/GraniteServiceVersion20100801/operation/ListMetrics") == (
        "GraniteServiceVersion20100801.ListMetrics")
