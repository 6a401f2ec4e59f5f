"""The Firehose operations, one module per family; each registers on firehose.service.SERVICE."""
