"""Event source mappings at work: pollers that read DynamoDB streams and Kinesis streams from Kafka
and hand batches to Lambda functions, with Lambda's semantics (docs/lambda.md)."""
