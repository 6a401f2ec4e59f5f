"""Errors of the Streams APIs, named exactly like AWS's `__type`s.

DynamoDB Streams shares DynamoDB's namespace, so its errors are the table service's classes
plus the two that only streams have."""

from table_api.errors import (  # noqa: F401  (re-exported: the Service renders these)
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
