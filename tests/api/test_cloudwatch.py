"""The CloudWatch API over the figures the server keeps (docs/monitoring.md): GetMetricStatistics,
GetMetricData and ListMetrics return the units and counts of known writes, from the AWS CLI and from
boto3 in each protocol botocore's model lists (smithy-rpc-v2-cbor, json, query), with CloudWatch's
errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from cdc_bridge.testing import endpoint
from tests.api.helpers import unique_name
from tests.api.monitoring_helpers import PROTOCOLS, cloudwatch, monitoring_url

DDB = "AWS/DynamoDB"


@pytest.fixture(scope="module")
def url(broker, tmp_path_factory, request):
    return monitoring_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="module")
def written(url):
    """A table with 3 one-unit writes and a 2-unit one: 5 write units in 4 requests."""
    ddb = endpoint(url).dynamodb_client()
    name = unique_name("cw")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    for key in "abc":
        ddb.put_item(TableName=name, Item={"pk": {"S": key}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "d"}, "big": {"S": "x" * 1500}})
    return name


@pytest.fixture(scope="module", params=PROTOCOLS)
def client(request, url, tmp_path_factory):
    return cloudwatch(url, request.param, tmp_path_factory.mktemp("models"))


def window(minutes_back: int = 30) -> dict:
    now = dt.datetime.now(dt.UTC)
    return {"StartTime": now - dt.timedelta(minutes=minutes_back), "EndTime": now + dt.timedelta(minutes=1)}


def table_metric(name: str, metric: str = "ConsumedWriteCapacityUnits") -> dict:
    return {"Namespace": DDB, "MetricName": metric, "Dimensions": [{"Name": "TableName", "Value": name}]}


def test_aws_cli_get_metric_statistics_returns_the_units_written(aws_cli, url, written):
    now = dt.datetime.now(dt.UTC)
    result = aws_cli("--endpoint-url", url, "cloudwatch", "get-metric-statistics", "--namespace", DDB,
                     "--metric-name", "ConsumedWriteCapacityUnits", "--dimensions", f"Name=TableName,Value={written}",
                     "--statistics", "Sum", "--period", "60",
                     "--start-time", (now - dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "--end-time", (now + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    answer = json.loads(result.stdout)
    assert answer["Label"] == "ConsumedWriteCapacityUnits"
    assert sum(point["Sum"] for point in answer["Datapoints"]) == 5
    assert {point["Unit"] for point in answer["Datapoints"]} == {"Count"}


def test_a_default_boto3_client_speaks_json(url, written):
    client = cloudwatch(url)
    assert client.meta.service_model.resolved_protocol == "json"
    points = client.get_metric_statistics(**table_metric(written), Statistics=["Sum"], Period=60, **window())["Datapoints"]
    assert sum(p["Sum"] for p in points) == 5


def test_get_metric_statistics_in_each_protocol(client, written):
    points = client.get_metric_statistics(**table_metric(written), Statistics=["Sum", "SampleCount", "Maximum",
                                                                             "Minimum", "Average"],
                                          Period=3600, **window())["Datapoints"]
    # one period of an hour holds all four writes (it may straddle two if the hour turned meanwhile)
    assert sum(p["Sum"] for p in points) == 5 and sum(p["SampleCount"] for p in points) == 4
    assert max(p["Maximum"] for p in points) == 2 and min(p["Minimum"] for p in points) == 1
    assert all(isinstance(p["Timestamp"], dt.datetime) and p["Unit"] == "Count" for p in points)


def test_get_metric_data_in_each_protocol(client, written):
    queries = [{"Id": "writes", "MetricStat": {"Metric": table_metric(written), "Period": 60, "Stat": "Sum"}},
               {"Id": "requests", "MetricStat": {"Metric": table_metric(written), "Period": 60, "Stat": "SampleCount"},
                "Label": "write requests"},
               {"Id": "hidden", "MetricStat": {"Metric": table_metric(written), "Period": 60, "Stat": "Sum"},
                "ReturnData": False}]
    results = {r["Id"]: r for r in client.get_metric_data(MetricDataQueries=queries, **window())["MetricDataResults"]}
    assert set(results) == {"writes", "requests"}
    assert sum(results["writes"]["Values"]) == 5 and sum(results["requests"]["Values"]) == 4
    assert results["requests"]["Label"] == "write requests" and results["writes"]["StatusCode"] == "Complete"
    stamps = results["writes"]["Timestamps"]
    assert len(stamps) == len(results["writes"]["Values"]) and stamps == sorted(stamps, reverse=True)


def test_list_metrics_in_each_protocol(client, written):
    metrics = client.list_metrics(Namespace=DDB, Dimensions=[{"Name": "TableName", "Value": written}])["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert {"ConsumedWriteCapacityUnits", "SuccessfulRequestLatency"} <= names
    assert all({"Name": "TableName", "Value": written} in m["Dimensions"] for m in metrics)
    latency = client.list_metrics(Namespace=DDB, MetricName="SuccessfulRequestLatency",
                                  Dimensions=[{"Name": "TableName", "Value": written}])["Metrics"]
    assert latency == [{"Namespace": DDB, "MetricName": "SuccessfulRequestLatency",
                        "Dimensions": [{"Name": "Operation", "Value": "PutItem"}, {"Name": "TableName", "Value": written}]}]


def test_latency_is_in_milliseconds_per_operation(client, written):
    metric = {**table_metric(written, "SuccessfulRequestLatency")}
    metric["Dimensions"] = [*metric["Dimensions"], {"Name": "Operation", "Value": "PutItem"}]
    points = client.get_metric_statistics(**metric, Statistics=["SampleCount", "Average"], Period=3600, **window())
    assert sum(p["SampleCount"] for p in points["Datapoints"]) == 4
    assert all(p["Unit"] == "Milliseconds" and 0 < p["Average"] < 30_000 for p in points["Datapoints"])


def test_a_metric_is_matched_by_all_its_dimensions(client, written):
    """SuccessfulRequestLatency has TableName and Operation: TableName alone names no metric."""
    points = client.get_metric_statistics(**table_metric(written, "SuccessfulRequestLatency"), Statistics=["Sum"],
                                          Period=60, **window())["Datapoints"]
    assert points == []


def test_errors_in_each_protocol(client, written):
    def code(**request) -> str:
        with pytest.raises(ClientError) as caught:
            client.get_metric_statistics(**{**table_metric(written), "Statistics": ["Sum"], "Period": 60,
                                            **window(), **request})
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]

    assert code(Period=90) == ("InvalidParameterValue", "The parameter Period must be a multiple of 60.")
    now = dt.datetime.now(dt.UTC)
    assert code(StartTime=now, EndTime=now - dt.timedelta(minutes=1)) == (
        "InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
    too_many, message = code(StartTime=now - dt.timedelta(days=2), EndTime=now)
    assert too_many == "InvalidParameterCombination" and "exceeds the limit of 1440" in message
    assert code(ExtendedStatistics=["p99"])[0] == "InvalidParameterCombination"  # with Statistics: one or the other


def test_a_missing_parameter_is_named(url, tmp_path, written):
    for protocol in PROTOCOLS:
        loose = cloudwatch(url, protocol, tmp_path, parameter_validation=False)
        with pytest.raises(ClientError) as caught:
            loose.get_metric_statistics(**table_metric(written), Statistics=["Sum"], Period=60,
                                        EndTime=dt.datetime.now(dt.UTC))
        assert caught.value.response["Error"]["Code"] == "MissingParameter", protocol
        assert caught.value.response["Error"]["Message"] == "The parameter StartTime is required."
        with pytest.raises(ClientError) as caught:
            loose.get_metric_statistics(**table_metric(written), Period=60, **window())
        assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination", protocol


def test_percentiles_are_refused(client, written):
    with pytest.raises(ClientError) as caught:
        client.get_metric_statistics(**table_metric(written), ExtendedStatistics=["p99"], Period=60, **window())
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_metric_math_is_refused(client, written):
    with pytest.raises(ClientError) as caught:
        client.get_metric_data(MetricDataQueries=[
            {"Id": "w", "MetricStat": {"Metric": table_metric(written), "Period": 60, "Stat": "Sum"}, "ReturnData": False},
            {"Id": "double", "Expression": "w * 2"}], **window())
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "Expression" in caught.value.response["Error"]["Message"]
