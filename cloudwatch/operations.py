"""GetMetricStatistics, GetMetricData (MetricStat queries; metric math is refused) and ListMetrics
over the in-memory store (monitoring/store.py): 1-minute figures for --metrics-retention-hours."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from aws_json.protocol import Service
from cloudwatch.errors import CloudWatch as E
from cloudwatch.statistics import MAX_DATAPOINTS, STATISTICS, Window, aggregate, statistic, window
from monitoring.store import MetricStore, Series

SERVICE = Service("cloudwatch", "2010-08-01", E)
LIST_PAGE = 500  # ListMetrics answers at most 500 metrics per call
METRIC_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


@dataclass
class CloudWatchContext:
    store: MetricStore


@SERVICE.operation("GetMetricStatistics")
def get_metric_statistics(ctx: CloudWatchContext, req: dict) -> dict:
    statistics, extended = req.get("Statistics"), req.get("ExtendedStatistics")
    if bool(statistics) == bool(extended):
        raise E.InvalidParameterCombinationException("Must specify either Statistics or ExtendedStatistics, but not both")
    if extended:
        raise E.InvalidParameterValueException(
            "ExtendedStatistics (percentiles) are not kept by this server: only SampleCount, Average, Sum, Minimum "
            "and Maximum")
    win = window(req, req["Period"])
    if win.periods() > MAX_DATAPOINTS:
        raise E.InvalidParameterCombinationException(
            f"You have requested up to {win.periods()} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. You "
            "may reduce the datapoints requested by increasing Period, or decreasing the time range.")
    series = matching(ctx, req["Namespace"], req["MetricName"], req.get("Dimensions", []), req.get("Unit"))
    datapoints = []
    if series is not None:
        for begin, figures in aggregate(series, win, time.time()):
            point = {"Timestamp": begin, "Unit": series.unit}
            point.update({name: statistic(figures, name) for name in statistics})
            datapoints.append(point)
    return {"Label": req["MetricName"], "Datapoints": datapoints}


@SERVICE.operation("GetMetricData")
def get_metric_data(ctx: CloudWatchContext, req: dict) -> dict:
    queries = req["MetricDataQueries"]
    for i, query in enumerate(queries, start=1):
        check_query(query, i)
    newest_first = req.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    results = [query_result(ctx, req, query, i, newest_first) for i, query in enumerate(queries, start=1)
               if query.get("ReturnData", True)]
    return {"MetricDataResults": results, "Messages": []}


def check_query(query: dict, i: int) -> None:
    member = f"MetricDataQueries.member.{i}"
    if not METRIC_ID.fullmatch(query["Id"]):
        raise E.ValidationException(f"The value {query['Id']} for parameter {member}.Id is not valid: an Id starts "
                                    "with a lowercase letter, then letters, digits and underscores.")
    if ("MetricStat" in query) == ("Expression" in query):
        raise E.ValidationException(f"The parameter {member} must have exactly one of MetricStat or Expression.")
    if "Expression" in query:
        raise E.ValidationException(f"The parameter {member}.Expression is not supported by this server: metric math "
                                    "and Metrics Insights queries are not evaluated (use MetricStat queries).")
    if query["MetricStat"]["Stat"] not in STATISTICS:
        raise E.ValidationException(f"The value {query['MetricStat']['Stat']} for parameter {member}.MetricStat.Stat "
                                    f"is not supported by this server: one of {', '.join(STATISTICS)}.")


def query_result(ctx: CloudWatchContext, req: dict, query: dict, i: int, newest_first: bool) -> dict:
    stat = query["MetricStat"]
    metric = stat["Metric"]
    win: Window = window(req, stat["Period"], f"MetricDataQueries.member.{i}.MetricStat.Period")
    series = matching(ctx, metric.get("Namespace", ""), metric.get("MetricName", ""), metric.get("Dimensions", []),
                      stat.get("Unit"))
    points = aggregate(series, win, time.time()) if series is not None else []
    if newest_first:
        points.reverse()
    return {"Id": query["Id"], "Label": query.get("Label", metric.get("MetricName", "")),
            "Timestamps": [begin for begin, _ in points], "Values": [statistic(f, stat["Stat"]) for _, f in points],
            "StatusCode": "Complete"}


def matching(ctx: CloudWatchContext, namespace: str, name: str, dimensions: list[dict], unit: str | None) -> Series | None:
    """The series with exactly these dimensions (CloudWatch matches a metric by all of them), in `unit` if given."""
    series = ctx.store.find(namespace, name, ((d["Name"], d["Value"]) for d in dimensions))
    if series is None or (unit is not None and unit != series.unit):
        return None
    return series


@SERVICE.operation("ListMetrics")
def list_metrics(ctx: CloudWatchContext, req: dict) -> dict:
    found = sorted((s for s in ctx.store.all() if listed(s, req)),
                   key=lambda s: (s.namespace, s.name, s.dimensions))
    start = page_start(req.get("NextToken"))
    page = found[start:start + LIST_PAGE]
    answer: dict = {"Metrics": [{"Namespace": s.namespace, "MetricName": s.name,
                                 "Dimensions": [{"Name": k, "Value": v} for k, v in s.dimensions]} for s in page]}
    if start + LIST_PAGE < len(found):
        answer["NextToken"] = str(start + LIST_PAGE)
    return answer


def listed(series: Series, req: dict) -> bool:
    if series.count == 0:  # no sample yet: CloudWatch lists a metric once it has data
        return False
    if req.get("Namespace", series.namespace) != series.namespace:
        return False
    if req.get("MetricName", series.name) != series.name:
        return False
    dims = dict(series.dimensions)
    return all(f["Name"] in dims and f.get("Value", dims[f["Name"]]) == dims[f["Name"]]
               for f in req.get("Dimensions", []))


def page_start(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit():
        raise E.InvalidNextToken()
    return int(token)
