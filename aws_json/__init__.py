"""The AWS JSON protocols (1.0 and 1.1) every API of the project speaks: the HTTP server and its
parts (`server`), `X-Amz-Target` dispatch with request validation from botocore's models
(`protocol`), and AWS error rendering (`errors`). Knows no DynamoDB, Kinesis or Kafka."""
