"""The services' handles on their series, resolved once per table or stream and kept, so that a
request's recording is an attribute lookup and `Series.add`. CloudWatch's names for each metric
are in `catalogue`; which request feeds which metric is said where the handles are used."""

from __future__ import annotations

from monitoring.catalogue import DDB, KINESIS
from monitoring.store import MetricStore, Series


class TableSeries:
    """One DynamoDB table's series (dimension TableName, with Operation or an index where CloudWatch has them)."""

    def __init__(self, store: MetricStore, name: str):
        self.store, self.name = store, name
        self.consumed = {"read": store.series(DDB, "ConsumedReadCapacityUnits", "Count", TableName=name),
                         "write": store.series(DDB, "ConsumedWriteCapacityUnits", "Count", TableName=name)}
        self.conditional_check_failed = store.series(DDB, "ConditionalCheckFailedRequests", "Count", TableName=name)
        self.ttl_deleted = store.series(DDB, "TimeToLiveDeletedItemCount", "Count", TableName=name)
        self.per_operation: dict[tuple[str, str], Series] = {}
        self.per_index: dict[tuple[str, str], Series] = {}

    def operation(self, metric: str, operation: str) -> Series:
        found = self.per_operation.get((metric, operation))  # a tuple of two interned strings: cheap
        if found is None:
            unit = "Milliseconds" if metric == "SuccessfulRequestLatency" else "Count"
            found = self.per_operation[metric, operation] = self.store.series(
                DDB, metric, unit, TableName=self.name, Operation=operation)
        return found

    def index_consumed(self, kind: str, index: str) -> Series:
        found = self.per_index.get((kind, index))
        if found is None:
            metric = "ConsumedReadCapacityUnits" if kind == "read" else "ConsumedWriteCapacityUnits"
            found = self.per_index[kind, index] = self.store.series(
                DDB, metric, "Count", TableName=self.name, GlobalSecondaryIndexName=index)
        return found


class DynamoDBSeries:
    """The AWS/DynamoDB namespace: the account's UserErrors and each table's series."""

    def __init__(self, store: MetricStore):
        self.store = store
        self.user_errors = store.series(DDB, "UserErrors", "Count")
        self.tables: dict[str, TableSeries] = {}

    def table(self, name: str) -> TableSeries:
        found = self.tables.get(name)
        if found is None:
            found = self.tables[name] = TableSeries(self.store, name)
        return found

    def stream_records(self, table: str, label: str) -> Series:
        """ReturnedRecordsCount of GetRecords on one stream of a table (named by its label)."""
        owner = self.table(table)
        series = owner.per_operation.get(("ReturnedRecordsCount", label))
        if series is None:
            series = owner.per_operation["ReturnedRecordsCount", label] = self.store.series(
                DDB, "ReturnedRecordsCount", "Count", TableName=table, StreamLabel=label, Operation="GetRecords")
        return series


class KinesisStreamSeries:
    def __init__(self, store: MetricStore, name: str):
        def series(metric: str, unit: str) -> Series:
            return store.series(KINESIS, metric, unit, StreamName=name)

        self.incoming_records = series("IncomingRecords", "Count")
        self.incoming_bytes = series("IncomingBytes", "Bytes")
        self.get_records_records = series("GetRecords.Records", "Count")
        self.get_records_bytes = series("GetRecords.Bytes", "Bytes")
        self.iterator_age = series("GetRecords.IteratorAgeMilliseconds", "Milliseconds")
        self.put_record_latency = series("PutRecord.Latency", "Milliseconds")
        self.write_throttled = series("WriteProvisionedThroughputExceeded", "Count")


class KinesisSeries:
    def __init__(self, store: MetricStore):
        self.store = store
        self.streams: dict[str, KinesisStreamSeries] = {}

    def stream(self, name: str) -> KinesisStreamSeries:
        found = self.streams.get(name)
        if found is None:
            found = self.streams[name] = KinesisStreamSeries(self.store, name)
        return found
