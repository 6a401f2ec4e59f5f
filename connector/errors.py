"""Errors of the Streams APIs, named exactly like AWS's `__type`s.

DynamoDB Streams shares DynamoDB's namespace, so its `Service` renders from aws_json.errors and
this module adds the two errors only streams have."""

from aws_json.errors import (  # noqa: F401  (re-exported: operations import one module)
    AWSError,
    LimitExceededException,
    ResourceNotFoundException,
    ValidationException,
    protocol_errors,
)


class ExpiredIteratorException(AWSError):
    message = "Iterator expired"


class TrimmedDataAccessException(AWSError):
    message = "The operation attempted to read past the oldest stream record in a shard."


class KinesisError(AWSError):
    """Kinesis (JSON 1.1) errors: `__type` is the bare name, without a namespace prefix."""

    namespace = ""


class Kinesis(protocol_errors(KinesisError)):
    """The Kinesis service's error classes: the errors module its `Service` renders from (the
    protocol's, and these)."""

    class ResourceNotFoundException(KinesisError):
        pass

    class ResourceInUseException(KinesisError):
        pass

    class InvalidArgumentException(KinesisError):
        pass

    class LimitExceededException(KinesisError):
        pass

    class ExpiredIteratorException(KinesisError):
        pass

    class ExpiredNextTokenException(KinesisError):
        pass

    class DryRunOperationException(KinesisError):
        pass

    class InternalFailure(KinesisError):
        status = 500
        message = "Internal service failure."

    InternalServerError = InternalFailure  # the name `aws_json.server` raises on a crash
