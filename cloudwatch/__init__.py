"""The CloudWatch metrics read API (GetMetricStatistics, GetMetricData, ListMetrics) over the figures
this process keeps (monitoring/), in the three protocols botocore's model lists (docs/monitoring.md)."""
