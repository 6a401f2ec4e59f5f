"""Metrics kept in memory: CloudWatch's names and dimensions (`catalogue`), a series per metric and
dimension set with 1-minute statistics for the last hours (`store`), and their Prometheus exposition
(`prometheus`). Knows no DynamoDB or Kafka: the services record into it, the CloudWatch API and
`/metrics` read it (docs/monitoring.md)."""
