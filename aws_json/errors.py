"""AWS errors as the JSON protocols render them: `{"__type": ..., "message": ...}` with an HTTP
status. `protocol.py` renders them; each service raises them by AWS's own names.

The class name is the AWS `__type` suffix, `message` its default text. DynamoDB and DynamoDB
Streams share one error namespace, so the errors both raise live here; a service in JSON 1.1
(Kinesis) renders bare names (an empty namespace) and has its own classes. The errors the shared
protocol raises come from `protocol_errors()`, once for every namespace.
"""

from __future__ import annotations

from typing import Any

DYNAMODB_NAMESPACE = "com.amazonaws.dynamodb.v20120810"


class AWSError(Exception):
    """An error the client sees as `{"__type": "<namespace>#<Name>", "message": ...}`."""

    namespace = DYNAMODB_NAMESPACE
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


def protocol_errors(base: type[AWSError]) -> type:
    """The errors the shared protocol and server raise for any service, in `base`'s namespace: a
    malformed body, a wrong JSON type or a broken model rule, an unknown operation, a crash, a call
    before the service is ready. A service's errors class inherits them (`class Kinesis(protocol_errors(
    KinesisError))`) and adds its own; `Service` refuses an errors namespace that lacks one."""

    class ProtocolErrors:
        class ValidationException(base):
            pass

        class SerializationException(base):
            pass

        class UnknownOperationException(base):
            message = "An unknown operation was requested."

        class InternalServerError(base):
            status = 500
            message = "Internal server error"

        class ServiceUnavailable(base):
            status = 503
            message = "The service is starting up"

    return ProtocolErrors


# DynamoDB's namespace (and DynamoDB Streams', which shares it): this module is its errors namespace.
_DYNAMODB = protocol_errors(AWSError)
PROTOCOL_ERRORS = tuple(name for name in vars(_DYNAMODB) if not name.startswith("_"))
ValidationException = _DYNAMODB.ValidationException
SerializationException = _DYNAMODB.SerializationException
UnknownOperationException = _DYNAMODB.UnknownOperationException
InternalServerError = _DYNAMODB.InternalServerError
ServiceUnavailable = _DYNAMODB.ServiceUnavailable


class ResourceNotFoundException(AWSError):
    message = "Requested resource not found"


class ResourceInUseException(AWSError):
    pass


class LimitExceededException(AWSError):
    pass


# -- authentication and authorization ---------------------------------------------------------

CORAL_NAMESPACE = "com.amazon.coral.service"


class AuthFailure(AWSError):
    """Errors of the signature check and of the policies. AWS names them in its request layer's
    namespace for a JSON 1.0 service (`com.amazon.coral.service#...`); a JSON 1.1 service (Kinesis)
    renders bare names, so the server sets `namespace` per service before rendering."""

    namespace = CORAL_NAMESPACE


class UnrecognizedClientException(AuthFailure):
    message = "The security token included in the request is invalid."


class InvalidSignatureException(AuthFailure):
    message = ("The request signature we calculated does not match the signature you provided. Check your AWS "
               "Secret Access Key and signing method. Consult the service documentation for details.")


class IncompleteSignatureException(AuthFailure):
    pass


class MissingAuthenticationTokenException(AuthFailure):
    message = "Request is missing Authentication Token"


class ExpiredTokenException(AuthFailure):
    message = "The security token included in the request is expired"


class AccessDeniedException(AuthFailure):
    pass
