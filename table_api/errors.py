"""One class per AWS error type of the DynamoDB API; `protocol.py` renders them.

The class name is the AWS `__type` suffix, `message` its default text. Raise with
AWS's own message where DynamoDB has a specific one.
"""

from __future__ import annotations

from typing import Any


class AWSError(Exception):
    """An error the client sees as `{"__type": "<namespace>#<Name>", "message": ...}`."""

    namespace = "com.amazonaws.dynamodb.v20120810"
    status = 400
    message = ""

    def __init__(self, message: str | None = None, **extra: Any):
        self.message = message if message is not None else type(self).message
        self.extra = extra  # additional top-level response fields, e.g. Item
        super().__init__(self.message)

    @property
    def type_name(self) -> str:
        # An empty namespace (Kinesis, JSON 1.1) renders the bare name.
        return f"{self.namespace}#{type(self).__name__}" if self.namespace else type(self).__name__

    def body(self) -> dict[str, Any]:
        return {"__type": self.type_name, "message": self.message, **self.extra}


class ValidationException(AWSError):
    pass


class SerializationException(AWSError):
    pass


class UnknownOperationException(AWSError):
    message = "An unknown operation was requested."


class ResourceNotFoundException(AWSError):
    message = "Requested resource not found"


class ResourceInUseException(AWSError):
    pass


class LimitExceededException(AWSError):
    pass


class ConditionalCheckFailedException(AWSError):
    message = "The conditional request failed"

    def __init__(self, message: str | None = None, item: dict | None = None):
        # ReturnValuesOnConditionCheckFailure=ALL_OLD puts the old item next to the message.
        super().__init__(message, **({"Item": item} if item is not None else {}))


class InternalServerError(AWSError):
    status = 500
    message = "Internal server error"


class ServiceUnavailable(AWSError):
    status = 503
    message = "The service is starting up"
