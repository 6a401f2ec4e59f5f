"""The metrics we keep, as data: CloudWatch's namespace, name, unit and dimensions, and the Prometheus
family each one is exposed as on `/metrics`. docs/monitoring.md renders this table for people.

Prometheus names are `aws_<namespace>_<metric in snake case>` in Prometheus's base units: a
CloudWatch metric counted in milliseconds is exposed in seconds (`scale`), and its name says so.
Dimensions become labels in snake case (TableName -> table_name)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "summary", "gauge"]


@dataclass(frozen=True)
class Definition:
    namespace: str
    name: str
    unit: str  # CloudWatch's StandardUnit
    dimensions: tuple[tuple[str, ...], ...]  # the dimension sets CloudWatch publishes it with
    prometheus: str  # family name; a counter gets `_total`, a summary `_count` and `_sum`
    kind: Kind  # counter: the Sum of every sample; summary: their count and sum; gauge: the last sample
    help: str
    scale: float = 1.0  # CloudWatch unit -> Prometheus unit


DDB, KINESIS = "AWS/DynamoDB", "AWS/Kinesis"
TABLE, TABLE_OP, TABLE_GSI = ("TableName",), ("TableName", "Operation"), ("TableName", "GlobalSecondaryIndexName")
STREAM = ("StreamName",)

DEFINITIONS = (
    Definition(DDB, "ConsumedReadCapacityUnits", "Count", (TABLE, TABLE_GSI), "aws_dynamodb_consumed_read_capacity_units",
               "counter", "Read capacity units consumed (DynamoDB's rules, charged or not)"),
    Definition(DDB, "ConsumedWriteCapacityUnits", "Count", (TABLE, TABLE_GSI), "aws_dynamodb_consumed_write_capacity_units",
               "counter", "Write capacity units consumed (DynamoDB's rules, charged or not)"),
    Definition(DDB, "SuccessfulRequestLatency", "Milliseconds", (TABLE_OP,),
               "aws_dynamodb_successful_request_latency_seconds", "summary",
               "Server time of successful requests, from the request read to the answer", 0.001),
    Definition(DDB, "ReturnedItemCount", "Count", (TABLE_OP,), "aws_dynamodb_returned_item_count", "counter",
               "Items returned by Query and Scan"),
    Definition(DDB, "ThrottledRequests", "Count", (TABLE_OP,), "aws_dynamodb_throttled_requests", "counter",
               "Requests refused with ProvisionedThroughputExceededException (--enforce-capacity)"),
    Definition(DDB, "UserErrors", "Count", ((),), "aws_dynamodb_user_errors", "counter",
               "DynamoDB and DynamoDB Streams requests answered with HTTP 400 (not counting conditional check "
               "failures and throttling), for the account and region"),
    Definition(DDB, "SystemErrors", "Count", (TABLE_OP,), "aws_dynamodb_system_errors", "counter",
               "Requests answered with HTTP 500"),
    Definition(DDB, "ConditionalCheckFailedRequests", "Count", (TABLE,), "aws_dynamodb_conditional_check_failed_requests",
               "counter", "Writes whose condition failed (ConditionalCheckFailedException)"),
    Definition(DDB, "TimeToLiveDeletedItemCount", "Count", (TABLE,), "aws_dynamodb_time_to_live_deleted_item_count",
               "counter", "Items deleted by the time-to-live sweeper"),
    Definition(DDB, "ReturnedRecordsCount", "Count", (("TableName", "StreamLabel", "Operation"),),
               "aws_dynamodb_returned_records_count", "counter", "Stream records returned by GetRecords"),
    Definition(KINESIS, "IncomingRecords", "Count", (STREAM,), "aws_kinesis_incoming_records", "counter",
               "Records written by PutRecord and PutRecords"),
    Definition(KINESIS, "IncomingBytes", "Bytes", (STREAM,), "aws_kinesis_incoming_bytes", "counter",
               "Bytes (data and partition keys) written by PutRecord and PutRecords"),
    Definition(KINESIS, "GetRecords.Records", "Count", (STREAM,), "aws_kinesis_get_records_records", "counter",
               "Records returned by GetRecords"),
    Definition(KINESIS, "GetRecords.Bytes", "Bytes", (STREAM,), "aws_kinesis_get_records_bytes", "counter",
               "Bytes of data returned by GetRecords"),
    Definition(KINESIS, "GetRecords.IteratorAgeMilliseconds", "Milliseconds", (STREAM,),
               "aws_kinesis_get_records_iterator_age_seconds", "gauge",
               "Age of the last record the latest GetRecords returned (0 at the end of its shard)", 0.001),
    Definition(KINESIS, "PutRecord.Latency", "Milliseconds", (STREAM,), "aws_kinesis_put_record_latency_seconds",
               "summary", "Server time of successful PutRecord calls", 0.001),
    Definition(KINESIS, "WriteProvisionedThroughputExceeded", "Count", (STREAM,),
               "aws_kinesis_write_provisioned_throughput_exceeded", "counter",
               "Records refused for throughput (none here: Kinesis writes are not throttled)"),
)
BY_NAME = {(d.namespace, d.name): d for d in DEFINITIONS}


def label_name(dimension: str) -> str:
    """CloudWatch dimension -> Prometheus label: TableName -> table_name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", dimension).lower()
