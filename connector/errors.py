"""Errors of the Streams APIs, named exactly like AWS's `__type`s.

DynamoDB Streams shares DynamoDB's namespace, so its errors are the table service's classes
plus the two that only streams have."""

from aws_json.errors import (  # noqa: F401  (re-exported: the Service renders these)
    AWSError,
    InternalServerError,
    LimitExceededException,
    ResourceNotFoundException,
    SerializationException,
    ServiceUnavailable,
    UnknownOperationException,
    ValidationException,
)


class ExpiredIteratorException(AWSError):
    message = "Iterator expired"


class TrimmedDataAccessException(AWSError):
    message = "The operation attempted to read past the oldest stream record in a shard."


class KinesisError(AWSError):
    """Kinesis (JSON 1.1) errors: `__type` is the bare name, without a namespace prefix."""

    namespace = ""


class Kinesis:
    """The Kinesis service's error classes: the errors module its `Service` renders from."""

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

    class ValidationException(KinesisError):
        pass

    class DryRunOperationException(KinesisError):
        pass

    class SerializationException(KinesisError):
        pass

    class UnknownOperationException(KinesisError):
        message = "An unknown operation was requested."

    class InternalFailure(KinesisError):
        status = 500
        message = "Internal service failure."

    class ServiceUnavailable(KinesisError):
        status = 503
        message = "The service is starting up"

    InternalServerError = InternalFailure  # the name `aws_json.server` raises on a crash
