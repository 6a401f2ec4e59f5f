"""A Firehose-style delivery stream (Firehose API, JSON 1.1): records from PutRecord(Batch) or a
Kinesis stream of ours, buffered and archived as objects in a folder per bucket or in S3.
See docs/firehose.md."""
